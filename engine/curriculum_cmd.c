/* rlvr curriculum check: load a curriculum script, validate it (the table, the verifier
 * names, the sources), and show its stages with a few sample tasks from each source,
 * each reference scored by the stage's verifiers, so a mistake shows before training. */
#include "engine/commands.h"
#include "lua/curriculum.h"
#include "lua/verifier_lua.h"
#include "engine/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *CHECK_USAGE =
    "usage: rlvr curriculum check FILE.lua [--samples N] [--seed S]\n"
    "\n"
    "Loads a curriculum script (it returns rlvr.curriculum{...}), checks it and prints\n"
    "its stages: mode, sources and weights, verifiers, settings and how each stage ends;\n"
    "then N sample tasks from every source with their references, each reference scored\n"
    "by the stage's verifiers (a reference that does not score 1 is flagged), and the\n"
    "size of the held-out eval set with one of its tasks.\n"
    "\n"
    "options:\n"
    "  --samples N   sample tasks per source (default 2, 0 for none)\n"
    "  --seed S      the seed of the samples (default 1)\n"
    "  -h, --help    this text\n"
    "\n"
    "exit: 0 when the curriculum is valid; 2 with one line `file:line: message`\n"
    "when it is not (or on a usage error).\n";

/* At most max bytes of s, on one line, with newlines shown as "\n". */
static void print_clip(const char *label, const char *s, size_t max) {
    printf("      %s: ", label);
    size_t n = strlen(s);
    for (size_t i = 0; i < n && i < max; i++) {
        if (s[i] == '\n') fputs("\\n", stdout);
        else putchar(s[i]);
    }
    printf("%s\n", n > max ? " ..." : "");
}

static void print_stage_end(const Stage *s) {
    if (s->steps) { printf("%ld steps", s->steps); return; }
    printf("until the mean reward of the last %d completions reaches %.3g", s->window, s->threshold);
    if (s->min_steps) printf(", after at least %ld steps", s->min_steps);
    if (s->max_steps) printf(", at most %ld steps", s->max_steps);
}

/* Score a task's reference with the given verifiers; returns the weighted reward or -1. */
static double score_reference(const Task *t, const StageVerifier *vs, int n, const Verifier **found, char *status, size_t sl) {
    double sum = 0, wsum = 0;
    status[0] = 0;
    for (int i = 0; i < n; i++) {
        Verdict v;
        if (verdict_init(&v)) return -1;
        found[i]->score(found[i], t, t->reference, strlen(t->reference), &v);
        sum += vs[i].weight * v.reward;
        wsum += vs[i].weight;
        size_t k = strlen(status);
        snprintf(status + k, sl - k, "%s%s %.3f %s", i ? ", " : "", found[i]->name, v.reward, v.status);
        verdict_free(&v);
    }
    return wsum > 0 ? sum / wsum : -1;
}

/* Resolve every verifier a stage names; 2 (usage) when one is unknown. */
static int find_verifiers(const char *path, const char *where, const StageVerifier *vs, int n, const Verifier **out) {
    char err[1024];
    for (int i = 0; i < n; i++) {
        out[i] = luaverifier_resolve(vs[i].name, NULL, err, sizeof err);
        if (!out[i]) {
            fprintf(stderr, "rlvr curriculum check: %s: %s: %s\n", path, where, err);
            return 2;
        }
    }
    return 0;
}

static int show_samples(Curriculum *c, int si, int samples, uint64_t seed, const Verifier **found, int *flagged) {
    const Stage *s = curriculum_stage(c, si);
    char err[2048];
    for (int k = 0; k < s->n_sources; k++) {
        printf("    source %d (weight %g): %s\n", k + 1, s->sources[k].weight, s->sources[k].label);
        for (int j = 0; j < samples; j++) {
            Task t;
            if (curriculum_sample(c, si, k, seed + (uint64_t)j * 7919u + (uint64_t)k * 104729u, &t, err, sizeof err)) {
                fprintf(stderr, "rlvr curriculum check: %s\n", err);
                return 2;
            }
            printf("    - task %s\n", t.id);
            print_clip("prompt", t.prompt, 300);
            print_clip("reference", t.reference[0] ? t.reference : "(none)", 300);
            if (s->n_verifiers && t.reference[0]) {
                char status[512];
                double r = score_reference(&t, s->verifiers, s->n_verifiers, found, status, sizeof status);
                printf("      reference scores %.3f (%s)%s\n", r, status, r < 1 ? "  <-- not 1" : "");
                if (r < 1) (*flagged)++;
            }
            task_free(&t);
        }
    }
    return 0;
}

static int curriculum_check(int argc, char **argv) {
    const char *path = NULL;
    long samples = 2, seed = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(CHECK_USAGE, stdout); return 0; }
        if (!strcmp(a, "--samples") || !strcmp(a, "--seed")) {
            long *dst = a[2] == 's' && a[3] == 'a' ? &samples : &seed;
            if (i + 1 >= argc || util_parse_int(argv[i + 1], 0, dst == &samples ? 100 : 2147483647L, dst)) {
                fprintf(stderr, "rlvr curriculum check: %s needs an integer (see --help)\n", a);
                return 2;
            }
            i++;
            continue;
        }
        if (a[0] == '-' || path) { fprintf(stderr, "rlvr curriculum check: unexpected argument '%s' (see --help)\n", a); return 2; }
        path = a;
    }
    if (!path) { fprintf(stderr, "rlvr curriculum check: FILE.lua is required (see --help)\n"); return 2; }

    char err[4096];
    Curriculum *c = curriculum_load(path, (uint64_t)seed, NULL, err, sizeof err);
    if (!c) { fprintf(stderr, "rlvr curriculum check: %s\n", err); return 2; }
    int rc = 0, flagged = 0;
    int n = curriculum_n_stages(c);
    printf("curriculum %s (%s): %d stage%s, %d held-out eval tasks\n", curriculum_name(c), path, n, n == 1 ? "" : "s",
           curriculum_n_eval(c));
    char *d = cJSON_PrintUnformatted(curriculum_defaults(c));
    if (d && strcmp(d, "{}")) printf("  defaults: %s\n", d);
    free(d);
    for (int i = 0; i < n && !rc; i++) {
        const Stage *s = curriculum_stage(c, i);
        printf("  stage %d %s: %s, ", i + 1, s->name, s->mode == STAGE_SFT ? "sft" : "rl");
        print_stage_end(s);
        printf("\n");
        const Verifier *found[16];
        char where[160];
        snprintf(where, sizeof where, "stage %s", s->name);
        if ((rc = find_verifiers(path, where, s->verifiers, s->n_verifiers, found))) break;
        if (s->n_verifiers) {
            printf("    verifiers:");
            for (int k = 0; k < s->n_verifiers; k++) printf(" %s (weight %g)", s->verifiers[k].name, s->verifiers[k].weight);
            printf("\n");
        }
        char *o = cJSON_PrintUnformatted(s->overrides);
        if (o && strcmp(o, "{}")) printf("    settings: %s\n", o);
        free(o);
        rc = show_samples(c, i, (int)samples, (uint64_t)seed, found, &flagged);
    }
    if (!rc && curriculum_n_eval(c) > 0) {
        const Task *t = curriculum_eval_task(c, 0);
        const Verifier *v = NULL;
        char verr[1024];
        if (!t->verifier[0] || !(v = luaverifier_resolve(t->verifier, NULL, verr, sizeof verr))) {
            fprintf(stderr, "rlvr curriculum check: %s: eval: %s\n", path,
                    t->verifier[0] ? verr : "the eval tasks name no verifier (give eval.verifier or a task field 'verifier')");
            rc = 2;
        } else {
            printf("  eval: %d tasks scored by %s, e.g. %s\n", curriculum_n_eval(c), v->name, t->id);
            print_clip("prompt", t->prompt, 300);
        }
    }
    if (!rc) printf("ok%s\n", flagged ? " (some references do not score 1: see above)" : "");
    curriculum_free(c);
    verifier_registry_free();
    return rc;
}

int cmd_curriculum(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        fputs(CHECK_USAGE, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "check") == 0) return curriculum_check(argc - 1, argv + 1);
    fprintf(stderr, "rlvr curriculum: unknown subcommand '%s' (only: check)\n", argv[0]);
    return 2;
}

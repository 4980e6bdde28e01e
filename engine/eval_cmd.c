/* rlvr eval: how well a checkpoint solves a set of tasks (a JSONL file, or a curriculum's
 * held-out set): greedy pass@1, and with -k K sampled pass@1, unbiased pass@k and maj@k
 * (engine/evaluate.h), as a table or one JSON line.
 *
 * A task whose prompt does not fit the checkpoint's context together with
 * --max-new-tokens is skipped and counted (GSM8K's longer questions exceed a small
 * context): the rates are over the tasks evaluated, and the skipped count is reported
 * beside them. The tasks are evaluated in chunks of EVAL_CHUNK for progress on stderr;
 * every rate is a per-task mean, so combining the chunks is exact. Chunk c samples with
 * the seed mixed with c, so no two tasks share a random stream. */
#include "engine/commands.h"
#include "engine/evaluate.h"
#include "engine/policy_io.h"
#include "engine/rollout.h"
#include "engine/util.h"
#include "lua/curriculum.h"
#include "lua/verifier_lua.h"
#include "tasks/dataset.h"
#include "tasks/task.h"
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_CHUNK 64            /* tasks per evaluate_tasks call (one progress line each) */
#define EVAL_KV_BUDGET (512L << 20)   /* bytes of KV cache the sampler may take */

static const char *EVAL_USAGE =
    "usage: rlvr eval --ckpt CKPT --tasks FILE.jsonl|CURRICULUM.lua [options]\n"
    "\n"
    "Evaluates a checkpoint on a set of tasks: greedy pass@1 always; with -k K also K\n"
    "sampled completions per task: sampled pass@1 (mean success rate), unbiased pass@k\n"
    "(Chen et al., 2021) and maj@k (majority vote over the samples' final answers). A task\n"
    "is solved when its verifier gives reward 1.\n"
    "\n"
    "  --tasks FILE       a JSONL file of tasks ({\"question\",\"answer\"} as GSM8K, or\n"
    "                     {\"prompt\",\"reference\",...}; a task without \"verifier\" uses\n"
    "                     --verifier), or a curriculum .lua file (its held-out eval set)\n"
    "  -k K               sampled completions per task (default 0: greedy only)\n"
    "  --temperature T    temperature of the K samples (default 1.0; > 0)\n"
    "  --limit N          only the first N tasks of the file or eval set\n"
    "  --max-new-tokens M completion tokens, calculator tokens included (default: half\n"
    "                     the checkpoint's context, at most 256)\n"
    "  --no-calculator    no calculator tool (default: on, as in training)\n"
    "  --verifier NAME    verifier for tasks that name none (default arith; a registered\n"
    "                     name, a .lua path, or a script in lua/verifiers)\n"
    "  --seed S           seed of the sampled completions (default 1)\n"
    "  --threads N        threads for BLAS, sampling and verification (default: all cores)\n"
    "  --json             one JSON line instead of the table: n, k, pass_at_1_greedy,\n"
    "                     pass_at_1_sampled, pass_at_k, maj_at_k (null without -k),\n"
    "                     mean_length, calculator, ckpt, tasks, skipped, ...\n"
    "  -h, --help         this text\n"
    "\n"
    "A task whose prompt (plus <|sep|>) and M new tokens do not fit the checkpoint's\n"
    "context is skipped and counted, not evaluated: the rates are over the n tasks\n"
    "evaluated, and `skipped` says how many were left out (a lower M fits more). If no\n"
    "task fits, that is an error. Progress goes to stderr. A malformed JSONL line, an\n"
    "unknown verifier or an unreadable checkpoint stops with one line naming the file\n"
    "(and line): exit 1; bad options exit 2.\n";

typedef struct {
    const char *ckpt, *tasks, *verifier;
    long k, limit, max_new, seed, threads;
    float temperature;
    int json, no_calculator;
} EvalOptions;

static int parse_options(int argc, char **argv, EvalOptions *o) {
    *o = (EvalOptions){ .verifier = "arith", .max_new = 0, .seed = 1, .temperature = 1.0f };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(EVAL_USAGE, stdout); return 1; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--no-calculator")) { o->no_calculator = 1; continue; }
        if (a[0] != '-') { fprintf(stderr, "rlvr eval: unexpected argument '%s' (see --help)\n", a); return 2; }
        if (!v) { fprintf(stderr, "rlvr eval: %s needs a value (see --help)\n", a); return 2; }
        int ok = 1;
        if (!strcmp(a, "--ckpt")) ok = *(o->ckpt = v) != 0;
        else if (!strcmp(a, "--tasks")) ok = *(o->tasks = v) != 0;
        else if (!strcmp(a, "--verifier")) ok = *(o->verifier = v) != 0;
        else if (!strcmp(a, "-k")) ok = !util_parse_int(v, 1, 4096, &o->k);
        else if (!strcmp(a, "--limit")) ok = !util_parse_int(v, 1, 1L << 30, &o->limit);
        else if (!strcmp(a, "--max-new-tokens")) ok = !util_parse_int(v, 1, 1 << 20, &o->max_new);
        else if (!strcmp(a, "--seed")) ok = !util_parse_int(v, 0, 1L << 53, &o->seed);
        else if (!strcmp(a, "--threads")) ok = !util_parse_int(v, 1, 1024, &o->threads);
        else if (!strcmp(a, "--temperature")) ok = !util_parse_float(v, &o->temperature) && o->temperature > 0;
        else { fprintf(stderr, "rlvr eval: unknown option '%s' (see --help)\n", a); return 2; }
        if (!ok) { fprintf(stderr, "rlvr eval: %s: bad value '%s'\n", a, v); return 2; }
        i++;
    }
    if (!o->ckpt || !o->tasks) { fprintf(stderr, "rlvr eval: --ckpt and --tasks are required (see --help)\n"); return 2; }
    return 0;
}

/* ---------------------------------------------------------------- the tasks */

typedef struct {
    Task *owned;          /* JSONL tasks (NULL for a curriculum) */
    const Task **task;    /* (n) */
    const Verifier **ver; /* (n) */
    char (*where)[256];   /* (n) "file:line" or "eval task i", for messages */
    int n;
    Curriculum *cur;
} TaskSet;

static void taskset_free(TaskSet *s) {
    for (int i = 0; s->owned && i < s->n; i++) task_free(&s->owned[i]);
    free(s->owned);
    free(s->task);
    free(s->ver);
    free(s->where);
    curriculum_free(s->cur);
    memset(s, 0, sizeof *s);
}

static int grow(TaskSet *s, int *cap, int own) {
    if (s->n < *cap) return 0;
    int nc = *cap ? 2 * *cap : 256;
    if (own) {
        Task *o = realloc(s->owned, (size_t)nc * sizeof *o);
        if (!o) return -1;
        s->owned = o;
    }
    const Task **t = realloc(s->task, (size_t)nc * sizeof *t);
    if (!t) return -1;
    s->task = t;
    const Verifier **v = realloc(s->ver, (size_t)nc * sizeof *v);
    if (!v) return -1;
    s->ver = v;
    char (*w)[256] = realloc(s->where, (size_t)nc * sizeof *w);
    if (!w) return -1;
    s->where = w;
    *cap = nc;
    return 0;
}

static int is_blank(const char *s) {
    for (; *s; s++) if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

/* The verifier a task names, else the default one. */
static const Verifier *task_verifier(const Task *t, const Verifier *dflt, const char *where, char *err, size_t errlen) {
    if (!t->verifier[0]) return dflt;
    char why[1024];
    const Verifier *v = luaverifier_resolve(t->verifier, NULL, why, sizeof why);
    if (!v) snprintf(err, errlen, "%s: %s", where, why);
    return v;
}

static int load_jsonl(const char *path, long limit, const Verifier *dflt, TaskSet *s, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    int cap = 0, lineno = 0, rc = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((limit <= 0 || s->n < limit) && (len = getline(&line, &linecap, f)) > 0) {
        lineno++;
        if (is_blank(line)) continue;
        if (grow(s, &cap, 1)) { snprintf(err, errlen, "out of memory"); rc = -1; break; }
        cJSON *j = dataset_parse_line(line, (size_t)len);
        char why[512];
        if (!cJSON_IsObject(j)) {
            snprintf(err, errlen, "%s:%d: not a JSON object (or text after it)", path, lineno);
            cJSON_Delete(j);
            rc = -1;
            break;
        }
        Task *t = &s->owned[s->n];
        int bad = task_from_json(t, j, NULL, why, sizeof why);
        cJSON_Delete(j);
        if (bad) { snprintf(err, errlen, "%s:%d: %s", path, lineno, why); rc = -1; break; }
        snprintf(s->where[s->n], sizeof s->where[s->n], "%s:%d", path, lineno);
        if (!(s->ver[s->n] = task_verifier(t, dflt, s->where[s->n], err, errlen))) { task_free(t); rc = -1; break; }
        s->n++;
    }
    /* Pointers into owned only now that it has stopped moving. */
    for (int i = 0; i < s->n; i++) s->task[i] = &s->owned[i];
    if (!rc && ferror(f)) { snprintf(err, errlen, "%s: read error", path); rc = -1; }
    if (!rc && s->n == 0) { snprintf(err, errlen, "%s: no tasks", path); rc = -1; }
    free(line);
    fclose(f);
    return rc;
}

static int load_curriculum(const char *path, long limit, const Verifier *dflt, TaskSet *s, char *err, size_t errlen) {
    if (!(s->cur = curriculum_load(path, 1, NULL, err, errlen))) return -1;
    int n = curriculum_n_eval(s->cur);
    if (limit > 0 && n > limit) n = (int)limit;
    if (n == 0) { snprintf(err, errlen, "%s: the curriculum has no eval set", path); return -1; }
    int cap = 0;
    for (int i = 0; i < n; i++) {
        if (grow(s, &cap, 0)) { snprintf(err, errlen, "out of memory"); return -1; }
        const Task *t = curriculum_eval_task(s->cur, i);
        snprintf(s->where[i], sizeof s->where[i], "eval task %d%s%.40s", i + 1, t->id[0] ? " " : "", t->id);
        s->task[i] = t;
        if (!(s->ver[i] = task_verifier(t, dflt, s->where[i], err, errlen))) return -1;
        s->n++;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---------------------------------------------------------------- the report */

typedef struct {
    EvalResult r;          /* combined over the chunks */
    int total, skipped, context;
    double seconds;
} Report;

static void json_rate(cJSON *o, const char *key, int have, double v) {
    if (have) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static void print_json(const EvalOptions *o, const Report *rep) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return;
    int k = (int)o->k;
    cJSON_AddNumberToObject(j, "n", rep->r.n);
    cJSON_AddNumberToObject(j, "k", k);
    cJSON_AddNumberToObject(j, "pass_at_1_greedy", rep->r.pass1_greedy);
    json_rate(j, "pass_at_1_sampled", k > 0, rep->r.pass1_sampled);
    json_rate(j, "pass_at_k", k > 0, rep->r.pass_at_k);
    json_rate(j, "maj_at_k", k > 0, rep->r.maj_at_k);
    cJSON_AddNumberToObject(j, "mean_length", rep->r.mean_len);
    cJSON_AddBoolToObject(j, "calculator", !o->no_calculator);
    cJSON_AddStringToObject(j, "ckpt", o->ckpt);
    cJSON_AddStringToObject(j, "tasks", o->tasks);
    cJSON_AddNumberToObject(j, "solved_greedy", rep->r.solved_greedy);
    cJSON_AddNumberToObject(j, "skipped", rep->skipped);
    cJSON_AddNumberToObject(j, "total", rep->total);
    cJSON_AddNumberToObject(j, "max_new_tokens", (double)o->max_new);
    cJSON_AddNumberToObject(j, "context", rep->context);
    json_rate(j, "temperature", k > 0, o->temperature);
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "seconds", rep->seconds);
    char *s = cJSON_PrintUnformatted(j);
    if (s) puts(s);
    free(s);
    cJSON_Delete(j);
}

static void print_table(const EvalOptions *o, const Report *rep) {
    const EvalResult *r = &rep->r;
    printf("checkpoint        %s\n", o->ckpt);
    printf("tasks             %s\n", o->tasks);
    printf("evaluated         %d of %d", r->n, rep->total);
    if (rep->skipped)
        printf(" (%d skipped: prompt + %ld new tokens exceed the context of %d)", rep->skipped, o->max_new, rep->context);
    printf("\n");
    printf("calculator        %s\n", o->no_calculator ? "off" : "on");
    printf("pass@1 greedy     %.4f  (%d/%d)\n", r->pass1_greedy, r->solved_greedy, r->n);
    if (o->k > 0) {
        printf("pass@1 sampled    %.4f  (k=%ld, temperature %g, seed %ld)\n", r->pass1_sampled, o->k,
               (double)o->temperature, o->seed);
        printf("pass@%-12ld %.4f\n", o->k, r->pass_at_k);
        printf("maj@%-13ld %.4f\n", o->k, r->maj_at_k);
    }
    printf("mean length       %.1f tokens (greedy completions)\n", r->mean_len);
}

/* ---------------------------------------------------------------- the command */

int cmd_eval(int argc, char **argv) {
    EvalOptions o;
    int prc = parse_options(argc, argv, &o);
    if (prc) return prc == 1 ? 0 : prc;
    if (o.threads) util_set_threads((int)o.threads);

    char err[4608];
    int rc = 1, have_model = 0, have_sampler = 0;
    Model m;
    Tokenizer tok;
    Sampler smp;
    TaskSet ts;
    memset(&ts, 0, sizeof ts);
    const Task **run = NULL;
    const Verifier **run_ver = NULL;
    int *run_idx = NULL;

    if (verifiers_register_builtins(err, sizeof err)) goto fail;
    char why[1024];
    const Verifier *dflt = luaverifier_resolve(o.verifier, NULL, why, sizeof why);
    if (!dflt) {
        fprintf(stderr, "rlvr eval: --verifier: %s\n", why);
        verifier_registry_free();
        return 2;
    }
    if (policy_load(o.ckpt, &m, &tok, NULL, NULL, NULL, err, sizeof err)) goto fail;
    have_model = 1;
    int context = m.cfg.max_seq;
    if (!o.max_new) o.max_new = context / 2 < 256 ? context / 2 : 256;   /* the default: room for a prompt */
    if (o.max_new >= context) {
        fprintf(stderr, "rlvr eval: --max-new-tokens %ld leaves no room for a prompt in the checkpoint's context of %d\n",
                o.max_new, context);
        rc = 2;
        goto out;
    }
    if ((ends_with(o.tasks, ".lua") ? load_curriculum : load_jsonl)(o.tasks, o.limit, dflt, &ts, err, sizeof err))
        goto fail;

    /* The tasks that fit, in order; the others are counted. */
    run = malloc((size_t)ts.n * sizeof *run);
    run_ver = malloc((size_t)ts.n * sizeof *run_ver);
    run_idx = malloc((size_t)ts.n * sizeof *run_idx);
    if (!run || !run_ver || !run_idx) { snprintf(err, sizeof err, "out of memory"); goto fail; }
    int n = 0, skipped = 0, first_skip = -1, first_skip_len = 0;
    for (int i = 0; i < ts.n; i++) {
        int *p, len;
        char e2[256];
        if (rollout_encode_prompt(&tok, ts.task[i]->prompt, context, (int)o.max_new, &p, &len, e2, sizeof e2)) {
            if (first_skip < 0) {
                first_skip = i;
                first_skip_len = (int)strlen(ts.task[i]->prompt);
            }
            skipped++;
            continue;
        }
        free(p);
        run[n] = ts.task[i];
        run_ver[n] = ts.ver[i];
        run_idx[n] = i;
        n++;
    }
    if (skipped && n > 0)
        fprintf(stderr, "rlvr eval: skipping %d of %d tasks whose prompt does not fit the context of %d with %ld new "
                        "tokens (first: %s, %d bytes); rates are over the other %d\n",
                skipped, ts.n, context, o.max_new, ts.where[first_skip], first_skip_len, n);
    if (n == 0) {
        snprintf(err, sizeof err, "no task fits: none of the %d prompts leaves room for %ld new tokens in the context of %d "
                 "(try a smaller --max-new-tokens)", ts.n, o.max_new, context);
        goto fail;
    }

    /* The sampler: as many rows as the work needs, within a KV-cache budget. */
    long per_row = 2L * m.cfg.n_layer * m.cfg.d_model * context * (long)sizeof(float);
    long rows = (long)(n < EVAL_CHUNK ? n : EVAL_CHUNK) * (o.k > 1 ? o.k : 1);
    long cap = EVAL_KV_BUDGET / per_row;
    if (cap > 64) cap = 64;
    if (cap < 1) cap = 1;
    if (rows > cap) rows = cap;
    if (sampler_create(&smp, &m, (int)rows, err, sizeof err)) goto fail;
    have_sampler = 1;

    fprintf(stderr, "rlvr eval: %d tasks from %s: greedy%s, max %ld new tokens, calculator %s, threads %d\n", n,
            o.tasks, o.k > 0 ? " and samples" : "", o.max_new, o.no_calculator ? "off" : "on", util_get_threads());
    if (o.k > 0)
        fprintf(stderr, "rlvr eval: %ld samples per task at temperature %g, seed %ld\n", o.k, (double)o.temperature,
                o.seed);

    Report rep;
    memset(&rep, 0, sizeof rep);
    rep.total = ts.n;
    rep.skipped = skipped;
    rep.context = context;
    double t0 = util_now(), len_sum = 0, p1 = 0, pk = 0, maj = 0;
    int chunks = (n + EVAL_CHUNK - 1) / EVAL_CHUNK;
    for (int c = 0; c < chunks; c++) {
        int off = c * EVAL_CHUNK, cn = n - off < EVAL_CHUNK ? n - off : EVAL_CHUNK;
        EvalConfig ec = { .calculator = !o.no_calculator, .max_new_tokens = (int)o.max_new, .k = (int)o.k,
                          .threads = util_get_threads(), .temperature = o.temperature,
                          .seed = (uint64_t)o.seed + (uint64_t)c * 0x9E3779B97F4A7C15ull };
        EvalResult r;
        char eerr[2048];
        if (evaluate_tasks(&smp, &tok, run + off, run_ver + off, cn, &ec, &r, eerr, sizeof eerr)) {
            snprintf(err, sizeof err, "tasks %s to %s: %s", ts.where[run_idx[off]], ts.where[run_idx[off + cn - 1]], eerr);
            goto fail;
        }
        rep.r.solved_greedy += r.solved_greedy;
        len_sum += r.mean_len * cn;
        p1 += r.pass1_sampled * cn;
        pk += r.pass_at_k * cn;
        maj += r.maj_at_k * cn;
        if (chunks > 1)
            fprintf(stderr, "rlvr eval: %d/%d tasks, greedy pass@1 so far %.3f, %.1f s\n", off + cn, n,
                    (double)rep.r.solved_greedy / (off + cn), util_now() - t0);
    }
    rep.r.n = n;
    rep.r.k = (int)o.k;
    rep.r.pass1_greedy = (double)rep.r.solved_greedy / n;
    rep.r.mean_len = len_sum / n;
    rep.r.pass1_sampled = p1 / n;
    rep.r.pass_at_k = pk / n;
    rep.r.maj_at_k = maj / n;
    rep.seconds = util_now() - t0;
    fprintf(stderr, "rlvr eval: done in %.1f s\n", rep.seconds);
    if (o.json) print_json(&o, &rep);
    else print_table(&o, &rep);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "rlvr eval: %s\n", err);
    rc = 1;
out:
    free(run);
    free(run_ver);
    free(run_idx);
    taskset_free(&ts);
    if (have_sampler) sampler_free(&smp);
    if (have_model) { model_free(&m); tokenizer_free(&tok); }
    verifier_registry_free();
    return rc;
}

/* rlvr bench rl: the time of one RL step and where it goes. A Trainer is set up as
 * `rlvr train` sets one up (a curriculum's RL stage of GSM-style word problems from
 * lua/generators/gsm_word.lua, a tokenizer trained on that stage's tasks, a freshly
 * initialised policy, AdamW, a sampler) and trainer_rl_step (engine/trainer.h), the
 * trainer's own step, runs several times: P = 16 prompts, G = 8 completions each, 128 new
 * tokens, the calculator on, scored by `arith`. A fresh policy babbles, so most
 * completions run to the token limit: the worst case for sampling. One JSON line per
 * preset reports the step whose wall time is the median: its sampling, verifying and
 * update times, the rest (drawing tasks, building the batch), each as a fraction of the
 * step, and completion tokens per second of sampling and of the whole step. */
#include "engine/bench.h"
#include "engine/trainer.h"
#include "engine/util.h"
#include "lua/verifier_lua.h"
#include "policy/blas.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P 16
#define G 8
#define NEW_TOKENS 128
#define VOCAB 512
#define CONTEXT 256
#define TOKENIZER_TASKS 200

static const char *USAGE =
    "usage: rlvr bench rl [--preset tiny|small] [--steps N] [--seconds S] [--threads N]\n"
    "\n"
    "Times the trainer's RL step (trainer_rl_step, as `rlvr train` runs it) on GSM-style\n"
    "word problems from lua/generators/gsm_word.lua: 16 prompts, 8 completions each, 128\n"
    "new tokens, the calculator on, rewards from `arith`, a freshly initialised policy (most\n"
    "completions run to the token limit) and a 512-token tokenizer trained on the tasks.\n"
    "Runs N steps per preset (both, or the one given; default N: 5 for tiny, 3 for small,\n"
    "no step likely to end past S seconds of the preset, default 50) and prints one JSON line per\n"
    "preset for the step of median wall time: seconds sampling, verifying, updating and\n"
    "other, each as a fraction of the step, and completion tokens per second of sampling\n"
    "and of the whole step. --threads N as everywhere (default: all cores).\n";

/* One RL stage that never ends within the benchmark; a one-task eval set (required). */
static const char *CURRICULUM =
    "local rlvr = require(\"rlvr\")\n"
    "local gsm = require(\"generators.gsm_word\")\n"
    "local function q() return gsm.problem{ steps = { 1, 3 }, digits = 2, answer_only = true } end\n"
    "return rlvr.curriculum{\n"
    "  name = \"bench-rl\",\n"
    "  defaults = { vocab = 512, context = 256, max_new_tokens = 128, prompts = 16, group_size = 8,\n"
    "               calculator = true, temperature = 1.0, eval_every = 0 },\n"
    "  stages = { { name = \"rl\", mode = \"rl\", verifier = \"arith\", steps = 1000000, sources = { q } } },\n"
    "  eval = { n = 1, seed = 7, sources = { q }, verifier = \"arith\" },\n"
    "}\n";

typedef struct { double total, sample, verify, update, completion_tokens, truncated, reward; } StepTime;

static int cmp_total(const void *a, const void *b) {
    double x = ((const StepTime *)a)->total, y = ((const StepTime *)b)->total;
    return x < y ? -1 : x > y;
}

static double num(const cJSON *m, const char *k) { return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, k)); }

/* The tokenizer: trained on prompts and worked references of the stage's tasks, drawn
 * with seeds of their own (as `rlvr train` does for a run from nothing). */
static int bench_tokenizer(Trainer *t, char *err, size_t errlen) {
    char *texts[2 * TOKENIZER_TASKS];
    size_t lens[2 * TOKENIZER_TASKS], n = 0;
    int rc = -1;
    for (int j = 0; j < TOKENIZER_TASKS; j++) {
        Task task;
        if (curriculum_sample(t->cur, 0, 0, 7919u * 13 + (uint64_t)j, &task, err, errlen)) goto done;
        texts[n] = strdup(task.prompt);
        lens[n++] = strlen(task.prompt);
        texts[n] = strdup(task.reference);
        lens[n++] = strlen(task.reference);
        task_free(&task);
        if (!texts[n - 1] || !texts[n - 2]) { snprintf(err, errlen, "out of memory"); goto done; }
    }
    rc = tokenizer_train(&t->tok, (const char *const *)texts, lens, n, VOCAB, err, errlen);
done:
    for (size_t i = 0; i < n; i++) free(texts[i]);
    return rc;
}

static void bench_free(Trainer *t) {
    if (t->have_smp) sampler_free(&t->smp);
    if (t->have_opt) adamw_free(&t->opt);
    if (t->have_model) { model_free(&t->m); tokenizer_free(&t->tok); }
    if (t->cur) curriculum_free(t->cur);
    free(t->set); free(t->ver); free(t->n_ver);
    free(t->in); free(t->tg); free(t->w); free(t->mask); free(t->lp_old); free(t->lp_ref);
}

static int bench_preset(const char *script, const char *preset, int steps, double seconds, char *err, size_t errlen) {
    Trainer t;
    memset(&t, 0, sizeof t);
    int rc = -1;
    StepTime *st = calloc((size_t)steps, sizeof *st);
    if (!st) { snprintf(err, errlen, "out of memory"); return -1; }
    if (!(t.cur = curriculum_load(script, 1, NULL, err, errlen))) goto done;
    if (!(t.set = calloc(1, sizeof *t.set)) || !(t.ver = calloc(1, sizeof *t.ver)) || !(t.n_ver = calloc(1, sizeof *t.n_ver))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (settings_resolve(t.cur, NULL, &t.run, t.set, err, errlen)) goto done;
    snprintf(t.run.preset, sizeof t.run.preset, "%s", preset);
    t.run.seed = 1;
    t.threads = util_get_threads();
    const Stage *stage = curriculum_stage(t.cur, 0);
    for (int k = 0; k < stage->n_verifiers && k < ROLLOUT_MAX_VERIFIERS; k++) {
        const Verifier *v = luaverifier_resolve(stage->verifiers[k].name, NULL, err, errlen);
        if (!v) goto done;
        t.ver[0][t.n_ver[0]++] = (WeightedVerifier){ v, stage->verifiers[k].weight };
    }
    if (bench_tokenizer(&t, err, errlen)) goto done;
    ModelConfig cfg;
    if (model_config_preset(&cfg, preset, t.tok.vocab_size, (int)t.run.context)) {
        snprintf(err, errlen, "unknown preset '%s'", preset);
        tokenizer_free(&t.tok);
        goto done;
    }
    if (model_create(&t.m, &cfg, err, errlen)) { tokenizer_free(&t.tok); goto done; }
    model_init(&t.m, 1);
    t.have_model = 1;
    AdamWConfig ac = adamw_default_config();
    if (adamw_create(&t.opt, &ac, t.m.num_params, err, errlen)) goto done;
    t.have_opt = 1;
    if (sampler_create(&t.smp, &t.m, P * G, err, errlen)) goto done;
    t.have_smp = 1;

    double start = util_now();
    int done_steps = 0;
    for (int i = 0; i < steps; i++) {
        /* The budget: no step that would likely end past it (the last one's time as a guide). */
        if (i > 0 && util_now() - start + st[i - 1].total > seconds) break;
        cJSON *m = cJSON_CreateObject();
        if (!m) { snprintf(err, errlen, "out of memory"); goto done; }
        double t0 = util_now();
        int src = trainer_rl_step(&t, 0, m, err, errlen);
        double dt = util_now() - t0;
        if (src < 0) { cJSON_Delete(m); goto done; }
        t.step++;
        curriculum_end_step(t.cur);
        st[i] = (StepTime){ dt, num(m, "time_sample_s"), num(m, "time_verify_s"), num(m, "time_update_s"),
                            num(m, "completion_length") * P * G, num(m, "truncated_frac"), num(m, "reward") };
        fprintf(stderr, "bench rl: %s step %d/%d: %.2f s (sample %.2f, verify %.3f, update %.2f), %.0f completion tokens\n",
                preset, i + 1, steps, dt, st[i].sample, st[i].verify, st[i].update, st[i].completion_tokens);
        cJSON_Delete(m);
        done_steps++;
    }
    steps = done_steps;
    qsort(st, (size_t)steps, sizeof *st, cmp_total);
    const StepTime *md = &st[(steps - 1) / 2];
    double other = md->total - md->sample - md->verify - md->update;
    printf("{\"bench\":\"rl\",\"preset\":\"%s\",\"params\":%zu,\"vocab\":%d,\"blas_core\":\"%s\",\"threads\":%d,"
           "\"prompts\":%d,\"group_size\":%d,\"max_new_tokens\":%d,\"calculator\":true,\"steps\":%d,"
           "\"completion_tokens\":%.0f,\"truncated_frac\":%.3f,\"reward\":%.4f,"
           "\"time_step_s\":%.3f,\"time_sample_s\":%.3f,\"time_verify_s\":%.4f,\"time_update_s\":%.3f,\"time_other_s\":%.4f,"
           "\"frac_sample\":%.3f,\"frac_verify\":%.4f,\"frac_update\":%.3f,\"frac_other\":%.4f,"
           "\"tokens_per_s_sample\":%.0f,\"tokens_per_s_step\":%.0f,\"time_step_min_s\":%.3f,\"time_step_max_s\":%.3f}\n",
           preset, t.m.num_params, t.m.cfg.vocab, blas_corename(), t.threads, P, G, NEW_TOKENS, steps,
           md->completion_tokens, md->truncated, md->reward, md->total, md->sample, md->verify, md->update, other,
           md->sample / md->total, md->verify / md->total, md->update / md->total, other / md->total,
           md->completion_tokens / md->sample, md->completion_tokens / md->total, st[0].total, st[steps - 1].total);
    fflush(stdout);
    rc = 0;
done:
    bench_free(&t);
    free(st);
    return rc;
}

int bench_rl(int argc, char **argv) {
    const char *only = NULL;
    long threads = util_get_threads(), steps = 0, seconds = 50;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(USAGE, stdout); return 0; }
        if (!strcmp(argv[i], "--preset") && v) { only = v; i++; }
        else if (!strcmp(argv[i], "--steps") && v && !util_parse_int(v, 1, 1000, &steps)) i++;
        else if (!strcmp(argv[i], "--seconds") && v && !util_parse_int(v, 1, 100000, &seconds)) i++;
        else if (!strcmp(argv[i], "--threads") && v && !util_parse_int(v, 1, 1024, &threads)) i++;
        else { fprintf(stderr, "rlvr bench rl: bad argument '%s' (see --help)\n", argv[i]); return 2; }
    }
    if (only && strcmp(only, "tiny") && strcmp(only, "small")) {
        fprintf(stderr, "rlvr bench rl: unknown preset '%s' (tiny, small)\n", only);
        return 2;
    }
    util_set_threads((int)threads);
    char err[1024], script[] = "/tmp/rlvr-bench-rl-XXXXXX.lua";
    if (verifiers_register_builtins(err, sizeof err)) { fprintf(stderr, "rlvr bench rl: %s\n", err); return 1; }
    int fd = mkstemps(script, 4);
    if (fd < 0) { fprintf(stderr, "rlvr bench rl: %s: cannot create: %m\n", script); verifier_registry_free(); return 1; }
    size_t len = strlen(CURRICULUM);
    int bad = write(fd, CURRICULUM, len) != (ssize_t)len;
    bad |= close(fd) != 0;
    int rc = 0;
    if (bad) { fprintf(stderr, "rlvr bench rl: %s: cannot write\n", script); rc = 1; }
    static const char *presets[] = { "tiny", "small" };
    for (int i = 0; i < 2 && !rc; i++) {
        if (only && strcmp(only, presets[i])) continue;
        int n = steps ? (int)steps : i == 0 ? 5 : 3;
        if (bench_preset(script, presets[i], n, (double)seconds, err, sizeof err)) {
            fprintf(stderr, "rlvr bench rl: %s: %s\n", presets[i], err);
            rc = 1;
        }
    }
    unlink(script);
    verifier_registry_free();
    return rc;
}

/* rlvr demo: what `make demo` runs until the RL trainer lands. It trains the tiny
 * policy as a byte-level language model on GSM8K's worked solutions, shows the
 * held-out loss falling, then saves a checkpoint, loads it back and checks the loaded
 * policy scores the held-out text identically. */
#include "engine/commands.h"
#include "tasks/dataset.h"
#include "engine/util.h"
#include "policy/adamw.h"
#include "policy/checkpoint.h"
#include "policy/model.h"
#include "policy/rng.h"
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *DEMO_USAGE =
    "usage: rlvr demo [--data DIR] [--steps N] [--preset P] [--mlp swiglu|gelu] [--seed N] [--out DIR]\n"
    "\n"
    "Trains a policy (default: tiny, SwiGLU) as a byte-level language model on GSM8K's\n"
    "questions and worked answers (DIR/train.jsonl), reports held-out loss on\n"
    "DIR/test.jsonl, saves DIR_OUT/demo.ckpt (default runs/demo) and verifies it loads\n"
    "back bit-exactly. DIR defaults to $RLVR_GSM8K, else ../shared/data/gsm8k next to\n"
    "the rlvr checkout. Defaults: 400 steps of 16 x 128 bytes, seed 1.\n";

#define DEMO_B 16
#define DEMO_T 128

typedef struct { unsigned char *bytes; size_t n; } Text;

/* Concatenate "question\nanswer\n\n" for every pair of a GSM8K JSONL file. */
static int load_gsm8k(const char *path, Text *out, char *err, size_t errlen) {
    PairSet ps;
    if (dataset_load_pairs(path, 0, &ps, err, errlen)) return -1;
    size_t n = 0;
    for (size_t i = 0; i < ps.n; i++) n += strlen(ps.items[i].prompt) + strlen(ps.items[i].completion) + 3;
    unsigned char *buf = malloc(n + 1);
    if (!buf) { dataset_free_pairs(&ps); snprintf(err, errlen, "%s: out of memory", path); return -1; }
    size_t k = 0;
    for (size_t i = 0; i < ps.n; i++)
        k += (size_t)sprintf((char *)buf + k, "%s\n%s\n\n", ps.items[i].prompt, ps.items[i].completion);
    dataset_free_pairs(&ps);
    if (k < DEMO_T + 1) { free(buf); snprintf(err, errlen, "%s: too little text (%zu bytes)", path, k); return -1; }
    out->bytes = buf;
    out->n = k;
    return 0;
}

/* A batch of B windows of T+1 bytes at random offsets: inputs and next-byte targets. */
static void draw_batch(const Text *t, Rng *r, int *in, int *tg) {
    for (int b = 0; b < DEMO_B; b++) {
        size_t off = rng_next(r) % (t->n - DEMO_T - 1);
        for (int i = 0; i < DEMO_T; i++) {
            in[b * DEMO_T + i] = t->bytes[off + i];
            tg[b * DEMO_T + i] = t->bytes[off + i + 1];
        }
    }
}

/* Mean loss over a fixed set of held-out batches (the same ones every call). */
static double heldout_loss(Model *m, const Text *t, int *in, int *tg, char *err, size_t errlen) {
    Rng r;
    rng_seed(&r, 12345);
    double sum = 0.0;
    const int batches = 8;
    for (int i = 0; i < batches; i++) {
        draw_batch(t, &r, in, tg);
        if (model_forward(m, in, tg, NULL, DEMO_B * DEMO_T, DEMO_B, DEMO_T, err, errlen)) return -1.0;
        sum += m->loss;
    }
    return sum / batches;
}

static const char *default_data_dir(void) {
    static char dir[4200];
    const char *env = getenv("RLVR_GSM8K");
    if (env) return env;
    snprintf(dir, sizeof dir, "%s/../shared/data/gsm8k", util_exe_dir());
    return dir;
}

int cmd_demo(int argc, char **argv) {
    const char *data = default_data_dir(), *preset = "tiny", *outdir = "runs/demo";
    long steps = 400, seed = 1;
    MlpKind mlp = MLP_SWIGLU;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(DEMO_USAGE, stdout); return 0; }
        if (!v) { fprintf(stderr, "rlvr demo: %s needs a value\n%s", a, DEMO_USAGE); return 2; }
        if (strcmp(a, "--data") == 0) data = v;
        else if (strcmp(a, "--out") == 0) outdir = v;
        else if (strcmp(a, "--preset") == 0) preset = v;
        else if (strcmp(a, "--steps") == 0 && !util_parse_int(v, 1, 10000000, &steps)) {}
        else if (strcmp(a, "--seed") == 0 && !util_parse_int(v, 0, 1L << 62, &seed)) {}
        else if (strcmp(a, "--mlp") == 0 && (strcmp(v, "swiglu") == 0 || strcmp(v, "gelu") == 0))
            mlp = strcmp(v, "gelu") == 0 ? MLP_GELU : MLP_SWIGLU;
        else { fprintf(stderr, "rlvr demo: bad argument %s %s\n%s", a, v, DEMO_USAGE); return 2; }
        i++;
    }
    char err[512], path[4300];
    ModelConfig cfg;
    if (model_config_preset(&cfg, preset, 256, DEMO_T)) {
        fprintf(stderr, "rlvr demo: unknown preset '%s' (tiny, small, base)\n", preset);
        return 2;
    }
    if (mlp == MLP_GELU) { cfg.mlp = MLP_GELU; cfg.mlp_hidden = 4 * cfg.d_model; }
    Text train = {0}, test = {0};
    snprintf(path, sizeof path, "%s/train.jsonl", data);
    if (load_gsm8k(path, &train, err, sizeof err)) { fprintf(stderr, "rlvr demo: %s\n", err); return 1; }
    snprintf(path, sizeof path, "%s/test.jsonl", data);
    if (load_gsm8k(path, &test, err, sizeof err)) { fprintf(stderr, "rlvr demo: %s\n", err); free(train.bytes); return 1; }

    Model m, loaded;
    AdamW opt;
    AdamWConfig ac = adamw_default_config();
    ac.lr = 2e-3f;
    ac.warmup_steps = steps / 20;
    ac.total_steps = steps;
    int *in = malloc(DEMO_B * DEMO_T * sizeof(int)), *tg = malloc(DEMO_B * DEMO_T * sizeof(int));
    int rc = 1;
    if (!in || !tg || model_create(&m, &cfg, err, sizeof err) || adamw_create(&opt, &ac, m.num_params, err, sizeof err)) {
        fprintf(stderr, "rlvr demo: %s\n", in && tg ? err : "out of memory");
        free(in); free(tg); free(train.bytes); free(test.bytes);
        return 1;
    }
    model_init(&m, (uint64_t)seed);
    fprintf(stderr, "demo: %s policy (%zu parameters, %s MLP) as a byte-level model of GSM8K: "
                    "%zu training bytes, %zu held-out; %ld steps of %dx%d\n",
            preset, m.num_params, model_mlp_name(cfg.mlp), train.n, test.n, steps, DEMO_B, DEMO_T);
    double h0 = heldout_loss(&m, &test, in, tg, err, sizeof err);
    printf("{\"step\":0,\"heldout_loss\":%.4f}\n", h0);
    Rng r;
    rng_seed(&r, (uint64_t)seed);
    double t0 = util_now(), ema = 0.0;
    for (long s = 1; s <= steps; s++) {
        draw_batch(&train, &r, in, tg);
        if (model_forward(&m, in, tg, NULL, DEMO_B * DEMO_T, DEMO_B, DEMO_T, err, sizeof err)) goto out;
        model_zero_grad(&m);
        model_backward(&m, in, NULL, DEMO_B * DEMO_T);
        double gn;
        float lr;
        if (adamw_update(&opt, &m, &gn, &lr, err, sizeof err)) goto out;
        ema = s == 1 ? m.loss : 0.9 * ema + 0.1 * m.loss;
        double el = util_now() - t0;
        if (isatty(2))
            fprintf(stderr, "\rstep %ld/%ld  loss %.3f  %.0f tok/s  ETA %.0fs   ", s, steps, ema,
                    s * DEMO_B * DEMO_T / el, el / s * (steps - s));
        if (s % 100 == 0 || s == steps) {
            double h = heldout_loss(&m, &test, in, tg, err, sizeof err);
            if (isatty(2)) fputc('\n', stderr);
            printf("{\"step\":%ld,\"loss\":%.4f,\"heldout_loss\":%.4f,\"grad_norm\":%.3f,\"learning_rate\":%.2e,"
                   "\"tokens_per_s\":%.0f}\n", s, ema, h, gn, lr, s * DEMO_B * DEMO_T / el);
            fflush(stdout);
        }
    }
    double h_end = heldout_loss(&m, &test, in, tg, err, sizeof err);
    mkdir("runs", 0755);
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, sizeof err, "%s: cannot create: %s", outdir, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/demo.ckpt", outdir);
    CheckpointMeta meta = { .step = steps, .rng_state = r.state, .extra_json = NULL };
    if (checkpoint_save(path, &m, &opt, &meta, err, sizeof err)) goto out;
    AdamW lopt;
    CheckpointMeta lmeta;
    if (checkpoint_load(path, &loaded, &lopt, &lmeta, err, sizeof err)) goto out;
    double h_loaded = heldout_loss(&loaded, &test, in, tg, err, sizeof err);
    int same = memcmp(loaded.params_memory, m.params_memory, m.num_params * sizeof(float)) == 0 && h_loaded == h_end;
    printf("{\"done\":true,\"heldout_loss_start\":%.4f,\"heldout_loss_end\":%.4f,\"checkpoint\":\"%s\","
           "\"reloaded_identical\":%s}\n", h0, h_end, path, same ? "true" : "false");
    fprintf(stderr, "demo: held-out loss %.3f -> %.3f nats/byte; checkpoint %s %s\n", h0, h_end, path,
            same ? "reloads bit-exactly" : "DIFFERS after reload");
    model_free(&loaded);
    adamw_free(&lopt);
    free(lmeta.extra_json);
    rc = same ? 0 : 1;
out:
    if (rc && err[0]) fprintf(stderr, "rlvr demo: %s\n", err);
    model_free(&m);
    adamw_free(&opt);
    free(in); free(tg); free(train.bytes); free(test.bytes);
    return rc;
}

/* rlvr bench train: how fast is one full training step (forward, backward, AdamW),
 * against the measured sgemm ceiling and against the identical model in PyTorch,
 * all in the same run because this machine is shared and noisy. One JSON line per
 * preset on stdout; progress on stderr. */
#include "engine/bench.h"
#include "engine/commands.h"
#include "engine/util.h"
#include "policy/adamw.h"
#include "policy/blas.h"
#include "policy/model.h"
#include "policy/rng.h"
#include <cblas.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_B 8
#define BENCH_T 256
#define BENCH_V 1024

static const char *BENCH_USAGE =
    "usage: rlvr bench train [--preset tiny|small|base] [--seconds S] [--threads N] [--no-peer]\n"
    "                        [--mlp swiglu|gelu]\n"
    "\n"
    "Times full training steps (forward, backward, AdamW) on batch 8 x 256 tokens with a\n"
    "1024-token vocabulary, for each preset (or the one given), at 1 and at N threads\n"
    "(default: all cores), and reports the better. Also measures the sgemm ceiling and,\n"
    "unless --no-peer, the same step in PyTorch (bench/torch_train.py run by\n"
    "/usr/bin/python3 with the same OPENBLAS_CORETYPE, at 1 and N threads, best kept).\n"
    "--mlp gelu times the GELU variant (width 4d) instead of SwiGLU (the peer has both).\n"
    "Prints one JSON line per preset.\n";

/* Best sgemm rate on a large square problem: what the BLAS can do on this machine now.
 * Best of 12, measured before and after each preset, because a neighbour taking a core
 * for a moment would otherwise set the ceiling too low. */
static double sgemm_ceiling_gflops(void) {
    const int n = 1536;
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    if (!a || !b || !c) { free(a); free(b); free(c); return 0.0; }
    Rng r;
    rng_seed(&r, 7);
    for (size_t i = 0; i < (size_t)n * n; i++) { a[i] = rng_uniform(&r) - 0.5f; b[i] = rng_uniform(&r) - 0.5f; }
    double best = 0.0;
    for (int rep = 0; rep < 12; rep++) {
        double t0 = util_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double g = 2.0 * n * n * n / (util_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    free(a); free(b); free(c);
    return best;
}

typedef struct { double tokens_per_s, step_ms, gflops; int steps; } StepRate;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Time training steps for about `seconds` after two warm-up steps, and report the
 * median step: on a shared machine a few steps lose their core to a neighbour, and the
 * median ignores them where the mean would not (the PyTorch peer reports the same). */
static int time_steps(Model *m, AdamW *opt, const int *in, const int *tg, double seconds, StepRate *out) {
    char err[256];
    int N = BENCH_B * BENCH_T, steps = 0, cap = 4096;
    double *times = malloc(cap * sizeof(double)), start = 0.0;
    if (!times) { fprintf(stderr, "bench train: out of memory\n"); return -1; }
    for (int i = 0; steps < cap; i++) {
        double t0 = util_now();
        if (i == 2) start = t0;
        if (model_forward(m, in, tg, NULL, (float)N, BENCH_B, BENCH_T, err, sizeof err)) goto fail;
        model_zero_grad(m);
        model_backward(m, in, NULL, (float)N);
        if (adamw_update(opt, m, NULL, NULL, err, sizeof err)) goto fail;
        if (i < 2) continue;
        times[steps++] = util_now() - t0;
        if (steps >= 5 && util_now() - start >= seconds) break;
    }
    qsort(times, steps, sizeof(double), cmp_double);
    double dt = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    free(times);
    out->steps = steps;
    out->step_ms = dt * 1e3;
    out->tokens_per_s = N / dt;
    out->gflops = model_flops_per_step(&m->cfg, BENCH_B, BENCH_T) / dt / 1e9;
    return 0;
fail:
    fprintf(stderr, "bench train: %s\n", err);
    free(times);
    return -1;
}

/* Run the PyTorch peer in a fresh process; returns tokens/s or -1 if unavailable. */
static double torch_tokens_per_s(const char *preset, MlpKind mlp, int threads, double seconds, char *version, size_t vlen) {
    char script[4096], cmd[8192];
    snprintf(script, sizeof script, "%s/bench/torch_train.py", util_exe_dir());
    if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) return -1.0;
    const char *core = getenv("OPENBLAS_CORETYPE");
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_CORETYPE=%s OMP_NUM_THREADS=%d MKL_NUM_THREADS=%d timeout 600 /usr/bin/python3 '%s' "
             "--preset %s --mlp %s --threads %d --seconds %g 2>/dev/null",
             core ? core : "", threads, threads, script, preset, model_mlp_name(mlp), threads, seconds);
    FILE *p = popen(cmd, "r");
    if (!p) return -1.0;
    char line[4096];
    double tps = -1.0;
    while (fgets(line, sizeof line, p)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "tokens_per_s");
        const cJSON *tv = cJSON_GetObjectItemCaseSensitive(j, "torch_version");
        if (cJSON_IsNumber(v)) tps = v->valuedouble;
        if (cJSON_IsString(tv)) snprintf(version, vlen, "%s", tv->valuestring);
        cJSON_Delete(j);
    }
    if (pclose(p) != 0) return -1.0;
    return tps;
}

static int bench_preset(const char *preset, MlpKind mlp, int max_threads, double seconds, int peer) {
    ModelConfig cfg;
    model_config_preset(&cfg, preset, BENCH_V, BENCH_T);
    if (mlp == MLP_GELU) { cfg.mlp = MLP_GELU; cfg.mlp_hidden = 4 * cfg.d_model; }
    Model m;
    AdamW opt;
    char err[256];
    AdamWConfig ac = adamw_default_config();
    if (model_create(&m, &cfg, err, sizeof err) || adamw_create(&opt, &ac, m.num_params, err, sizeof err)) {
        fprintf(stderr, "bench train: %s\n", err);
        return -1;
    }
    model_init(&m, 1);
    int N = BENCH_B * BENCH_T;
    int *in = malloc(N * sizeof(int)), *tg = malloc(N * sizeof(int));
    Rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < N; i++) { in[i] = (int)(rng_next(&r) % BENCH_V); tg[i] = (int)(rng_next(&r) % BENCH_V); }

    double ceiling = sgemm_ceiling_gflops();
    StepRate best = {0}, rate;
    int best_threads = 0;
    for (int th = 1; th <= max_threads; th = th == 1 && max_threads > 1 ? max_threads : th + max_threads) {
        util_set_threads(th);
        fprintf(stderr, "bench train: %s, rlvr, %d thread%s...\n", preset, th, th > 1 ? "s" : "");
        if (time_steps(&m, &opt, in, tg, seconds, &rate)) { free(in); free(tg); model_free(&m); adamw_free(&opt); return -1; }
        if (rate.tokens_per_s > best.tokens_per_s) { best = rate; best_threads = th; }
    }
    util_set_threads(max_threads);
    double ceiling_after = sgemm_ceiling_gflops();
    if (ceiling_after > ceiling) ceiling = ceiling_after;
    free(in); free(tg);

    double torch_best = -1.0;
    int torch_threads = 0;
    char version[64] = "";
    if (peer) {
        for (int th = 1; th <= max_threads; th = th == 1 && max_threads > 1 ? max_threads : th + max_threads) {
            fprintf(stderr, "bench train: %s, pytorch, %d thread%s...\n", preset, th, th > 1 ? "s" : "");
            double t = torch_tokens_per_s(preset, mlp, th, seconds, version, sizeof version);
            if (t > torch_best) { torch_best = t; torch_threads = th; }
        }
    }
    printf("{\"bench\":\"train\",\"preset\":\"%s\",\"B\":%d,\"T\":%d,\"vocab\":%d,\"params\":%zu,"
           "\"mlp\":\"%s\",\"blas_core\":\"%s\",\"threads\":%d,\"steps\":%d,\"step_ms\":%.2f,"
           "\"tokens_per_s\":%.0f,\"gflops\":%.1f,\"sgemm_ceiling_gflops\":%.1f,\"frac_of_ceiling\":%.3f",
           preset, BENCH_B, BENCH_T, BENCH_V, m.num_params, model_mlp_name(cfg.mlp), blas_corename(),
           best_threads, best.steps, best.step_ms, best.tokens_per_s, best.gflops, ceiling,
           ceiling > 0 ? best.gflops / ceiling : 0.0);
    if (torch_best > 0)
        printf(",\"torch_tokens_per_s\":%.0f,\"torch_threads\":%d,\"torch_version\":\"%s\",\"ratio_vs_torch\":%.2f}\n",
               torch_best, torch_threads, version, best.tokens_per_s / torch_best);
    else
        printf(",\"torch\":\"%s\"}\n", peer ? "unavailable (install python3-torch to compare)" : "skipped");
    fflush(stdout);
    model_free(&m);
    adamw_free(&opt);
    return 0;
}

int bench_train(int argc, char **argv) {
    const char *only = NULL;
    double seconds = 4.0;
    long threads = util_get_threads();
    int peer = 1;
    MlpKind mlp = MLP_SWIGLU;
    for (int i = 0; i < argc; i++) {
        long v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(BENCH_USAGE, stdout); return 0; }
        else if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc && !util_parse_int(argv[i + 1], 1, 3600, &v)) { seconds = v; i++; }
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && !util_parse_int(argv[i + 1], 1, 1024, &v)) { threads = v; i++; }
        else if (strcmp(argv[i], "--no-peer") == 0) peer = 0;
        else if (strcmp(argv[i], "--mlp") == 0 && i + 1 < argc && (strcmp(argv[i + 1], "gelu") == 0 || strcmp(argv[i + 1], "swiglu") == 0))
            mlp = strcmp(argv[++i], "gelu") == 0 ? MLP_GELU : MLP_SWIGLU;
        else { fprintf(stderr, "rlvr bench train: bad argument '%s'\n%s", argv[i], BENCH_USAGE); return 2; }
    }
    const char *presets[] = { "tiny", "small", "base" };
    ModelConfig probe;
    if (only && model_config_preset(&probe, only, BENCH_V, BENCH_T)) {
        fprintf(stderr, "rlvr bench train: unknown preset '%s' (tiny, small, base)\n", only);
        return 2;
    }
    util_set_threads((int)threads);
    for (int i = 0; i < 3; i++) {
        if (only && strcmp(only, presets[i]) != 0) continue;
        if (bench_preset(presets[i], mlp, (int)threads, seconds, peer)) return 1;
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs("usage: rlvr bench train|sample|verify|rl|learn|mpi [options]   (rlvr bench BENCH --help)\n",
              argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "train") == 0) return bench_train(argc - 1, argv + 1);
    if (strcmp(argv[0], "sample") == 0) return bench_sample(argc - 1, argv + 1);
    if (strcmp(argv[0], "verify") == 0) return bench_verify(argc - 1, argv + 1);
    if (strcmp(argv[0], "rl") == 0) return bench_rl(argc - 1, argv + 1);
    if (strcmp(argv[0], "learn") == 0) return bench_learn(argc - 1, argv + 1);
    if (strcmp(argv[0], "mpi") == 0) return bench_mpi(argc - 1, argv + 1);
    fprintf(stderr, "rlvr bench: unknown benchmark '%s' (available: train, sample, verify, rl, learn, mpi)\n", argv[0]);
    return 2;
}

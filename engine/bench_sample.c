/* rlvr bench sample: generation speed, single stream and batched. One JSON line per
 * preset: tokens/s for batches of 1, 8, 32 and 64 sequences, each with a 64-token prompt
 * and 256 new tokens (sampled at temperature 1 with no stop, so every sequence runs the
 * full length), prefill included. With --llama2c RUN (a llama2.c `run` binary the user
 * built), the same shape is exported and timed in llama2.c's run.c for comparison. */
#include "engine/bench.h"
#include "engine/util.h"
#include "policy/blas.h"
#include "policy/sampler.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT 64
#define NEW_TOKENS 256
#define VOCAB 1024

static const char *USAGE =
    "usage: rlvr bench sample [--preset tiny|small|base] [--threads N] [--llama2c RUN]\n"
    "\n"
    "Times generation of 256 new tokens after a 64-token prompt, for batches of 1, 8, 32\n"
    "and 64 sequences sampled at temperature 1, and a greedy single stream, per preset (or\n"
    "the one given); prints one JSON line per preset with tokens/s per batch size (prefill\n"
    "included), the greedy single stream's decoding rate (prefill excluded, as llama2.c\n"
    "reports), and the batch-64 speed-up over a single stream. --llama2c RUN (or\n"
    "$RLVR_LLAMA2C_RUN)\n"
    "also times llama2.c's run.c (the `run` binary you built from karpathy/llama2.c) on the\n"
    "same model, exported with `rlvr export --llama2c`, via bench/llama2c_run.sh.\n";

/* Seconds to generate `new_tokens` for B sequences; best of `reps`. */
static double time_batch(Sampler *s, int B, int reps, float temperature, int new_tokens, char *err, size_t errlen) {
    static int prompt_buf[64][PROMPT];
    const int *prompts[64];
    int lens[64];
    Rng r;
    rng_seed(&r, 5);
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < PROMPT; i++) prompt_buf[b][i] = (int)(rng_next(&r) % VOCAB);
        prompts[b] = prompt_buf[b];
        lens[b] = PROMPT;
    }
    SamplerConfig sc = { .temperature = temperature, .top_p = 1.0f, .max_new_tokens = new_tokens, .stop_token = -1, .seed = 1 };
    Completion out[64];
    double best = 1e30;
    for (int k = 0; k < reps; k++) {
        double t0 = util_now();
        if (sampler_generate(s, NULL, &sc, prompts, lens, NULL, B, out, NULL, NULL, NULL, err, errlen)) return -1.0;
        double dt = util_now() - t0;
        for (int b = 0; b < B; b++) completion_free(&out[b]);
        if (dt < best) best = dt;
    }
    return best;
}

static int bench_preset(const char *preset, const char *llama2c) {
    ModelConfig cfg;
    model_config_preset(&cfg, preset, VOCAB, PROMPT + NEW_TOKENS);
    Model m;
    Sampler s;
    char err[512];
    if (model_create(&m, &cfg, err, sizeof err)) { fprintf(stderr, "bench sample: %s\n", err); return -1; }
    model_init(&m, 1);
    if (sampler_create(&s, &m, 64, err, sizeof err)) { fprintf(stderr, "bench sample: %s\n", err); model_free(&m); return -1; }
    static const int batches[] = { 1, 8, 32, 64 };
    double tps[4];
    for (int i = 0; i < 4; i++) {
        fprintf(stderr, "bench sample: %s, batch %d...\n", preset, batches[i]);
        double dt = time_batch(&s, batches[i], batches[i] == 1 ? 3 : 1, 1.0f, NEW_TOKENS, err, sizeof err);
        if (dt < 0) { fprintf(stderr, "bench sample: %s\n", err); sampler_free(&s); model_free(&m); return -1; }
        tps[i] = (double)batches[i] * NEW_TOKENS / dt;
    }
    /* llama2.c's run.c decodes greedily (-t 0) and feeds even the prompt one position at a
     * time, reporting positions per second: compare it with our greedy single stream's
     * decoding rate, i.e. the time for 256 new tokens minus the time for the prefill and
     * the first token. */
    double greedy = time_batch(&s, 1, 5, 0.0f, NEW_TOKENS, err, sizeof err);
    double prefill = time_batch(&s, 1, 5, 0.0f, 1, err, sizeof err);
    double tps_greedy = greedy > prefill && prefill > 0 ? (NEW_TOKENS - 1) / (greedy - prefill) : 0.0;
    printf("{\"bench\":\"sample\",\"preset\":\"%s\",\"params\":%zu,\"blas_core\":\"%s\",\"threads\":%d,"
           "\"prompt_tokens\":%d,\"new_tokens\":%d,\"tokens_per_s\":{\"1\":%.0f,\"8\":%.0f,\"32\":%.0f,\"64\":%.0f},"
           "\"single_greedy_decode_tokens_per_s\":%.0f,\"batch64_over_single\":%.2f",
           preset, m.num_params, blas_corename(), util_get_threads(), PROMPT, NEW_TOKENS, tps[0], tps[1], tps[2],
           tps[3], tps_greedy, tps[3] / tps[0]);
    if (llama2c) {
        double peer = bench_llama2c_tokens_per_s(&m, llama2c, PROMPT, NEW_TOKENS, err, sizeof err);
        if (peer > 0) printf(",\"llama2c_tokens_per_s\":%.0f,\"single_decode_over_llama2c\":%.2f", peer, tps_greedy / peer);
        else printf(",\"llama2c\":\"failed: %s\"", err);
    }
    printf("}\n");
    fflush(stdout);
    sampler_free(&s);
    model_free(&m);
    return 0;
}

int bench_sample(int argc, char **argv) {
    const char *only = NULL, *llama2c = getenv("RLVR_LLAMA2C_RUN");
    long threads = util_get_threads();
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(USAGE, stdout); return 0; }
        else if (!strcmp(argv[i], "--preset") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--llama2c") && i + 1 < argc) llama2c = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && !util_parse_int(argv[i + 1], 1, 1024, &threads)) i++;
        else { fprintf(stderr, "rlvr bench sample: bad argument '%s'\n%s", argv[i], USAGE); return 2; }
    }
    ModelConfig probe;
    if (only && model_config_preset(&probe, only, VOCAB, 64)) {
        fprintf(stderr, "rlvr bench sample: unknown preset '%s' (tiny, small, base)\n", only);
        return 2;
    }
    util_set_threads((int)threads);
    const char *presets[] = { "tiny", "small", "base" };
    for (int i = 0; i < 3; i++)
        if ((!only || !strcmp(only, presets[i])) && bench_preset(presets[i], llama2c)) return 1;
    return 0;
}

/* Generation: the KV-cache forward against the training forward, the sampler's
 * log-probabilities against training's, batch independence, determinism, the sampling
 * distribution itself, stop conditions and the tool hook. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "policy/model.h"
#include "policy/sampler.h"
#include "policy/tokenizer.h"
#include "tests/test_util.h"

static const char *CORPUS =
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May? Natalia sold 48/2 = 24 clips in May. "
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. ";

static Tokenizer tok;
static ModelConfig cfg;
static Model model;

static int setup(void **state) {
    (void)state;
    char err[256];
    size_t len = strlen(CORPUS);
    if (tokenizer_train(&tok, &CORPUS, &len, 1, 300, err, sizeof err)) fail_msg("%s", err);
    cfg = (ModelConfig){ .vocab = 300, .d_model = 32, .n_layer = 2, .n_head = 2, .max_seq = 64,
                         .mlp_hidden = 96, .mlp = MLP_SWIGLU };
    if (model_create(&model, &cfg, err, sizeof err)) fail_msg("%s", err);
    model_init(&model, 5);
    /* Larger embeddings make the next-token distribution decisive, so greedy choices are
     * not near-ties that rounding could flip. */
    for (size_t i = 0; i < model.param_sizes[0]; i++) model.params.wte[i] *= 30.0f;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    model_free(&model);
    tokenizer_free(&tok);
    return 0;
}

static void random_tokens(int *t, int n, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    for (int i = 0; i < n; i++) t[i] = (int)(rng_next(&r) % (uint64_t)cfg.vocab);
}

/* The decoder's logits, prefilled at once or fed token by token, equal training's. */
static void test_decoder_matches_training(void **s) {
    (void)s;
    char err[256];
    enum { T = 20 };
    int toks[T], pos[T], slot[T];
    random_tokens(toks, T, 1);
    for (int i = 0; i < T; i++) { pos[i] = i; slot[i] = 1; }
    assert_int_equal(model_forward(&model, toks, NULL, NULL, 1.0f, 1, T, err, sizeof err), 0);
    Decoder d;
    assert_int_equal(decoder_create(&d, &model, 3, err, sizeof err), 0);
    float *lg = alloc_floats((size_t)T * cfg.vocab);
    assert_int_equal(decoder_forward(&d, toks, pos, slot, T, NULL, lg, err, sizeof err), 0);
    for (size_t i = 0; i < (size_t)T * cfg.vocab; i++) assert_float_equal(lg[i], model.acts.logits[i], 1e-4);
    for (int t = 0; t < T; t++) {
        assert_int_equal(decoder_forward(&d, toks + t, pos + t, slot, 1, NULL, lg, err, sizeof err), 0);
        for (int v = 0; v < cfg.vocab; v++)
            assert_float_equal(lg[v], model.acts.logits[(size_t)t * cfg.vocab + v], 1e-4);
    }
    int bad = cfg.vocab;
    assert_int_equal(decoder_forward(&d, &bad, pos, slot, 1, NULL, lg, err, sizeof err), -1);
    assert_non_null(strstr(err, "token"));
    free(lg);
    decoder_free(&d);
}

/* The log-probabilities the sampler records for its tokens equal those the training
 * forward computes for the same tokens, within 1e-4, tool tokens included in the input. */
static int calc_tool(void *user, int seq, const char *text, size_t len, int *out, int cap) {
    (void)user; (void)seq; (void)text;
    if (len == 0 || cap < 2 || (len % 5) != 0) return 0;
    out[0] = '4';
    out[1] = '2';
    return 2;
}

static void check_logprobs(int use_tool) {
    char err[256];
    enum { B = 4, P = 6 };
    int prompts_buf[B][P], lens[B] = { 6, 3, 5, 1 };
    const int *prompts[B];
    for (int b = 0; b < B; b++) { random_tokens(prompts_buf[b], P, 10 + b); prompts[b] = prompts_buf[b]; }
    Sampler sm;
    assert_int_equal(sampler_create(&sm, &model, B, err, sizeof err), 0);
    SamplerConfig sc = { .temperature = 1.0f, .top_p = 1.0f, .max_new_tokens = 30, .stop_token = -1, .seed = 3 };
    Completion out[B];
    assert_int_equal(sampler_generate(&sm, &tok, &sc, prompts, lens, NULL, B, out,
                                      use_tool ? calc_tool : NULL, NULL, NULL, err, sizeof err), 0);
    int tools = 0;
    for (int b = 0; b < B; b++) {
        int n = lens[b] + out[b].n;
        int *in = calloc(n, sizeof(int));
        memcpy(in, prompts[b], lens[b] * sizeof(int));
        memcpy(in + lens[b], out[b].tokens, out[b].n * sizeof(int));
        assert_int_equal(model_forward(&model, in, in + 1, NULL, 1.0f, 1, n - 1, err, sizeof err), 0);
        for (int i = 0; i < out[b].n; i++) {
            if (out[b].is_tool[i]) { tools++; assert_float_equal(out[b].logp_policy[i], 0.0, 0.0); continue; }
            /* token i of the completion is predicted at position lens[b] - 1 + i */
            assert_float_equal(out[b].logp_policy[i], model.acts.logprobs[lens[b] - 1 + i], 1e-4);
            /* at temperature 1 with no filtering both distributions are the policy's */
            assert_float_equal(out[b].logp_sample[i], out[b].logp_policy[i], 1e-4);
        }
        free(in);
        completion_free(&out[b]);
    }
    if (use_tool) assert_true(tools > 0);
    sampler_free(&sm);
}
static void test_logprobs_match_training(void **s) { (void)s; check_logprobs(0); }
static void test_logprobs_with_tool_tokens(void **s) { (void)s; check_logprobs(1); }

/* Greedy decoding gives the same text for a prompt alone and inside a batch of 64, and a
 * sampled sequence with the same stream id gives the same completion. */
static void test_batch_independence(void **s) {
    (void)s;
    char err[256];
    enum { B = 64, P = 12 };
    static int buf[B][P];
    int lens[B];
    const int *prompts[B];
    uint64_t ids[B];
    for (int b = 0; b < B; b++) {
        random_tokens(buf[b], P, 100 + b);
        lens[b] = 1 + b % P;
        prompts[b] = buf[b];
        ids[b] = 1000 + b;
    }
    Sampler sm;
    assert_int_equal(sampler_create(&sm, &model, B, err, sizeof err), 0);
    for (int greedy = 1; greedy >= 0; greedy--) {
        SamplerConfig sc = { .temperature = greedy ? 0.0f : 1.0f, .top_p = 1.0f, .max_new_tokens = 40,
                             .stop_token = -1, .seed = 11 };
        Completion all[B], one;
        assert_int_equal(sampler_generate(&sm, &tok, &sc, prompts, lens, ids, B, all, NULL, NULL, NULL, err, sizeof err), 0);
        for (int b = 0; b < B; b += 9) {
            assert_int_equal(sampler_generate(&sm, &tok, &sc, &prompts[b], &lens[b], &ids[b], 1, &one, NULL, NULL,
                                              NULL, err, sizeof err), 0);
            assert_int_equal(one.n, all[b].n);
            assert_memory_equal(one.tokens, all[b].tokens, one.n * sizeof(int));
            assert_string_equal(one.text, all[b].text);
            completion_free(&one);
        }
        for (int b = 0; b < B; b++) completion_free(&all[b]);
    }
    sampler_free(&sm);
}

static void test_seeds(void **s) {
    (void)s;
    char err[256];
    int prompt[4] = { 1, 2, 3, 4 }, len = 4;
    const int *p = prompt;
    Sampler sm;
    assert_int_equal(sampler_create(&sm, &model, 1, err, sizeof err), 0);
    /* a hot temperature: the test model's distributions are sharp on purpose */
    SamplerConfig sc = { .temperature = 8.0f, .top_p = 1.0f, .max_new_tokens = 40, .stop_token = -1, .seed = 5 };
    Completion a, b, c;
    assert_int_equal(sampler_generate(&sm, &tok, &sc, &p, &len, NULL, 1, &a, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(sampler_generate(&sm, &tok, &sc, &p, &len, NULL, 1, &b, NULL, NULL, NULL, err, sizeof err), 0);
    sc.seed = 6;
    assert_int_equal(sampler_generate(&sm, &tok, &sc, &p, &len, NULL, 1, &c, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.tokens, b.tokens, a.n * sizeof(int));
    assert_true(a.n != c.n || memcmp(a.tokens, c.tokens, a.n * sizeof(int)) != 0);
    assert_int_equal(a.finish, FINISH_LENGTH);
    completion_free(&a); completion_free(&b); completion_free(&c);
    sampler_free(&sm);
}

/* sampler_pick draws from the right distribution, with and without top-k and top-p. */
static void test_pick_distribution(void **s) {
    (void)s;
    enum { V = 5, DRAWS = 200000 };
    float logits[V] = { 1.0f, 2.0f, 0.5f, 2.5f, -1.0f }, probs[V], p[V];
    int order[V], counts[V];
    double z = 0.0;
    for (int j = 0; j < V; j++) z += exp(logits[j] / 0.7);
    for (int j = 0; j < V; j++) p[j] = (float)(exp(logits[j] / 0.7) / z);
    struct { int top_k; float top_p; } cases[] = { { 0, 1.0f }, { 2, 1.0f }, { 0, 0.8f } };
    for (size_t ci = 0; ci < 3; ci++) {
        SamplerConfig sc = { .temperature = 0.7f, .top_k = cases[ci].top_k, .top_p = cases[ci].top_p };
        /* the kept set: by probability 3 > 1 > 0 > 2 > 4 */
        int kept[V] = {0};
        double mass = 0.0;
        if (ci == 0) { for (int j = 0; j < V; j++) kept[j] = 1; }
        else if (ci == 1) { kept[3] = kept[1] = 1; }
        else { double cum = 0; int ord[V] = { 3, 1, 0, 2, 4 }; for (int i = 0; i < V && cum < 0.8; i++) { kept[ord[i]] = 1; cum += p[ord[i]]; } }
        for (int j = 0; j < V; j++) if (kept[j]) mass += p[j];
        memset(counts, 0, sizeof counts);
        Rng r; rng_seed(&r, 9);
        for (int i = 0; i < DRAWS; i++) {
            float ls, lp;
            int t = sampler_pick(logits, V, &sc, &r, probs, order, &ls, &lp);
            counts[t]++;
            if (i < 50) {
                assert_true(kept[t]);
                assert_float_equal(ls, log(p[t] / mass), 1e-4);
            }
        }
        for (int j = 0; j < V; j++) {
            double expect = kept[j] ? p[j] / mass : 0.0;
            assert_float_equal((double)counts[j] / DRAWS, expect, 0.01);
        }
    }
    /* greedy: the argmax, with probability one */
    SamplerConfig g = { .temperature = 0.0f };
    float ls, lp;
    Rng r; rng_seed(&r, 1);
    assert_int_equal(sampler_pick(logits, V, &g, &r, probs, order, &ls, &lp), 3);
    assert_float_equal(ls, 0.0, 0.0);
}

/* A tool that writes " STOP" once; the stop string ends the sequence, and the text ends
 * before it. Tool tokens are marked and carry no log-probabilities. */
static int stop_tool(void *user, int seq, const char *text, size_t len, int *out, int cap) {
    (void)seq; (void)text;
    int *done = user;
    if (*done || len < 3 || cap < 5) return 0;
    *done = 1;
    const char *w = " STOP";
    for (int i = 0; i < 5; i++) out[i] = (unsigned char)w[i];
    return 5;
}

static void test_stop_string_and_tool(void **s) {
    (void)s;
    char err[256];
    int prompt[3] = { 5, 6, 7 }, len = 3, done = 0;
    const int *p = prompt;
    const char *stops[] = { "STOP" };
    Sampler sm;
    assert_int_equal(sampler_create(&sm, &model, 1, err, sizeof err), 0);
    SamplerConfig sc = { .temperature = 1.0f, .top_p = 1.0f, .max_new_tokens = 60, .stop_token = -1, .seed = 2,
                         .stop_strings = stops, .n_stop_strings = 1 };
    Completion c;
    assert_int_equal(sampler_generate(&sm, &tok, &sc, &p, &len, NULL, 1, &c, stop_tool, NULL, &done, err, sizeof err), 0);
    assert_int_equal(c.finish, FINISH_STOP_STRING);
    assert_null(strstr(c.text, "STOP"));
    assert_int_equal(c.n_tool, 5);
    assert_int_equal(c.is_tool[c.n - 1], 1);
    for (int i = 0; i < c.n; i++)
        if (c.is_tool[i]) { assert_float_equal(c.logp_sample[i], 0.0, 0.0); }
    completion_free(&c);
    /* The context limit ends a sequence too: a 63-token prompt fills positions 0..62,
     * the first new token is fed at 63, the last position, and the second is the last
     * any position can predict. */
    int longp[65];
    random_tokens(longp, 65, 4);
    const int *lp = longp;
    int llen = 63;
    assert_int_equal(sampler_generate(&sm, &tok, &sc, &lp, &llen, NULL, 1, &c, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(c.finish, FINISH_CONTEXT);
    assert_int_equal(c.n, 2);
    completion_free(&c);
    llen = 65; /* longer than the context */
    assert_int_equal(sampler_generate(&sm, &tok, &sc, &lp, &llen, NULL, 1, &c, NULL, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "context"));
    sampler_free(&sm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoder_matches_training),
        cmocka_unit_test(test_logprobs_match_training),
        cmocka_unit_test(test_logprobs_with_tool_tokens),
        cmocka_unit_test(test_batch_independence),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_pick_distribution),
        cmocka_unit_test(test_stop_string_and_tool),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

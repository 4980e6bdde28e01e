/* The whole model: finite-difference gradients through every layer, the weighting
 * contract of the loss, input validation, determinism, and that the tiny preset can
 * overfit one batch (the sign that forward, backward and AdamW work together). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "policy/adamw.h"
#include "policy/model.h"
#include "tests/test_util.h"

static ModelConfig micro_config(MlpKind mlp) {
    ModelConfig c = { .vocab = 32, .d_model = 16, .n_layer = 2, .n_head = 2, .max_seq = 8,
                      .mlp_hidden = 24, .mlp = mlp };
    return c;
}

typedef struct { Model *m; int *in, *tg; float *w; float denom; int B, T; } Batch;

static void random_batch(Batch *b, Model *m, int B, int T, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    b->m = m; b->B = B; b->T = T;
    b->in = calloc((size_t)B * T, sizeof(int));
    b->tg = calloc((size_t)B * T, sizeof(int));
    b->w = alloc_floats((size_t)B * T);
    for (int i = 0; i < B * T; i++) {
        b->in[i] = (int)(rng_next(&r) % m->cfg.vocab);
        b->tg[i] = (int)(rng_next(&r) % m->cfg.vocab);
        b->w[i] = rng_uniform(&r) < 0.25f ? 0.0f : 2.0f * rng_uniform(&r) - 1.0f;
    }
    b->denom = 1.0f;
}
static void free_batch(Batch *b) { free(b->in); free(b->tg); free(b->w); }

static double batch_loss(void *p) {
    Batch *b = p;
    char err[256];
    if (model_forward(b->m, b->in, b->tg, b->w, b->denom, b->B, b->T, err, sizeof err)) fail_msg("%s", err);
    return b->m->loss;
}

static void fd_whole_model(MlpKind mlp) {
    ModelConfig cfg = micro_config(mlp);
    Model m;
    char err[256];
    assert_int_equal(model_create(&m, &cfg, err, sizeof err), 0);
    model_init(&m, 11);
    /* Scale the matrices up from 0.02 std so every layer's gradient is well above
     * float32 noise in the finite differences. */
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        if (model_param_decays(i) || i == 0) {
            float *t = model_tensor(&m, m.params_memory, i);
            for (size_t j = 0; j < m.param_sizes[i]; j++) t[j] *= 10.0f;
        }
    Batch b;
    random_batch(&b, &m, 2, 8, 5);
    batch_loss(&b);
    model_zero_grad(&m);
    model_backward(&m, b.in, b.w, b.denom);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        float *p = model_tensor(&m, m.params_memory, i), *g = model_tensor(&m, m.grads_memory, i);
        char name[64];
        snprintf(name, sizeof name, "%s %s", model_mlp_name(mlp), model_param_names[i]);
        assert_true(grad_check(name, batch_loss, &b, p, g, m.param_sizes[i], 40, 2e-3f, 2e-3, 2e-2) <= 1.0);
    }
    free_batch(&b);
    model_free(&m);
}
static void test_fd_swiglu(void **s) { (void)s; fd_whole_model(MLP_SWIGLU); }
static void test_fd_gelu(void **s) { (void)s; fd_whole_model(MLP_GELU); }

/* The model never knows what the weights mean: scaling weights and denominator
 * together changes nothing, zero weights give zero gradients. */
static void test_weight_contract(void **s) {
    (void)s;
    ModelConfig cfg = micro_config(MLP_SWIGLU);
    Model m;
    char err[256];
    assert_int_equal(model_create(&m, &cfg, err, sizeof err), 0);
    model_init(&m, 3);
    Batch b;
    random_batch(&b, &m, 3, 8, 9);
    size_t n = m.num_params;
    float *g1 = alloc_floats(n);
    batch_loss(&b); model_zero_grad(&m); model_backward(&m, b.in, b.w, b.denom);
    memcpy(g1, m.grads_memory, n * sizeof(float));
    double loss1 = m.loss;
    for (int i = 0; i < 24; i++) b.w[i] *= 4.0f;
    b.denom *= 4.0f;
    batch_loss(&b); model_zero_grad(&m); model_backward(&m, b.in, b.w, b.denom);
    assert_float_equal(m.loss, loss1, 1e-6 * (1 + fabs(loss1)));
    assert_memory_equal(g1, m.grads_memory, n * sizeof(float));
    for (int i = 0; i < 24; i++) b.w[i] = 0.0f;
    batch_loss(&b); model_zero_grad(&m); model_backward(&m, b.in, b.w, b.denom);
    assert_float_equal(m.loss, 0.0, 0.0);
    for (size_t i = 0; i < n; i++) assert_float_equal(m.grads_memory[i], 0.0, 0.0);
    free(g1);
    free_batch(&b);
    model_free(&m);
}

static void test_bad_inputs(void **s) {
    (void)s;
    ModelConfig cfg = micro_config(MLP_SWIGLU);
    Model m;
    char err[256];
    assert_int_equal(model_create(&m, &cfg, err, sizeof err), 0);
    int in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, tg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    in[5] = 32; /* == vocab */
    assert_int_equal(model_forward(&m, in, tg, NULL, 1.0f, 1, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "token id 32"));
    in[5] = 0; tg[2] = -1;
    assert_int_equal(model_forward(&m, in, tg, NULL, 1.0f, 1, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "token id -1"));
    tg[2] = 0;
    assert_int_equal(model_forward(&m, in, tg, NULL, 1.0f, 1, 9, err, sizeof err), -1); /* T > max_seq */
    assert_non_null(strstr(err, "context"));
    assert_int_equal(model_forward(&m, in, tg, NULL, 0.0f, 1, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "denominator"));
    model_free(&m);
    /* configs that must be refused at load time, not crash later */
    ModelConfig bad = micro_config(MLP_SWIGLU);
    bad.n_head = 3;
    assert_int_equal(model_create(&m, &bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "n_head"));
    bad = micro_config(MLP_SWIGLU);
    bad.d_model = 18; bad.n_head = 6; /* head size 3: odd, no RoPE pairs */
    assert_int_equal(model_create(&m, &bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "even"));
    assert_int_equal(model_config_from_json(&bad, "{\"vocab\":64}", err, sizeof err), -1);
    assert_non_null(strstr(err, "d_model"));
}

/* A sequence's log-probs do not depend on its batch neighbours or on batch growth. */
static void test_batch_independence(void **s) {
    (void)s;
    ModelConfig cfg = micro_config(MLP_SWIGLU);
    Model m;
    char err[256];
    assert_int_equal(model_create(&m, &cfg, err, sizeof err), 0);
    model_init(&m, 4);
    Batch b;
    random_batch(&b, &m, 4, 8, 21);
    float alone[8];
    assert_int_equal(model_forward(&m, b.in + 16, b.tg + 16, NULL, 1.0f, 1, 8, err, sizeof err), 0);
    memcpy(alone, m.acts.logprobs, sizeof alone);
    assert_int_equal(model_forward(&m, b.in, b.tg, NULL, 1.0f, 4, 8, err, sizeof err), 0);
    for (int t = 0; t < 8; t++) assert_float_equal(m.acts.logprobs[16 + t], alone[t], 1e-5);
    free_batch(&b);
    model_free(&m);
}

/* Train `steps` steps on a fixed batch; returns the final loss. */
static double train_fixed(Model *m, AdamW *opt, Batch *b, int steps) {
    char err[256];
    for (int i = 0; i < steps; i++) {
        batch_loss(b);
        model_zero_grad(m);
        model_backward(m, b->in, b->w, b->denom);
        if (adamw_update(opt, m, NULL, NULL, err, sizeof err)) fail_msg("%s", err);
    }
    return batch_loss(b);
}

static void test_deterministic(void **s) {
    (void)s;
    ModelConfig cfg = micro_config(MLP_SWIGLU);
    Model m1, m2;
    AdamW o1, o2;
    char err[256];
    AdamWConfig ac = adamw_default_config();
    assert_int_equal(model_create(&m1, &cfg, err, sizeof err), 0);
    assert_int_equal(model_create(&m2, &cfg, err, sizeof err), 0);
    assert_int_equal(adamw_create(&o1, &ac, m1.num_params, err, sizeof err), 0);
    assert_int_equal(adamw_create(&o2, &ac, m2.num_params, err, sizeof err), 0);
    model_init(&m1, 99);
    model_init(&m2, 99);
    Batch b1, b2;
    random_batch(&b1, &m1, 2, 8, 1);
    random_batch(&b2, &m2, 2, 8, 1);
    train_fixed(&m1, &o1, &b1, 5);
    train_fixed(&m2, &o2, &b2, 5);
    assert_memory_equal(m1.params_memory, m2.params_memory, m1.num_params * sizeof(float));
    assert_memory_equal(o1.moments_memory, o2.moments_memory, 2 * o1.n * sizeof(float));
    free_batch(&b1); free_batch(&b2);
    model_free(&m1); model_free(&m2); adamw_free(&o1); adamw_free(&o2);
}

/* The tiny preset memorises one batch: loss below 0.05 within 300 steps. */
static void test_overfit_tiny(void **s) {
    (void)s;
    ModelConfig cfg;
    assert_int_equal(model_config_preset(&cfg, "tiny", 64, 32), 0);
    Model m;
    AdamW opt;
    char err[256];
    AdamWConfig ac = adamw_default_config();
    ac.lr = 3e-3f;
    ac.warmup_steps = 10;
    assert_int_equal(model_create(&m, &cfg, err, sizeof err), 0);
    assert_int_equal(adamw_create(&opt, &ac, m.num_params, err, sizeof err), 0);
    model_init(&m, 1);
    Batch b;
    random_batch(&b, &m, 4, 32, 77);
    for (int i = 0; i < 4 * 32; i++) b.w[i] = 1.0f; /* plain SFT: mask of ones, mean over tokens */
    b.denom = 4 * 32;
    double first = batch_loss(&b), loss = first;
    int steps = 0;
    while (steps < 300 && loss >= 0.05) { loss = train_fixed(&m, &opt, &b, 10); steps += 10; }
    printf("  overfit tiny: loss %.3f -> %.4f in %d steps\n", first, loss, steps);
    assert_true(loss < 0.05);
    free_batch(&b);
    model_free(&m);
    adamw_free(&opt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_swiglu),
        cmocka_unit_test(test_fd_gelu),
        cmocka_unit_test(test_weight_contract),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_batch_independence),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_overfit_tiny),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

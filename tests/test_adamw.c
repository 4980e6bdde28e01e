/* test_adamw: the optimizer does what torch.optim.AdamW does, on the schedule the
 * header promises, and a bad gradient can never reach the weights. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy/adamw.h"
#include "policy/rng.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static void assert_rel(double got, double want, double tol) {
    double scale = fabs(want) > 0 ? fabs(want) : 1.0;
    if (!(fabs(got - want) <= tol * scale))
        fail_msg("got %.9g, want %.9g (relative error %.3g > %.3g)", got, want, fabs(got - want) / scale, tol);
}

static void make_model(Model *m) {
    char err[256];
    ModelConfig c = { .vocab = 64, .d_model = 32, .n_layer = 2, .n_head = 2,
                      .max_seq = 16, .mlp_hidden = 96, .mlp = MLP_SWIGLU };
    assert_int_equal(model_create(m, &c, err, sizeof err), 0);
    model_init(m, 7);
}

/* Constant lr (no warm-up, no cosine) so the first update uses cfg.lr exactly. */
static AdamWConfig plain_config(float lr, float wd, float clip) {
    AdamWConfig c = adamw_default_config();
    c.lr = lr;
    c.weight_decay = wd;
    c.grad_clip = clip;
    c.warmup_steps = 0;
    c.total_steps = 0;
    return c;
}

static void make_opt(AdamW *opt, const AdamWConfig *c, const Model *m) {
    char err[256];
    assert_int_equal(adamw_create(opt, c, m->num_params, err, sizeof err), 0);
}

/* ---------------------------------------------------------------- schedule */

static void test_warmup_is_linear(void **state) {
    (void)state;
    AdamWConfig c = adamw_default_config();
    c.lr = 3e-4f;
    c.warmup_steps = 10;
    c.total_steps = 100;
    assert_true(adamw_lr_at(&c, 1) == c.lr / 10.0f);
    assert_rel(adamw_lr_at(&c, 5), c.lr * 0.5, 1e-6);
    assert_rel(adamw_lr_at(&c, 10), c.lr, 1e-6); /* warm-up ends at the full lr */
    /* Strictly increasing: no step of the warm-up repeats or drops. */
    for (long s = 2; s <= 10; s++) assert_true(adamw_lr_at(&c, s) > adamw_lr_at(&c, s - 1));
}

static void test_cosine_ends_at_min_lr(void **state) {
    (void)state;
    AdamWConfig c = adamw_default_config();
    c.lr = 1e-3f;
    c.min_lr_ratio = 0.1f;
    c.warmup_steps = 10;
    c.total_steps = 110;
    float min_lr = c.lr * c.min_lr_ratio;
    assert_true(adamw_lr_at(&c, 110) == min_lr);
    /* Training past total_steps keeps the floor, it does not come back up. */
    assert_true(adamw_lr_at(&c, 111) == min_lr);
    assert_true(adamw_lr_at(&c, 500) == min_lr);
    assert_rel(adamw_lr_at(&c, 60), (c.lr + min_lr) / 2.0, 1e-6); /* the midpoint */
    for (long s = 11; s <= 110; s++) assert_true(adamw_lr_at(&c, s) <= adamw_lr_at(&c, s - 1));
}

static void test_constant_after_warmup_without_cosine(void **state) {
    (void)state;
    AdamWConfig c = adamw_default_config();
    c.lr = 2e-4f;
    c.warmup_steps = 10;
    c.total_steps = 10; /* total <= warm-up: no decay phase */
    assert_rel(adamw_lr_at(&c, 10), c.lr, 1e-6);
    assert_true(adamw_lr_at(&c, 11) == c.lr);
    assert_true(adamw_lr_at(&c, 10000) == c.lr);
    c.total_steps = 3;
    assert_true(adamw_lr_at(&c, 50) == c.lr);
    c.warmup_steps = 0;
    c.total_steps = 0; /* the defaults: constant from the first step */
    assert_true(adamw_lr_at(&c, 1) == c.lr);
    assert_true(adamw_lr_at(&c, 12345) == c.lr);
}

/* ---------------------------------------------------------------- weight decay */

/* With zero gradients AdamW's step is pure decay, so it shows exactly where decay
 * applies: matmul weights shrink by (1 - lr*wd), wte and norms must not move. */
static void test_weight_decay_only_on_matmuls(void **state) {
    (void)state;
    Model m;
    AdamW opt;
    char err[256];
    make_model(&m);
    AdamWConfig c = plain_config(1e-2f, 0.1f, 1.0f);
    make_opt(&opt, &c, &m);
    float *before = malloc(m.num_params * sizeof(float));
    memcpy(before, m.params_memory, m.num_params * sizeof(float));
    model_zero_grad(&m);
    assert_int_equal(adamw_update(&opt, &m, NULL, NULL, err, sizeof err), 0);

    /* The factor as the code forms it in float; with FMA contraction the compiler
     * may fuse lr*wd into the subtraction, so either rounding is accepted. */
    volatile float lr_wd = c.lr * c.weight_decay;
    float decay = 1.0f - lr_wd, decay_fma = fmaf(-c.lr, c.weight_decay, 1.0f);
    assert_true(decay < 1.0f);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const float *p0 = model_tensor(&m, before, i), *p1 = model_tensor(&m, m.params_memory, i);
        for (size_t j = 0; j < m.param_sizes[i]; j++) {
            if (!model_param_decays(i)) {
                if (p1[j] != p0[j]) fail_msg("%s[%zu] changed without decay", model_param_names[i], j);
            } else if (p1[j] != p0[j] * decay && p1[j] != p0[j] * decay_fma) {
                fail_msg("%s[%zu]: %.9g, want %.9g * %.9g", model_param_names[i], j, p1[j], p0[j], decay);
            }
        }
    }
    /* The split the rule above relies on: wte and the norms are the non-decayed ones. */
    assert_false(model_param_decays(0));
    assert_false(model_param_decays(1) || model_param_decays(4) || model_param_decays(7));
    assert_true(model_param_decays(2) && model_param_decays(3) && model_param_decays(5) && model_param_decays(6));
    free(before);
    model_free(&m);
    adamw_free(&opt);
}

/* ---------------------------------------------------------------- the update rule */

/* Reference AdamW in double, torch.optim.AdamW semantics, for one element over
 * `steps` gradients. Hyperparameters are the float values the optimizer holds. */
typedef struct { double p, m, v; } RefState;

static void ref_step(RefState *s, double g, int t, const AdamWConfig *c, int decays) {
    double b1 = c->beta1, b2 = c->beta2, lr = c->lr, wd = decays ? c->weight_decay : 0.0;
    s->m = b1 * s->m + (1 - b1) * g;
    s->v = b2 * s->v + (1 - b2) * g * g;
    s->p = s->p * (1 - lr * wd) -
           lr / (1 - pow(b1, t)) * s->m / (sqrt(s->v) / sqrt(1 - pow(b2, t)) + c->eps);
}

static float grad_at(size_t j, int t) {
    /* Varied signs and magnitudes, different at each step, none zero. */
    return (float)(0.01 * sin(0.37 * (double)j + 1.3 * t) + 0.002 * t);
}

static void test_matches_hand_computed_adamw(void **state) {
    (void)state;
    Model m;
    AdamW opt;
    char err[256];
    make_model(&m);
    /* A large lr so the update is a large part of each parameter, not lost in its
     * rounding; no clipping, so the gradient goes in as given. */
    AdamWConfig c = plain_config(0.05f, 0.1f, 0.0f);
    make_opt(&opt, &c, &m);
    for (size_t j = 0; j < m.num_params; j++) m.params_memory[j] = 0.5f + 0.25f * (float)(j % 5);

    /* A few elements from every tensor: first, middle, last. */
    enum { PICKS = 3 * NUM_PARAM_TENSORS };
    size_t idx[PICKS];
    int dec[PICKS];
    RefState ref[PICKS];
    size_t off = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        size_t n = m.param_sizes[i], pick[3] = { 0, n / 2, n - 1 };
        for (int k = 0; k < 3; k++) {
            idx[3 * i + k] = off + pick[k];
            dec[3 * i + k] = model_param_decays(i);
            ref[3 * i + k] = (RefState){ m.params_memory[off + pick[k]], 0, 0 };
        }
        off += n;
    }
    for (int t = 1; t <= 3; t++) {
        for (size_t j = 0; j < m.num_params; j++) m.grads_memory[j] = grad_at(j, t);
        assert_int_equal(adamw_update(&opt, &m, NULL, NULL, err, sizeof err), 0);
        assert_int_equal(opt.step, t);
        for (int k = 0; k < PICKS; k++) {
            size_t j = idx[k];
            ref_step(&ref[k], m.grads_memory[j], t, &c, dec[k]);
            assert_rel(opt.m[j], ref[k].m, 1e-6);
            assert_rel(opt.v[j], ref[k].v, 1e-6);
            assert_rel(m.params_memory[j], ref[k].p, 1e-6);
        }
    }
    model_free(&m);
    adamw_free(&opt);
}

/* ---------------------------------------------------------------- clipping */

static void test_clipping_scales_gradient(void **state) {
    (void)state;
    Model m;
    AdamW opt;
    char err[256];
    make_model(&m);
    AdamWConfig c = plain_config(1e-3f, 0.1f, 1.0f);
    make_opt(&opt, &c, &m);
    /* Global norm exactly 10 (a 6-8-10 triangle), spread over two tensors. */
    model_zero_grad(&m);
    size_t a = 3, b = m.num_params - 5;
    m.grads_memory[a] = 6.0f;
    m.grads_memory[b] = -8.0f;
    double norm = 0;
    float lr = 0;
    assert_int_equal(adamw_update(&opt, &m, &norm, &lr, err, sizeof err), 0);
    assert_rel(norm, 10.0, 1e-6); /* the pre-clip norm, for logging */
    assert_true(lr == c.lr);
    double scale = 1.0 / (10.0 + 1e-6), b1 = c.beta1;
    assert_rel(opt.m[a], (1 - b1) * 6.0 * scale, 1e-6);
    assert_rel(opt.m[b], (1 - b1) * -8.0 * scale, 1e-6);
    assert_true(opt.m[a + 1] == 0.0f);
    model_free(&m);
    adamw_free(&opt);
}

/* Below the threshold the gradient must go in unscaled. */
static void test_no_clipping_below_threshold(void **state) {
    (void)state;
    Model m;
    AdamW opt;
    char err[256];
    make_model(&m);
    AdamWConfig c = plain_config(1e-3f, 0.1f, 1.0f);
    make_opt(&opt, &c, &m);
    model_zero_grad(&m);
    m.grads_memory[10] = 0.6f;
    m.grads_memory[20] = 0.7f;
    double norm = 0;
    assert_int_equal(adamw_update(&opt, &m, &norm, NULL, err, sizeof err), 0);
    assert_rel(norm, sqrt(0.6f * 0.6f + 0.7f * 0.7f), 1e-6);
    assert_rel(opt.m[10], (1 - (double)c.beta1) * 0.6f, 1e-6);
    assert_rel(opt.m[20], (1 - (double)c.beta1) * 0.7f, 1e-6);
    model_free(&m);
    adamw_free(&opt);
}

/* The norm decides clipping, so it must not change with the machine's core count:
 * a run must be reproducible at any OMP_NUM_THREADS. */
static void test_grad_norm_independent_of_threads(void **state) {
    (void)state;
    size_t n = 1u << 20;
    float *g = malloc(n * sizeof(float));
    assert_non_null(g);
    Rng r;
    rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) g[i] = rng_normal(&r) * 1e-3f;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    double one = adamw_grad_norm(g, n);
    omp_set_num_threads(2);
    double two = adamw_grad_norm(g, n);
    omp_set_num_threads(3); /* an uneven split of the blocks */
    double three = adamw_grad_norm(g, n);
    omp_set_num_threads(saved);
    assert_memory_equal(&one, &two, sizeof one);
    assert_memory_equal(&one, &three, sizeof one);
    double s = 0; /* and it is the norm */
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    assert_rel(one, sqrt(s), 1e-12);
    free(g);
}

/* ---------------------------------------------------------------- bad gradients */

/* One NaN or Inf (a blown-up loss) must not reach the weights or the moments,
 * and must not advance the schedule. */
static void check_nonfinite_grad_is_refused(float bad) {
    Model m;
    AdamW opt;
    char err[256] = "";
    make_model(&m);
    AdamWConfig c = plain_config(1e-3f, 0.1f, 1.0f);
    make_opt(&opt, &c, &m);
    for (size_t j = 0; j < m.num_params; j++) m.grads_memory[j] = grad_at(j, 1);
    assert_int_equal(adamw_update(&opt, &m, NULL, NULL, err, sizeof err), 0); /* non-zero moments */

    size_t n = m.num_params;
    float *p = malloc(n * sizeof(float)), *mom = malloc(2 * n * sizeof(float));
    memcpy(p, m.params_memory, n * sizeof(float));
    memcpy(mom, opt.moments_memory, 2 * n * sizeof(float));
    m.grads_memory[n / 3] = bad;
    double norm = 0;
    assert_int_equal(adamw_update(&opt, &m, &norm, NULL, err, sizeof err), -1);
    if (!strstr(err, "gradient norm")) fail_msg("error does not mention the gradient norm: %s", err);
    assert_false(isfinite(norm));
    assert_memory_equal(m.params_memory, p, n * sizeof(float));
    assert_memory_equal(opt.moments_memory, mom, 2 * n * sizeof(float));
    assert_int_equal(opt.step, 1);
    free(p);
    free(mom);
    model_free(&m);
    adamw_free(&opt);
}

static void test_nan_gradient_is_refused(void **state) { (void)state; check_nonfinite_grad_is_refused(NAN); }
static void test_inf_gradient_is_refused(void **state) { (void)state; check_nonfinite_grad_is_refused(-INFINITY); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warmup_is_linear),
        cmocka_unit_test(test_cosine_ends_at_min_lr),
        cmocka_unit_test(test_constant_after_warmup_without_cosine),
        cmocka_unit_test(test_weight_decay_only_on_matmuls),
        cmocka_unit_test(test_matches_hand_computed_adamw),
        cmocka_unit_test(test_clipping_scales_gradient),
        cmocka_unit_test(test_no_clipping_below_threshold),
        cmocka_unit_test(test_grad_norm_independent_of_threads),
        cmocka_unit_test(test_nan_gradient_is_refused),
        cmocka_unit_test(test_inf_gradient_is_refused),
    };
    /* The count of failed tests: non-zero exit on any failure. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

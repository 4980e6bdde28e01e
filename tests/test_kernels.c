/* Finite-difference checks of every layer's backward pass, on small shapes.
 * Each layer is wrapped in a scalar L = sum(r * output) with a fixed random r, so
 * dL/doutput = r and the layer's backward must return dL/dinput; the finite
 * difference of L must agree. Backwards documented to accumulate are called on
 * gradient buffers that already hold a value, which must survive. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "policy/kernels.h"
#include "tests/test_util.h"

#define PRE 0.25f /* what accumulating gradient buffers hold before backward */

static double dot_r(const float *out, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

static void sub_pre(float *g, size_t n) { for (size_t i = 0; i < n; i++) g[i] -= PRE; }
static void set_pre(float *g, size_t n) { for (size_t i = 0; i < n; i++) g[i] = PRE; }

/* ---------------------------------------------------------------- RMSNorm */

typedef struct { int N, C; float *x, *w, *out, *rstd, *r; } NormCtx;
static double norm_loss(void *p) {
    NormCtx *c = p;
    rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->N, c->C);
    return dot_r(c->out, c->r, (size_t)c->N * c->C);
}

static void test_rmsnorm_backward(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 1);
    NormCtx c = { .N = 5, .C = 16 };
    size_t n = (size_t)c.N * c.C;
    c.x = alloc_floats(n); c.w = alloc_floats(c.C); c.out = alloc_floats(n);
    c.rstd = alloc_floats(c.N); c.r = alloc_floats(n);
    fill_uniform(c.x, n, -2, 2, &rng); fill_uniform(c.w, c.C, 0.5f, 1.5f, &rng); fill_uniform(c.r, n, -1, 1, &rng);
    float *dx = alloc_floats(n), *dw = alloc_floats(c.C);
    set_pre(dx, n); set_pre(dw, c.C);
    norm_loss(&c);
    rmsnorm_backward(dx, dw, c.r, c.x, c.w, c.rstd, c.N, c.C);
    sub_pre(dx, n); sub_pre(dw, c.C);
    assert_true(grad_check("rmsnorm dx", norm_loss, &c, c.x, dx, n, 80, 1e-3f, 1e-3, 1e-2) <= 1.0);
    assert_true(grad_check("rmsnorm dw", norm_loss, &c, c.w, dw, c.C, 16, 1e-3f, 1e-3, 1e-2) <= 1.0);
    free(c.x); free(c.w); free(c.out); free(c.rstd); free(c.r); free(dx); free(dw);
}

/* ---------------------------------------------------------------- matmul */

typedef struct { int N, IC, OC; float *in, *W, *out, *r; } MatCtx;
static double mat_loss(void *p) {
    MatCtx *c = p;
    matmul_forward(c->out, c->in, c->W, c->N, c->IC, c->OC);
    return dot_r(c->out, c->r, (size_t)c->N * c->OC);
}

static void test_matmul_backward(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 2);
    MatCtx c = { .N = 6, .IC = 8, .OC = 12 };
    size_t ni = (size_t)c.N * c.IC, nw = (size_t)c.OC * c.IC, no = (size_t)c.N * c.OC;
    c.in = alloc_floats(ni); c.W = alloc_floats(nw); c.out = alloc_floats(no); c.r = alloc_floats(no);
    fill_uniform(c.in, ni, -1, 1, &rng); fill_uniform(c.W, nw, -1, 1, &rng); fill_uniform(c.r, no, -1, 1, &rng);
    float *din = alloc_floats(ni), *din_acc = alloc_floats(ni), *dW = alloc_floats(nw), *dW2 = alloc_floats(nw);
    set_pre(din, ni); set_pre(din_acc, ni); set_pre(dW, nw);
    matmul_backward(din, dW, c.r, c.in, c.W, c.N, c.IC, c.OC, 0);   /* din is set */
    matmul_backward(din_acc, dW2, c.r, c.in, c.W, c.N, c.IC, c.OC, 1); /* din accumulates */
    sub_pre(dW, nw); sub_pre(din_acc, ni);
    for (size_t i = 0; i < ni; i++) assert_float_equal(din[i], din_acc[i], 1e-6);
    assert_true(grad_check("matmul din", mat_loss, &c, c.in, din, ni, 48, 1e-3f, 1e-3, 1e-2) <= 1.0);
    assert_true(grad_check("matmul dW", mat_loss, &c, c.W, dW, nw, 96, 1e-3f, 1e-3, 1e-2) <= 1.0);
    free(c.in); free(c.W); free(c.out); free(c.r); free(din); free(din_acc); free(dW); free(dW2);
}

/* ---------------------------------------------------------------- RoPE and attention */

typedef struct { int B, T, C, NH; float *qkv, *work, *att, *out, *r, *cos_t, *sin_t; } AttCtx;

static void rope_tables(AttCtx *c) {
    int hs = c->C / c->NH, half = hs / 2;
    c->cos_t = alloc_floats((size_t)c->T * half);
    c->sin_t = alloc_floats((size_t)c->T * half);
    for (int t = 0; t < c->T; t++)
        for (int i = 0; i < half; i++) {
            double a = t * pow(10000.0, -2.0 * i / hs);
            c->cos_t[t * half + i] = (float)cos(a);
            c->sin_t[t * half + i] = (float)sin(a);
        }
}

static double rope_loss(void *p) {
    AttCtx *c = p;
    size_t n = (size_t)c->B * c->T * 3 * c->C;
    memcpy(c->work, c->qkv, n * sizeof(float));
    rope_forward(c->work, c->cos_t, c->sin_t, c->B, c->T, c->C, c->NH);
    return dot_r(c->work, c->r, n);
}

static void test_rope_backward(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 3);
    AttCtx c = { .B = 2, .T = 5, .C = 8, .NH = 2 };
    size_t n = (size_t)c.B * c.T * 3 * c.C;
    c.qkv = alloc_floats(n); c.work = alloc_floats(n); c.r = alloc_floats(n);
    rope_tables(&c);
    fill_uniform(c.qkv, n, -1, 1, &rng); fill_uniform(c.r, n, -1, 1, &rng);
    float *d = alloc_floats(n);
    memcpy(d, c.r, n * sizeof(float));
    rope_backward(d, c.cos_t, c.sin_t, c.B, c.T, c.C, c.NH);
    assert_true(grad_check("rope dqkv", rope_loss, &c, c.qkv, d, n, 240, 1e-3f, 1e-3, 1e-2) <= 1.0);
    /* position 0 is not rotated, and v is never touched */
    rope_loss(&c);
    for (int j = 0; j < 3 * c.C; j++) assert_float_equal(c.work[j], c.qkv[j], 0.0);
    for (int t = 0; t < c.T; t++)
        for (int j = 2 * c.C; j < 3 * c.C; j++)
            assert_float_equal(c.work[t * 3 * c.C + j], c.qkv[t * 3 * c.C + j], 0.0);
    free(c.qkv); free(c.work); free(c.r); free(c.cos_t); free(c.sin_t); free(d);
}

static double att_loss(void *p) {
    AttCtx *c = p;
    attention_forward(c->out, c->att, c->qkv, c->B, c->T, c->C, c->NH);
    return dot_r(c->out, c->r, (size_t)c->B * c->T * c->C);
}

static void test_attention_backward(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 4);
    AttCtx c = { .B = 2, .T = 6, .C = 8, .NH = 2 };
    size_t n = (size_t)c.B * c.T * 3 * c.C, no = (size_t)c.B * c.T * c.C, na = (size_t)c.B * c.NH * c.T * c.T;
    c.qkv = alloc_floats(n); c.out = alloc_floats(no); c.att = alloc_floats(na); c.r = alloc_floats(no);
    fill_uniform(c.qkv, n, -1.5f, 1.5f, &rng); fill_uniform(c.r, no, -1, 1, &rng);
    float *dqkv = alloc_floats(n), *datt = alloc_floats(na);
    set_pre(dqkv, n); /* attention_backward sets dqkv: PRE must be overwritten */
    att_loss(&c);
    attention_backward(dqkv, datt, c.r, c.qkv, c.att, c.B, c.T, c.C, c.NH);
    assert_true(grad_check("attention dqkv", att_loss, &c, c.qkv, dqkv, n, 288, 1e-3f, 1e-3, 1e-2) <= 1.0);
    /* causality: rows of the probabilities sum to 1 and nothing looks ahead */
    for (size_t bh = 0; bh < (size_t)c.B * c.NH; bh++)
        for (int t = 0; t < c.T; t++) {
            const float *p = c.att + (bh * c.T + t) * c.T;
            double s = 0.0;
            for (int j = 0; j < c.T; j++) { s += p[j]; if (j > t) assert_float_equal(p[j], 0.0, 0.0); }
            assert_float_equal(s, 1.0, 1e-5);
        }
    free(c.qkv); free(c.out); free(c.att); free(c.r); free(dqkv); free(datt);
}

/* Longer than one block of queries (policy/attention.c works in blocks of 64, with a
 * ragged last block): forward against a plain double-precision attention, backward
 * against finite differences. */
static void test_attention_blocks(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 44);
    AttCtx c = { .B = 1, .T = 150, .C = 8, .NH = 2 };
    int hs = c.C / c.NH;
    size_t n = (size_t)c.B * c.T * 3 * c.C, no = (size_t)c.B * c.T * c.C, na = (size_t)c.B * c.NH * c.T * c.T;
    c.qkv = alloc_floats(n); c.out = alloc_floats(no); c.att = alloc_floats(na); c.r = alloc_floats(no);
    fill_uniform(c.qkv, n, -1.5f, 1.5f, &rng); fill_uniform(c.r, no, -1, 1, &rng);
    att_loss(&c);
    double *s = calloc(c.T, sizeof(double));
    for (int h = 0; h < c.NH; h++)
        for (int t = 0; t < c.T; t++) {
            double mx = -1e300, sum = 0.0;
            for (int j = 0; j <= t; j++) {
                double d = 0.0;
                for (int i = 0; i < hs; i++) d += (double)c.qkv[t * 3 * c.C + h * hs + i] * c.qkv[j * 3 * c.C + c.C + h * hs + i];
                s[j] = d / sqrt((double)hs);
                mx = fmax(mx, s[j]);
            }
            for (int j = 0; j <= t; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
            for (int i = 0; i < hs; i++) {
                double y = 0.0;
                for (int j = 0; j <= t; j++) y += s[j] / sum * c.qkv[j * 3 * c.C + 2 * c.C + h * hs + i];
                assert_float_equal(c.out[t * c.C + h * hs + i], y, 1e-5);
            }
        }
    free(s);
    float *dqkv = alloc_floats(n), *datt = alloc_floats(na);
    set_pre(dqkv, n);
    attention_backward(dqkv, datt, c.r, c.qkv, c.att, c.B, c.T, c.C, c.NH);
    assert_true(grad_check("attention T=150 dqkv", att_loss, &c, c.qkv, dqkv, n, 400, 1e-3f, 1e-3, 1e-2) <= 1.0);
    free(c.qkv); free(c.out); free(c.att); free(c.r); free(dqkv); free(datt);
}

/* ---------------------------------------------------------------- MLP activations */

typedef struct { int N, F, swiglu; float *in, *out, *r; } ActCtx;
static double act_loss(void *p) {
    ActCtx *c = p;
    if (c->swiglu) swiglu_forward(c->out, c->in, c->N, c->F);
    else gelu_forward(c->out, c->in, c->N, c->F);
    return dot_r(c->out, c->r, (size_t)c->N * c->F);
}

static void check_activation(int swiglu) {
    Rng rng; rng_seed(&rng, 5 + swiglu);
    ActCtx c = { .N = 4, .F = 8, .swiglu = swiglu };
    size_t nin = (size_t)c.N * c.F * (swiglu ? 2 : 1), no = (size_t)c.N * c.F;
    c.in = alloc_floats(nin); c.out = alloc_floats(no); c.r = alloc_floats(no);
    fill_uniform(c.in, nin, -3, 3, &rng); fill_uniform(c.r, no, -1, 1, &rng);
    float *din = alloc_floats(nin);
    set_pre(din, nin);
    if (swiglu) swiglu_backward(din, c.r, c.in, c.N, c.F);
    else gelu_backward(din, c.r, c.in, c.N, c.F);
    assert_true(grad_check(swiglu ? "swiglu din" : "gelu din", act_loss, &c, c.in, din, nin, (int)nin,
                           1e-3f, 1e-3, 1e-2) <= 1.0);
    free(c.in); free(c.out); free(c.r); free(din);
}
static void test_swiglu_backward(void **state) { (void)state; check_activation(1); }
static void test_gelu_backward(void **state) { (void)state; check_activation(0); }

/* ---------------------------------------------------------------- weighted log-prob loss */

typedef struct { int N, V; float *logits, *logp, *lse, *w; int *tg; float denom; } LossCtx;
static double lp_loss(void *p) {
    LossCtx *c = p;
    return logprob_loss_forward(c->logp, c->lse, c->logits, c->tg, c->w, c->denom, c->N, c->V);
}

static void test_logprob_loss(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 7);
    LossCtx c = { .N = 6, .V = 10 };
    size_t n = (size_t)c.N * c.V;
    c.logits = alloc_floats(n); c.logp = alloc_floats(c.N); c.lse = alloc_floats(c.N); c.w = alloc_floats(c.N);
    c.tg = calloc(c.N, sizeof(int));
    fill_uniform(c.logits, n, -3, 3, &rng);
    float w[6] = { 1.0f, 0.0f, -0.7f, 2.5f, 0.0f, 0.3f }; /* advantages: signed, some zero */
    memcpy(c.w, w, sizeof w);
    for (int i = 0; i < c.N; i++) c.tg[i] = (i * 7) % c.V;
    c.denom = 4.0f;
    double loss = lp_loss(&c);
    /* logp against a direct double computation */
    double expect = 0.0;
    for (int i = 0; i < c.N; i++) {
        double s = 0.0;
        for (int j = 0; j < c.V; j++) s += exp((double)c.logits[i * c.V + j]);
        double lp = c.logits[i * c.V + c.tg[i]] - log(s);
        assert_float_equal(c.logp[i], lp, 1e-5);
        expect -= w[i] * lp;
    }
    assert_float_equal(loss, expect / c.denom, 1e-5);
    float *dl = alloc_floats(n);
    lp_loss(&c); /* the lse of the unperturbed logits */
    logprob_loss_backward(dl, c.logits, c.lse, c.tg, c.w, c.denom, c.N, c.V);
    assert_true(grad_check("loss dlogits", lp_loss, &c, c.logits, dl, n, (int)n, 1e-2f, 1e-3, 1e-2) <= 1.0);
    /* zero weight: no gradient at all */
    for (int j = 0; j < c.V; j++) assert_float_equal(dl[1 * c.V + j], 0.0, 0.0);
    free(c.logits); free(c.logp); free(c.lse); free(c.w); free(c.tg); free(dl);
}

/* ---------------------------------------------------------------- encoder */

static void test_encoder(void **state) {
    (void)state;
    Rng rng; rng_seed(&rng, 8);
    int N = 7, C = 5, V = 4, tok[7] = { 0, 3, 3, 1, 0, 3, 2 };
    float *wte = alloc_floats((size_t)V * C), *out = alloc_floats((size_t)N * C), *r = alloc_floats((size_t)N * C);
    float *dwte = alloc_floats((size_t)V * C);
    fill_uniform(wte, (size_t)V * C, -1, 1, &rng); fill_uniform(r, (size_t)N * C, -1, 1, &rng);
    encoder_forward(out, tok, wte, N, C);
    for (int i = 0; i < N; i++) assert_memory_equal(out + i * C, wte + tok[i] * C, C * sizeof(float));
    set_pre(dwte, (size_t)V * C);
    encoder_backward(dwte, r, tok, N, C);
    for (int v = 0; v < V; v++)
        for (int c = 0; c < C; c++) {
            float expect = PRE;
            for (int i = 0; i < N; i++) if (tok[i] == v) expect += r[i * C + c];
            assert_float_equal(dwte[v * C + c], expect, 1e-6);
        }
    free(wte); free(out); free(r); free(dwte);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rmsnorm_backward),
        cmocka_unit_test(test_matmul_backward),
        cmocka_unit_test(test_rope_backward),
        cmocka_unit_test(test_attention_backward),
        cmocka_unit_test(test_attention_blocks),
        cmocka_unit_test(test_swiglu_backward),
        cmocka_unit_test(test_gelu_backward),
        cmocka_unit_test(test_logprob_loss),
        cmocka_unit_test(test_encoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

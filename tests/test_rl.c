/* The RL arithmetic a user relies on: group advantages (GRPO, Dr. GRPO, RLOO), the
 * per-token weights of the clipped objective with its KL term (aggregations, masking,
 * clipping, the gradient by finite differences), unbiased pass@k against the binomial
 * formula, and the calculator tool with a real tokenizer. Expected values are computed
 * here by hand or from the definitions, never by the code under test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/rl_loss.h"
#include "engine/rollout.h"
#include "policy/tokenizer.h"

/* cmocka's assert_float_equal compares floats; these values need doubles. */
#define assert_near(a, b, tol)                                                                          \
    do {                                                                                                \
        double a_ = (double)(a), b_ = (double)(b);                                                      \
        if (!(fabs(a_ - b_) <= (double)(tol)))                                                          \
            fail_msg("%s = %.15g, expected %.15g (tolerance %g)", #a, a_, b_, (double)(tol));          \
    } while (0)

/* ---------------------------------------------------------------- advantages */

static void expect_adv(AdvantageKind kind, const double *r, int n_groups, int G, const double *want) {
    double adv[64];
    for (int i = 0; i < n_groups * G; i++) adv[i] = 12345.0;
    rl_advantages(kind, r, n_groups, G, adv);
    for (int i = 0; i < n_groups * G; i++) {
        if (fabs(adv[i] - want[i]) > 1e-9) fail_msg("kind %d: adv[%d] = %.12g, expected %.12g", (int)kind, i, adv[i], want[i]);
    }
}

/* Two groups of four: {1,0,0,1} (mean 0.5, sample sd sqrt(1/3)) and {1,1,1,0} (mean 0.75,
 * sample variance (3 * 0.0625 + 0.5625) / 3 = 0.25, sd 0.5). */
static const double R2[8] = { 1, 0, 0, 1, 1, 1, 1, 0 };

static void test_adv_grpo(void **s) {
    (void)s;
    double sd0 = sqrt(1.0 / 3.0) + 1e-4, sd1 = 0.5 + 1e-4;
    double want[8] = { 0.5 / sd0, -0.5 / sd0, -0.5 / sd0, 0.5 / sd0, 0.25 / sd1, 0.25 / sd1, 0.25 / sd1, -0.75 / sd1 };
    expect_adv(ADV_GRPO, R2, 2, 4, want);
    /* G = 2, {0, 1}: sample sd = sqrt(0.5) (population sd would be 0.5). */
    double r[2] = { 0, 1 }, w2[2] = { -0.5 / (sqrt(0.5) + 1e-4), 0.5 / (sqrt(0.5) + 1e-4) };
    expect_adv(ADV_GRPO, r, 1, 2, w2);
}

static void test_adv_dr_grpo(void **s) {
    (void)s;
    double want[8] = { 0.5, -0.5, -0.5, 0.5, 0.25, 0.25, 0.25, -0.75 };
    expect_adv(ADV_DR_GRPO, R2, 2, 4, want);
}

static void test_adv_rloo(void **s) {
    (void)s;
    /* r_i minus the mean of the other three: 1 - 1/3, 0 - 2/3; 1 - 2/3, 0 - 1. */
    double want[8] = { 2.0 / 3, -2.0 / 3, -2.0 / 3, 2.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, -1.0 };
    expect_adv(ADV_RLOO, R2, 2, 4, want);
    double r[3] = { 0.2, 0.5, 1.1 }, w3[3] = { 0.2 - 0.8, 0.5 - 0.65, 1.1 - 0.35 };
    expect_adv(ADV_RLOO, r, 1, 3, w3);
}

static void test_adv_degenerate(void **s) {
    (void)s;
    double same[5] = { 0.7, 0.7, 0.7, 0.7, 0.7 }, zero[5] = { 0 };
    double one[3] = { 1.0, 0.0, 0.3 };
    for (int k = ADV_GRPO; k <= ADV_RLOO; k++) {
        expect_adv((AdvantageKind)k, same, 1, 5, zero);   /* equal rewards: no signal */
        expect_adv((AdvantageKind)k, one, 3, 1, zero);    /* groups of one: advantage 0 */
    }
    AdvantageKind a;
    LossAgg g;
    assert_int_equal(rl_advantage_parse("dr_grpo", &a), 0);
    assert_int_equal(a, ADV_DR_GRPO);
    assert_int_equal(rl_advantage_parse("ppo", &a), -1);
    assert_int_equal(rl_agg_parse("seq_mean", &g), 0);
    assert_int_equal(g, AGG_SEQ_MEAN);
    assert_int_equal(rl_agg_parse("mean", &g), -1);
}

/* ---------------------------------------------------------------- policy weights */

enum { B2 = 2, T4 = 4 };
/* Row 0: three loss tokens then padding; row 1: a masked token, two loss tokens, padding. */
static const float MASK[B2 * T4] = { 1, 1, 1, 0, 0, 1, 1, 0 };
static const int LEN[B2] = { 3, 2 };
static const double ADV[B2] = { 0.7, -1.3 };
static const float LOGP[B2 * T4] = { -1.2f, -0.3f, -2.5f, -0.9f, -4.0f, -0.05f, -1.7f, -3.3f };

static void test_weights_ratio_one(void **s) {
    (void)s;
    float w[B2 * T4];
    PolicyLossConfig cfg = { .clip_low = 0.2, .clip_high = 0.28, .kl_beta = 0.0, .agg = AGG_TOKEN_MEAN, .max_new_tokens = 16 };

    PolicyLossStats st = { 0 };
    float D = rl_policy_weights(&cfg, LOGP, LOGP, NULL, MASK, ADV, LEN, B2, T4, w, &st);
    assert_near(D, 5.0, 0);
    for (int b = 0; b < B2; b++)
        for (int t = 0; t < T4; t++) {
            double want = MASK[b * T4 + t] ? ADV[b] : 0.0;
            assert_near(w[b * T4 + t], want, 1e-6);
        }
    assert_int_equal(st.tokens, 5);
    assert_int_equal(st.clipped_low + st.clipped_high, 0);
    assert_near(st.kl_sum, 0.0, 0);
    assert_near(st.objective, (3 * 0.7 + 2 * -1.3) / 5.0, 1e-9);

    cfg.agg = AGG_SEQ_MEAN;
    memset(&st, 0, sizeof st);
    D = rl_policy_weights(&cfg, LOGP, LOGP, NULL, MASK, ADV, LEN, B2, T4, w, &st);
    assert_near(D, 2.0, 0);
    for (int b = 0; b < B2; b++)
        for (int t = 0; t < T4; t++) {
            double want = MASK[b * T4 + t] ? ADV[b] / LEN[b] : 0.0;
            assert_near(w[b * T4 + t], want, 1e-6);
        }
    /* The mean over rows of each row's mean: (0.7 + -1.3) / 2. */
    assert_near(st.objective, (0.7 - 1.3) / 2.0, 1e-9);

    cfg.agg = AGG_CONSTANT;
    memset(&st, 0, sizeof st);
    D = rl_policy_weights(&cfg, LOGP, LOGP, NULL, MASK, ADV, LEN, B2, T4, w, &st);
    assert_near(D, 2.0 * 16, 0);
    for (int b = 0; b < B2; b++)
        for (int t = 0; t < T4; t++) assert_near(w[b * T4 + t], MASK[b * T4 + t] ? ADV[b] : 0.0, 1e-6);
    assert_near(st.objective, (3 * 0.7 + 2 * -1.3) / 32.0, 1e-9);
}

/* A masked token gets weight 0 whatever its log-probabilities (even a huge ratio or a
 * reference far away), and counts for nothing in the statistics. */
static void test_weights_masked(void **s) {
    (void)s;
    float lnew[2] = { -0.5f, 3.0f }, lold[2] = { -0.5f, -9.0f }, lref[2] = { -0.5f, -20.0f }, mask[2] = { 1, 0 };
    double adv[1] = { 2.0 };
    int len[1] = { 1 };
    float w[2] = { 99, 99 };
    PolicyLossConfig cfg = { .clip_low = 0.2, .clip_high = 0.2, .kl_beta = 0.5, .agg = AGG_TOKEN_MEAN, .max_new_tokens = 2 };
    PolicyLossStats st = { 0 };
    float D = rl_policy_weights(&cfg, lnew, lold, lref, mask, adv, len, 1, 2, w, &st);
    assert_near(D, 1.0, 0);
    assert_near(w[0], 2.0, 1e-6);     /* ratio 1, ref == new: no KL pull */
    assert_near(w[1], 0.0, 0);
    assert_int_equal(st.tokens, 1);
    assert_int_equal(st.clipped_low + st.clipped_high, 0);
    assert_near(st.kl_sum, 0.0, 1e-12);
}

/* One token: ratio r = exp(logp_new - logp_old) set exactly through logp_new. */
static void one_token(double ratio, double A, double clip_low, double clip_high, float *w, PolicyLossStats *st) {
    float lold = -1.0f;
    float lnew = (float)(-1.0 + log(ratio));
    float mask = 1.0f;
    int len = 1;
    PolicyLossConfig cfg = { .clip_low = clip_low, .clip_high = clip_high, .kl_beta = 0.0, .agg = AGG_TOKEN_MEAN,
                             .max_new_tokens = 1 };
    memset(st, 0, sizeof *st);
    rl_policy_weights(&cfg, &lnew, &lold, NULL, &mask, &A, &len, 1, 1, w, st);
}

static void test_weights_clipping(void **s) {
    (void)s;
    float w;
    PolicyLossStats st;
    /* A > 0, ratio above 1 + clip_high: the clipped branch is the min, no gradient. */
    one_token(1.5, 1.0, 0.2, 0.28, &w, &st);
    assert_near(w, 0.0, 0);
    assert_int_equal(st.clipped_high, 1);
    assert_int_equal(st.clipped_low, 0);
    assert_near(st.objective, 1.28, 1e-6);
    /* Asymmetric bounds: 1.25 is inside 1 + 0.28 but outside 1 + 0.2. */
    one_token(1.25, 1.0, 0.2, 0.28, &w, &st);
    assert_near(w, 1.25, 1e-5);
    assert_int_equal(st.clipped_high, 0);
    one_token(1.25, 1.0, 0.28, 0.2, &w, &st);
    assert_near(w, 0.0, 0);
    assert_int_equal(st.clipped_high, 1);
    /* A < 0, ratio below 1 - clip_low: clipped low. */
    one_token(0.5, -1.0, 0.2, 0.28, &w, &st);
    assert_near(w, 0.0, 0);
    assert_int_equal(st.clipped_low, 1);
    assert_int_equal(st.clipped_high, 0);
    assert_near(st.objective, -0.8, 1e-6);
    /* A > 0, ratio below 1 - clip_low: min(0.5 A, 0.8 A) is the unclipped 0.5 A, so the
     * gradient flows (ratio * A) and nothing counts as clipped. */
    one_token(0.5, 2.0, 0.2, 0.28, &w, &st);
    assert_near(w, 0.5 * 2.0, 1e-5);
    assert_int_equal(st.clipped_low + st.clipped_high, 0);
    assert_near(st.objective, 1.0, 1e-5);
    /* A < 0, ratio above 1 + clip_high: min(-1.5, -1.28) is unclipped too. */
    one_token(1.5, -1.0, 0.2, 0.28, &w, &st);
    assert_near(w, -1.5, 1e-5);
    assert_int_equal(st.clipped_low + st.clipped_high, 0);
    assert_near(st.objective, -1.5, 1e-5);
    /* Inside the band: ratio * A. */
    one_token(1.1, 0.3, 0.2, 0.28, &w, &st);
    assert_near(w, 1.1 * 0.3, 1e-6);
    assert_int_equal(st.clipped_low + st.clipped_high, 0);
}

static void test_weights_kl(void **s) {
    (void)s;
    const double beta = 0.1, A = 0.5, ratio = 1.1;
    float lold = -2.0f, lnew = (float)(-2.0 + log(ratio)), lref[3], mask = 1.0f, w;
    int len = 1;
    double ds[3] = { 0.3, -0.4, 0.0 };   /* ref - new */
    PolicyLossConfig cfg = { .clip_low = 0.2, .clip_high = 0.2, .kl_beta = beta, .agg = AGG_TOKEN_MEAN, .max_new_tokens = 1 };
    for (int i = 0; i < 3; i++) {
        lref[i] = (float)(lnew + ds[i]);
        double d = (double)lref[i] - (double)lnew;   /* what the float inputs really hold */
        double r = exp((double)lnew - (double)lold);
        PolicyLossStats st = { 0 };
        rl_policy_weights(&cfg, &lnew, &lold, &lref[i], &mask, &A, &len, 1, 1, &w, &st);
        assert_near(w, r * A - beta * (1.0 - exp(d)), 1e-6);
        assert_near(st.kl_sum, exp(d) - d - 1.0, 1e-9);
        assert_near(st.objective, r * A - beta * (exp(d) - d - 1.0), 1e-9);
    }
    /* Summed over tokens: k3 of each. A clipped token keeps only the KL term's weight. */
    float ln[3] = { -1.0f, -1.0f + (float)log(2.0), -0.5f }, lo[3] = { -1.0f, -1.0f, -0.5f };
    float lr[3] = { -1.2f, -0.9f, -0.1f }, mk[3] = { 1, 1, 1 }, ws[3];
    int l3 = 3;
    double a3 = 1.0, k3 = 0;
    for (int t = 0; t < 3; t++) {
        double d = (double)lr[t] - (double)ln[t];
        k3 += exp(d) - d - 1.0;
    }
    PolicyLossStats st = { 0 };
    rl_policy_weights(&cfg, ln, lo, lr, mk, &a3, &l3, 1, 3, ws, &st);
    assert_near(st.kl_sum, k3, 1e-9);
    assert_int_equal(st.clipped_high, 1);
    double d1 = (double)lr[1] - (double)ln[1];
    assert_near(ws[1], -beta * (1.0 - exp(d1)), 1e-6);
}

/* The objective as a function of logp_new: d objective / d logp_new[k] = weights[k] / D. */
typedef struct {
    PolicyLossConfig cfg;
    float *lnew, *lold, *lref, *mask, *w;
    double *adv;
    int *len, B, T;
} ObjCtx;

static double objective(ObjCtx *c) {
    PolicyLossStats st = { 0 };
    rl_policy_weights(&c->cfg, c->lnew, c->lold, c->lref, c->mask, c->adv, c->len, c->B, c->T, c->w, &st);
    return st.objective;
}

static void check_gradient(LossAgg agg) {
    enum { B = 2, T = 4 };
    /* Ratios chosen away from the clip bounds (0.8, 1.25): 1.1, 0.9, 1.6 (clipped for A > 0),
     * 0.5 (unclipped for A > 0), 1.0; row 1 has A < 0 with 0.6 (clipped) and 1.4 (not). */
    double ratios[B * T] = { 1.1, 0.9, 1.6, 0.5, 1.0, 0.6, 1.4, 1.0 };
    float lold[B * T] = { -1.0f, -2.0f, -0.7f, -1.5f, -3.0f, -0.4f, -1.1f, -2.2f };
    float lnew[B * T], lref[B * T], w[B * T], wscratch[B * T];
    float mask[B * T] = { 1, 1, 1, 1, 0, 1, 1, 1 };
    double adv[B] = { 0.8, -1.2 };
    int len[B] = { 4, 3 };
    for (int k = 0; k < B * T; k++) {
        lnew[k] = (float)(lold[k] + log(ratios[k]));
        lref[k] = lnew[k] + 0.3f * (float)((k % 3) - 1);
    }
    ObjCtx c = { .cfg = { .clip_low = 0.2, .clip_high = 0.25, .kl_beta = 0.05, .agg = agg, .max_new_tokens = 6 },
                 .lnew = lnew, .lold = lold, .lref = lref, .mask = mask, .w = wscratch, .adv = adv, .len = len,
                 .B = B, .T = T };
    PolicyLossStats st = { 0 };
    float D = rl_policy_weights(&c.cfg, lnew, lold, lref, mask, adv, len, B, T, w, &st);
    assert_int_equal(st.clipped_high, 1);
    assert_int_equal(st.clipped_low, 1);
    for (int k = 0; k < B * T; k++) {
        float x = lnew[k], h = 1e-3f;
        float xp = x + h, xm = x - h;
        lnew[k] = xp;
        double fp = objective(&c);
        lnew[k] = xm;
        double fm = objective(&c);
        lnew[k] = x;
        double fd = (fp - fm) / ((double)xp - (double)xm);
        double an = (double)w[k] / D;
        if (fabs(fd - an) > 1e-4 + 1e-3 * fabs(an))
            fail_msg("agg %d, token %d: finite difference %.8g, weights/D %.8g", (int)agg, k, fd, an);
    }
}

static void test_weights_gradient(void **s) {
    (void)s;
    check_gradient(AGG_TOKEN_MEAN);
    check_gradient(AGG_SEQ_MEAN);
    check_gradient(AGG_CONSTANT);
}

/* ---------------------------------------------------------------- pass@k */

static double binom(int n, int k) {
    if (k < 0 || k > n) return 0.0;
    double r = 1.0;
    for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
    return r;
}

static void test_pass_at_k(void **s) {
    (void)s;
    static const int cases[][3] = { { 10, 0, 5 }, { 10, 10, 5 }, { 10, 3, 1 }, { 5, 2, 2 }, { 8, 1, 4 },
                                    { 20, 4, 10 }, { 16, 5, 8 }, { 100, 7, 10 }, { 5, 4, 2 }, { 4, 1, 4 },
                                    { 1, 1, 1 }, { 1, 0, 1 }, { 50, 49, 1 }, { 30, 2, 29 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = cases[i][0], c = cases[i][1], k = cases[i][2];
        double want = 1.0 - binom(n - c, k) / binom(n, k);
        double got = rl_pass_at_k(n, c, k);
        if (fabs(got - want) > 1e-12) fail_msg("pass@%d (n %d, c %d) = %.15g, expected %.15g", k, n, c, got, want);
    }
    assert_near(rl_pass_at_k(10, 0, 5), 0.0, 0);
    assert_near(rl_pass_at_k(10, 10, 5), 1.0, 0);
    assert_near(rl_pass_at_k(10, 3, 1), 0.3, 1e-15);
    assert_near(rl_pass_at_k(5, 2, 2), 0.7, 1e-15);   /* 1 - 3/10 */
    assert_near(rl_pass_at_k(8, 1, 4), 0.5, 1e-15);   /* 1 - 35/70 */
    for (int n = 1; n <= 12; n++)
        for (int c = 0; c <= n; c++) assert_near(rl_pass_at_k(n, c, 1), (double)c / n, 1e-14);
}

/* ---------------------------------------------------------------- the calculator */

static Tokenizer tok;

static int setup_tok(void **state) {
    (void)state;
    static const char *corpus =
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May. Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute. "
        "She has 3*4 = <<3*4=12>>12 apples >> and << more. 7/2 = <<7/2=3.5>>3.5 hours.";
    size_t len = strlen(corpus);
    char err[256];
    if (tokenizer_train(&tok, &corpus, &len, 1, 320, err, sizeof err)) fail_msg("%s", err);
    return 0;
}

static int teardown_tok(void **state) {
    (void)state;
    tokenizer_free(&tok);
    return 0;
}

/* What the tool appends to text, decoded ("" when nothing). */
static int tool_text(const char *text, int cap, char *out, size_t outlen) {
    int ids[512];
    int n = calculator_tool(&tok, 0, text, strlen(text), ids, cap);
    assert_true(n >= 0 && n <= cap);
    out[0] = 0;
    if (n == 0) return 0;
    unsigned char *d;
    size_t dl;
    char err[128];
    assert_int_equal(tokenizer_decode(&tok, ids, (size_t)n, &d, &dl, err, sizeof err), 0);
    snprintf(out, outlen, "%.*s", (int)dl, (const char *)d);
    free(d);
    return n;
}

static void test_calculator(void **s) {
    (void)s;
    char got[256];
    assert_true(tool_text("x <<3*4=", 64, got, sizeof got) > 0);
    assert_string_equal(got, "12>>");
    /* arith_eval writes a terminating decimal for 7/2. */
    assert_true(tool_text("<<7/2=", 64, got, sizeof got) > 0);
    assert_string_equal(got, "3.5>>");
    assert_true(tool_text("so <<(2+3)*4-1=", 64, got, sizeof got) > 0);
    assert_string_equal(got, "19>>");
    assert_true(tool_text("<<1/3=", 64, got, sizeof got) > 0);
    assert_string_equal(got, "1/3>>");
    /* The last "<<" is the open one: an earlier closed annotation does not matter. */
    assert_true(tool_text("<<1+1=2>> then <<10-4=", 64, got, sizeof got) > 0);
    assert_string_equal(got, "6>>");

    assert_int_equal(tool_text("<<3*4=12>> and 5=", 64, got, sizeof got), 0);   /* closed */
    assert_int_equal(tool_text("<<3+=", 64, got, sizeof got), 0);               /* bad expression */
    assert_int_equal(tool_text("<<4/0=", 64, got, sizeof got), 0);              /* division by zero */
    assert_int_equal(tool_text("x <<3*4", 64, got, sizeof got), 0);             /* no '=' yet */
    assert_int_equal(tool_text("x <<3*4= ", 64, got, sizeof got), 0);           /* not ending in '=' */
    assert_int_equal(tool_text("x <<3*4 ", 64, got, sizeof got), 0);
    assert_int_equal(tool_text("x <<3*45", 64, got, sizeof got), 0);
    assert_int_equal(tool_text("3*4=", 64, got, sizeof got), 0);                /* no "<<" */
    assert_int_equal(tool_text("<<=", 64, got, sizeof got), 0);                 /* empty expression */
    assert_int_equal(tool_text("<<1=2=", 64, got, sizeof got), 0);              /* already has '=' */

    /* The result needs n tokens: a cap of n - 1 gets nothing, a cap of n all of it. */
    int n = tool_text("x <<123*4=", 64, got, sizeof got);
    assert_string_equal(got, "492>>");
    assert_true(n >= 4);   /* every digit is its own token */
    assert_int_equal(tool_text("x <<123*4=", n - 1, got, sizeof got), 0);
    assert_int_equal(tool_text("x <<123*4=", n, got, sizeof got), n);
    assert_int_equal(tool_text("x <<3*4=", 0, got, sizeof got), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adv_grpo),
        cmocka_unit_test(test_adv_dr_grpo),
        cmocka_unit_test(test_adv_rloo),
        cmocka_unit_test(test_adv_degenerate),
        cmocka_unit_test(test_weights_ratio_one),
        cmocka_unit_test(test_weights_masked),
        cmocka_unit_test(test_weights_clipping),
        cmocka_unit_test(test_weights_kl),
        cmocka_unit_test(test_weights_gradient),
        cmocka_unit_test(test_pass_at_k),
        cmocka_unit_test(test_calculator),
    };
    return cmocka_run_group_tests(tests, setup_tok, teardown_tok);
}

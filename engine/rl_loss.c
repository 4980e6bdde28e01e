/* rl_loss: advantages, per-token weights of the clipped objective, pass@k. */
#include "engine/rl_loss.h"
#include <math.h>
#include <string.h>

int rl_advantage_parse(const char *s, AdvantageKind *out) {
    if (!strcmp(s, "grpo")) *out = ADV_GRPO;
    else if (!strcmp(s, "dr_grpo")) *out = ADV_DR_GRPO;
    else if (!strcmp(s, "rloo")) *out = ADV_RLOO;
    else return -1;
    return 0;
}

int rl_agg_parse(const char *s, LossAgg *out) {
    if (!strcmp(s, "token_mean")) *out = AGG_TOKEN_MEAN;
    else if (!strcmp(s, "seq_mean")) *out = AGG_SEQ_MEAN;
    else if (!strcmp(s, "constant")) *out = AGG_CONSTANT;
    else return -1;
    return 0;
}

void rl_advantages(AdvantageKind kind, const double *rewards, int n_groups, int G, double *adv) {
    for (int g = 0; g < n_groups; g++) {
        const double *r = rewards + (size_t)g * G;
        double *a = adv + (size_t)g * G;
        if (G < 2) { for (int i = 0; i < G; i++) a[i] = 0.0; continue; }
        double sum = 0;
        for (int i = 0; i < G; i++) sum += r[i];
        double mean = sum / G;
        if (kind == ADV_RLOO) {
            for (int i = 0; i < G; i++) a[i] = r[i] - (sum - r[i]) / (G - 1);
            continue;
        }
        double var = 0;
        for (int i = 0; i < G; i++) var += (r[i] - mean) * (r[i] - mean);
        double sd = sqrt(var / (G - 1));
        for (int i = 0; i < G; i++) a[i] = kind == ADV_GRPO ? (r[i] - mean) / (sd + 1e-4) : r[i] - mean;
    }
}

float rl_policy_weights(const PolicyLossConfig *cfg, const float *logp_new, const float *logp_old,
                        const float *logp_ref, const float *mask, const double *adv, const int *len,
                        int B, int T, float *weights, PolicyLossStats *st) {
    long tokens = 0;
    for (int b = 0; b < B; b++) tokens += len[b];
    double D = cfg->agg == AGG_TOKEN_MEAN ? (double)tokens
             : cfg->agg == AGG_SEQ_MEAN   ? (double)B
                                          : (double)B * cfg->max_new_tokens;
    if (D <= 0) D = 1;
    for (int b = 0; b < B; b++) {
        double agg = cfg->agg == AGG_SEQ_MEAN ? (len[b] ? 1.0 / len[b] : 0.0) : 1.0;
        double A = adv[b];
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)b * T + t;
            weights[k] = 0.0f;
            if (mask[k] == 0.0f) continue;
            double ratio = exp((double)logp_new[k] - (double)logp_old[k]);
            double clipped_ratio = ratio;
            int low = 0, high = 0;
            if (ratio < 1.0 - cfg->clip_low) { clipped_ratio = 1.0 - cfg->clip_low; low = A < 0; }
            if (ratio > 1.0 + cfg->clip_high) { clipped_ratio = 1.0 + cfg->clip_high; high = A > 0; }
            /* min(ratio*A, clipped*A) picks the constant branch exactly when low or high. */
            double surrogate = fmin(ratio * A, clipped_ratio * A);
            double w = (low || high) ? 0.0 : ratio * A;
            if (logp_ref) {
                double d = (double)logp_ref[k] - (double)logp_new[k];
                double k3 = exp(d) - d - 1.0;
                st->kl_sum += k3;
                surrogate -= cfg->kl_beta * k3;
                w -= cfg->kl_beta * (1.0 - exp(d));
            }
            weights[k] = (float)(agg * w);
            st->objective += agg * surrogate / D;
            st->clipped_low += low;
            st->clipped_high += high;
            st->tokens++;
        }
    }
    return (float)D;
}

double rl_pass_at_k(int n, int c, int k) {
    if (k <= 0 || n <= 0) return 0.0;
    if (k > n) k = n;
    if (n - c < k) return 1.0;
    /* 1 - prod_{i = n-c+1}^{n} (1 - k / i), stable for large n. */
    double p = 1.0;
    for (int i = n - c + 1; i <= n; i++) p *= 1.0 - (double)k / i;
    return 1.0 - p;
}

/* rl_loss: advantages and the clipped policy-gradient loss, as per-token weights for the
 * model's backward pass.
 *
 * The model computes loss = -sum_{b,t} w[b,t] * logp[b,t] / D, whose gradient with
 * respect to each log-probability is -w/D. The PPO objective per token,
 *   min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A) - beta * k3,
 * ratio = exp(logp - logp_old), k3 = exp(ref - logp) - (ref - logp) - 1, has gradient
 * ratio * A where the ratio is not clipped (0 where it is) and -beta * (1 - exp(ref -
 * logp)) from the KL term. So after a forward pass gives logp, the weight of a token is
 *   w = agg * (clipped ? 0 : ratio * A) - agg * beta * (1 - exp(ref - logp)),
 * with agg and D from the loss aggregation:
 *   token_mean  agg 1,          D = loss tokens of the minibatch
 *   seq_mean    agg 1 / len_b,  D = sequences of the minibatch (mean of per-sequence means)
 *   constant    agg 1,          D = sequences * max_new_tokens (Dr. GRPO's constant) */
#ifndef RLVR_RL_LOSS_H
#define RLVR_RL_LOSS_H

typedef enum { ADV_GRPO, ADV_DR_GRPO, ADV_RLOO } AdvantageKind;
typedef enum { AGG_TOKEN_MEAN, AGG_SEQ_MEAN, AGG_CONSTANT } LossAgg;

/* Parse "grpo" | "dr_grpo" | "rloo" and "token_mean" | "seq_mean" | "constant"; -1 if unknown. */
int rl_advantage_parse(const char *s, AdvantageKind *out);
int rl_agg_parse(const char *s, LossAgg *out);

/* rewards and adv: (n_groups * G), group-major. grpo: (r - mean) / (std + 1e-4) with the
 * sample standard deviation (G - 1); dr_grpo: r - mean; rloo: r minus the mean of the
 * other G - 1 rewards. A group of one gets advantage 0. */
void rl_advantages(AdvantageKind kind, const double *rewards, int n_groups, int G, double *adv);

typedef struct {
    double clip_low, clip_high, kl_beta;
    LossAgg agg;
    int max_new_tokens;
} PolicyLossConfig;

typedef struct {
    double objective;   /* sum over tokens of agg * (surrogate - beta * k3) / D: minus the loss */
    double kl_sum;      /* sum of k3 over loss tokens (0 without a reference) */
    long tokens, clipped_low, clipped_high;
} PolicyLossStats;

/* One minibatch of B rows of T positions: logp_new from the forward pass, logp_old from
 * the rollout, logp_ref from the reference policy (NULL: no KL), mask 1 where the loss
 * applies (completion tokens chosen by the policy), adv per row, len per row (its loss
 * tokens). Writes weights (B, T) and returns D; adds to stats. */
float rl_policy_weights(const PolicyLossConfig *cfg, const float *logp_new, const float *logp_old,
                        const float *logp_ref, const float *mask, const double *adv, const int *len,
                        int B, int T, float *weights, PolicyLossStats *stats);

/* Unbiased pass@k from n samples with c correct (Chen et al., 2021): 1 - C(n-c, k) / C(n, k). */
double rl_pass_at_k(int n, int c, int k);

#endif

/* kernels: the layers of the transformer as forward/backward pairs.
 *
 * Each *_forward writes its output; each *_backward ACCUMULATES (+=) into the
 * gradients of its inputs and parameters unless its comment says it sets them, so
 * the model zeroes parameter gradients once per step and residual branches add up
 * naturally. N = B*T rows. Loops are parallelised so each thread writes its own rows
 * or its own channels: results do not depend on scheduling, only on the thread count
 * (through OpenBLAS's partitioning). */
#ifndef RLVR_KERNELS_H
#define RLVR_KERNELS_H
#include <stddef.h>

/* out (N, C) = wte[tokens]. */
void encoder_forward(float *out, const int *tokens, const float *wte, int N, int C);
/* dwte[tokens[i]] += dout[i]. */
void encoder_backward(float *dwte, const float *dout, const int *tokens, int N, int C);

/* out = x / sqrt(mean(x^2) + eps) * w, row by row; rstd (N) saved for backward. */
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C);
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                      const float *w, const float *rstd, int N, int C);

/* out (N, OC) = in (N, IC) @ W^T, W (OC, IC) as nn.Linear stores it. */
void matmul_forward(float *out, const float *in, const float *W, int N, int IC, int OC);
/* din (N, IC) = or += dout @ W (accumulate_din); dW (OC, IC) += dout^T @ in.
 * din may be NULL when the input needs no gradient. */
void matmul_backward(float *din, float *dW, const float *dout, const float *in,
                     const float *W, int N, int IC, int OC, int accumulate_din);

/* RoPE in place on the q and k blocks of qkv (B, T, 3C), interleaved pairs. */
void rope_forward(float *qkv, const float *cos_t, const float *sin_t, int B, int T, int C, int NH);
/* The inverse rotation, in place on the dq and dk blocks of dqkv. */
void rope_backward(float *dqkv, const float *cos_t, const float *sin_t, int B, int T, int C, int NH);

/* RoPE for rows at arbitrary positions: row r of qkv (R, 3C) sits at position pos[r]. */
void rope_rows_forward(float *qkv, const int *pos, const float *cos_t, const float *sin_t, int R, int C, int NH);

/* Causal multi-head attention. qkv (B, T, 3C) -> att probs (B, NH, T, T), out (B, T, C). */
void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
/* Sets dqkv (B, T, 3C); uses datt (B, NH, T, T) as scratch. */
void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH);

/* Attention for generation: row r's query (in qkv (R, 3C)) attends to keys and values
 * [0, pos[r]] of cache slot slot[r]; one layer's caches: keys (slots, NH, hs, max_seq),
 * transposed, and values (slots, NH, max_seq, hs).
 * scores: (R, NH, max_seq) scratch. Writes out (R, C). */
void attention_cached_forward(float *out, float *scores, const float *qkv, const float *kcache,
                              const float *vcache, const int *pos, const int *slot, int R, int C,
                              int NH, int max_seq);

/* SwiGLU: in (N, 2F) = [gate | up] -> out (N, F) = silu(gate) * up. */
void swiglu_forward(float *out, const float *in, int N, int F);
/* Sets din (N, 2F). */
void swiglu_backward(float *din, const float *dout, const float *in, int N, int F);
/* GELU, tanh approximation: in (N, F) -> out (N, F). */
void gelu_forward(float *out, const float *in, int N, int F);
/* Sets din. */
void gelu_backward(float *din, const float *dout, const float *in, int N, int F);

/* out = a + b, elementwise over n. */
void residual_forward(float *out, const float *a, const float *b, size_t n);

/* logprobs (N) = log softmax(logits)[targets]; returns -sum w*logp / denom
 * (w NULL means all ones), summed in double. Keeps each row's log-sum-exp in lse (N)
 * for the backward pass. */
double logprob_loss_forward(float *logprobs, float *lse, const float *logits, const int *targets,
                            const float *w, float denom, int N, int V);
/* Sets dlogits (N, V) = w/denom * (softmax(logits) - onehot(target)), with the lse the
 * forward pass kept. */
void logprob_loss_backward(float *dlogits, const float *logits, const float *lse, const int *targets,
                           const float *w, float denom, int N, int V);

#endif

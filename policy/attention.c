/* Rotary position embeddings and causal multi-head self-attention.
 *
 * Attention runs per (batch, head) pair, in parallel across pairs; each pair's
 * products go through OpenBLAS (called inside our OpenMP region, the OpenMP build of
 * OpenBLAS runs each call on the calling thread). q, k and v are read in place from
 * qkv (B, T, 3C) with a leading dimension of 3C: head h of q is columns h*hs..,
 * k is C further, v 2C further. */
#include "policy/kernels.h"
#include "policy/vecmath.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- RoPE */

/* Rotate each pair (x[2i], x[2i+1]) of every head of q and k in one row of qkv (3C) by
 * angle pos*freq_i, whose cos and sin are ct, st; sign = -1 rotates back (backward). */
static void rope_rotate_row(float *row, const float *ct, const float *st, int C, int NH, float sign) {
    int hs = C / NH, half = hs / 2;
    for (int blk = 0; blk < 2; blk++)          /* q, then k */
        for (int h = 0; h < NH; h++) {
            float *v = row + blk * C + h * hs;
            for (int i = 0; i < half; i++) {
                float c = ct[i], s = sign * st[i];
                float a = v[2 * i], bb = v[2 * i + 1];
                v[2 * i] = a * c - bb * s;
                v[2 * i + 1] = a * s + bb * c;
            }
        }
}

static void rope_rotate(float *qkv, const float *cos_t, const float *sin_t,
                        int B, int T, int C, int NH, float sign) {
    int half = C / NH / 2;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            rope_rotate_row(qkv + ((size_t)b * T + t) * 3 * C, cos_t + (size_t)t * half,
                            sin_t + (size_t)t * half, C, NH, sign);
}

void rope_forward(float *qkv, const float *cos_t, const float *sin_t, int B, int T, int C, int NH) {
    rope_rotate(qkv, cos_t, sin_t, B, T, C, NH, 1.0f);
}

void rope_backward(float *dqkv, const float *cos_t, const float *sin_t, int B, int T, int C, int NH) {
    /* The rotation is orthogonal: its transpose is the rotation by -angle. */
    rope_rotate(dqkv, cos_t, sin_t, B, T, C, NH, -1.0f);
}

void rope_rows_forward(float *qkv, const int *pos, const float *cos_t, const float *sin_t, int R, int C, int NH) {
    int half = C / NH / 2;
#pragma omp parallel for schedule(static) if ((size_t)R * C >= 16384)
    for (int r = 0; r < R; r++)
        rope_rotate_row(qkv + (size_t)r * 3 * C, cos_t + (size_t)pos[r] * half, sin_t + (size_t)pos[r] * half,
                        C, NH, 1.0f);
}

/* ---------------------------------------------------------------- attention */

/* Rows are processed in blocks of ATT_BLOCK queries; block [t0, t1) only needs keys
 * [0, t1), so the matmuls skip most of the masked upper triangle (at T = 256, 62% of the
 * full T x T work) while staying large enough for BLAS to run well. */
#define ATT_BLOCK 64

static void softmax_causal_rows(float *P, int t0, int t1, int T) {
    for (int t = t0; t < t1; t++) {
        float *p = P + (size_t)t * T;
        float mx = p[0], sum = 0.0f;
#pragma omp simd reduction(max : mx)
        for (int j = 1; j <= t; j++) mx = p[j] > mx ? p[j] : mx;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j <= t; j++) { p[j] = vexpf(p[j] - mx); sum += p[j]; }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j <= t; j++) p[j] *= inv;
        for (int j = t + 1; j < t1; j++) p[j] = 0.0f;
    }
}

void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * ld + h * hs, *k = q + C, *v = q + 2 * C;
            float *P = att + ((size_t)b * NH + h) * T * T;
            float *y = out + (size_t)b * T * C + h * hs;
            for (int t0 = 0; t0 < T; t0 += ATT_BLOCK) {
                int t1 = t0 + ATT_BLOCK < T ? t0 + ATT_BLOCK : T, m = t1 - t0;
                float *Pb = P + (size_t)t0 * T;
                /* S[t0:t1, 0:t1] = scale * q[t0:t1] k[0:t1]^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, t1, hs,
                            scale, q + (size_t)t0 * ld, ld, k, ld, 0.0f, Pb, T);
                softmax_causal_rows(P, t0, t1, T);
                for (int t = t0; t < t1; t++) memset(P + (size_t)t * T + t1, 0, (size_t)(T - t1) * sizeof(float));
                /* y[t0:t1] = P[t0:t1, 0:t1] v[0:t1] */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs, t1,
                            1.0f, Pb, T, v, ld, 0.0f, y + (size_t)t0 * C, C);
            }
        }
}

void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH) {
    int hs = C / NH, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * ld + h * hs, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + (size_t)b * T * ld + h * hs, *dk = dq + C, *dv = dq + 2 * C;
            const float *P = att + ((size_t)b * NH + h) * T * T;
            const float *dy = dout + (size_t)b * T * C + h * hs;
            float *dP = datt + ((size_t)b * NH + h) * T * T;
            /* The last block touches every key, so it runs first with beta 0 and sets
             * dk and dv; earlier blocks add into their prefix. */
            int last = (T - 1) / ATT_BLOCK * ATT_BLOCK;
            for (int t0 = last; t0 >= 0; t0 -= ATT_BLOCK) {
                int t1 = t0 + ATT_BLOCK < T ? t0 + ATT_BLOCK : T, m = t1 - t0;
                float beta = t0 == last ? 0.0f : 1.0f;
                const float *Pb = P + (size_t)t0 * T, *dyb = dy + (size_t)t0 * C;
                float *dPb = dP + (size_t)t0 * T;
                /* dP = dy v^T ; dv[0:t1] += P^T dy */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, t1, hs,
                            1.0f, dyb, C, v, ld, 0.0f, dPb, T);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, hs, m,
                            1.0f, Pb, T, dyb, C, beta, dv, ld);
                /* softmax backward: dS = P * (dP - sum_j P dP), times the score scale */
                for (int t = t0; t < t1; t++) {
                    const float *p = P + (size_t)t * T;
                    float *d = dP + (size_t)t * T;
                    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                    for (int j = 0; j <= t; j++) dot += p[j] * d[j];
#pragma omp simd
                    for (int j = 0; j <= t; j++) d[j] = p[j] * (d[j] - dot) * scale;
                    for (int j = t + 1; j < t1; j++) d[j] = 0.0f;
                }
                /* dq[t0:t1] = dS k[0:t1] ; dk[0:t1] += dS^T q[t0:t1] */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs, t1,
                            1.0f, dPb, T, k, ld, 0.0f, dq + (size_t)t0 * ld, ld);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, hs, m,
                            1.0f, dPb, T, q + (size_t)t0 * ld, ld, beta, dk, ld);
            }
        }
}

/* ---------------------------------------------------------------- attention over a KV cache */

/* One query row against keys [0, p] and values [0, p] of one head of one cache slot.
 * Keys are stored transposed, (hs, max_seq), so the scores accumulate as contiguous
 * vector FMAs across positions with no horizontal sums; values are (max_seq, hs) and
 * accumulate across the head dimension. Both reads stream: generation is bound by them. */
static void attend_row(float *y, float *scores, const float *q, const float *kt, const float *vc,
                       int p, int hs, int max_seq, float scale) {
    /* Scores in blocks of 32 positions: two independent 16-wide accumulators stay in
     * registers while the head dimension streams past (one would be bound by the latency
     * of its chain of FMAs; re-reading scores from memory would be worse). */
    int j0 = 0;
    for (; j0 + 32 <= p + 1; j0 += 32) {
        float a0[16] = {0}, a1[16] = {0};
        for (int i = 0; i < hs; i++) {
            const float *kr = kt + (size_t)i * max_seq + j0;
            float qi = q[i] * scale;
#pragma omp simd
            for (int jj = 0; jj < 16; jj++) { a0[jj] += qi * kr[jj]; a1[jj] += qi * kr[16 + jj]; }
        }
        for (int jj = 0; jj < 16; jj++) { scores[j0 + jj] = a0[jj]; scores[j0 + 16 + jj] = a1[jj]; }
    }
    for (int j = j0; j <= p; j++) {
        float s = 0.0f;
        for (int i = 0; i < hs; i++) s += q[i] * scale * kt[(size_t)i * max_seq + j];
        scores[j] = s;
    }
    float mx = scores[0], sum = 0.0f;
#pragma omp simd reduction(max : mx)
    for (int j = 1; j <= p; j++) mx = scores[j] > mx ? scores[j] : mx;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j <= p; j++) { scores[j] = vexpf(scores[j] - mx); sum += scores[j]; }
    float inv = 1.0f / sum;
    /* y = sum_j w_j v_j, 16 dimensions at a time in a register (accumulating in y itself
     * would make every position wait for the previous one's store). */
    int i0 = 0;
    for (; i0 + 16 <= hs; i0 += 16) {
        float acc[16] = {0};
        for (int j = 0; j <= p; j++) {
            const float *v = vc + (size_t)j * hs + i0;
            float w = scores[j] * inv;
#pragma omp simd
            for (int ii = 0; ii < 16; ii++) acc[ii] += w * v[ii];
        }
        for (int ii = 0; ii < 16; ii++) y[i0 + ii] = acc[ii];
    }
    for (int i = i0; i < hs; i++) {
        float s = 0.0f;
        for (int j = 0; j <= p; j++) s += scores[j] * inv * vc[(size_t)j * hs + i];
        y[i] = s;
    }
}

void attention_cached_forward(float *out, float *scores, const float *qkv, const float *kcache,
                              const float *vcache, const int *pos, const int *slot, int R, int C,
                              int NH, int max_seq) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)R * pos[R - 1] * C >= 65536)
    for (int r = 0; r < R; r++)
        for (int h = 0; h < NH; h++) {
            size_t base = ((size_t)slot[r] * NH + h) * max_seq * hs;
            attend_row(out + (size_t)r * C + h * hs, scores + ((size_t)r * NH + h) * max_seq,
                       qkv + (size_t)r * 3 * C + h * hs, kcache + base, vcache + base, pos[r], hs, max_seq, scale);
        }
}

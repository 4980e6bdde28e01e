/* Rotary position embeddings and causal multi-head self-attention.
 *
 * Attention runs per (batch, head) pair, in parallel across pairs; each pair's
 * products go through OpenBLAS (called inside our OpenMP region, the OpenMP build of
 * OpenBLAS runs each call on the calling thread). q, k and v are read in place from
 * qkv (B, T, 3C) with a leading dimension of 3C: head h of q is columns h*hs..,
 * k is C further, v 2C further. */
#include "policy/kernels.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- RoPE */

/* Rotate each pair (x[2i], x[2i+1]) of every head of q and k by angle pos*freq_i;
 * sign = +1 forward, -1 for the inverse rotation used by backward. */
static void rope_rotate(float *qkv, const float *cos_t, const float *sin_t,
                        int B, int T, int C, int NH, float sign) {
    int hs = C / NH, half = hs / 2;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *row = qkv + ((size_t)b * T + t) * 3 * C;
            const float *ct = cos_t + (size_t)t * half, *st = sin_t + (size_t)t * half;
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
}

void rope_forward(float *qkv, const float *cos_t, const float *sin_t, int B, int T, int C, int NH) {
    rope_rotate(qkv, cos_t, sin_t, B, T, C, NH, 1.0f);
}

void rope_backward(float *dqkv, const float *cos_t, const float *sin_t, int B, int T, int C, int NH) {
    /* The rotation is orthogonal: its transpose is the rotation by -angle. */
    rope_rotate(dqkv, cos_t, sin_t, B, T, C, NH, -1.0f);
}

/* ---------------------------------------------------------------- attention */

void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * ld + h * hs, *k = q + C, *v = q + 2 * C;
            float *P = att + ((size_t)b * NH + h) * T * T;
            /* S (T, T) = scale * q k^T; the upper triangle is computed and then masked:
             * cheaper than T separate calls at these sizes. */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs,
                        scale, q, ld, k, ld, 0.0f, P, T);
            for (int t = 0; t < T; t++) {
                float *p = P + (size_t)t * T;
                float mx = p[0];
                for (int j = 1; j <= t; j++) mx = p[j] > mx ? p[j] : mx;
                float sum = 0.0f;
                for (int j = 0; j <= t; j++) { p[j] = expf(p[j] - mx); sum += p[j]; }
                float inv = 1.0f / sum;
                for (int j = 0; j <= t; j++) p[j] *= inv;
                for (int j = t + 1; j < T; j++) p[j] = 0.0f;
            }
            /* y (T, hs) = P v */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T,
                        1.0f, P, T, v, ld, 0.0f, out + (size_t)b * T * C + h * hs, C);
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
            /* dP = dy v^T ; dv = P^T dy */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs,
                        1.0f, dy, C, v, ld, 0.0f, dP, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T,
                        1.0f, P, T, dy, C, 0.0f, dv, ld);
            /* softmax backward: dS = P * (dP - sum_j P dP), times the score scale */
            for (int t = 0; t < T; t++) {
                const float *p = P + (size_t)t * T;
                float *d = dP + (size_t)t * T;
                float dot = 0.0f;
                for (int j = 0; j <= t; j++) dot += p[j] * d[j];
                for (int j = 0; j <= t; j++) d[j] = p[j] * (d[j] - dot) * scale;
                for (int j = t + 1; j < T; j++) d[j] = 0.0f;
            }
            /* dq = dS k ; dk = dS^T q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T,
                        1.0f, dP, T, k, ld, 0.0f, dq, ld);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T,
                        1.0f, dP, T, q, ld, 0.0f, dk, ld);
        }
}

/* The elementwise and row-wise layers, and the matmul wrappers around OpenBLAS.
 * Attention and RoPE live in attention.c. */
#include "policy/kernels.h"
#include "policy/vecmath.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

#define RMS_EPS 1e-5f

/* Below this many elements a loop runs on the calling thread: waking the team costs
 * more than the work (it matters for generation, where a step is one row per sequence). */
#define PAR_MIN 16384

/* ---------------------------------------------------------------- encoder */

void encoder_forward(float *out, const int *tokens, const float *wte, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int i = 0; i < N; i++)
        memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, (size_t)C * sizeof(float));
}

void encoder_backward(float *dwte, const float *dout, const int *tokens, int N, int C) {
    /* Parallel over channels: two rows may share a token, so rows cannot be split
     * between threads, but each channel column is owned by one thread. */
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int c = 0; c < C; c++)
        for (int i = 0; i < N; i++)
            dwte[(size_t)tokens[i] * C + c] += dout[(size_t)i * C + c];
}

/* ---------------------------------------------------------------- RMSNorm */

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        float *oi = out + (size_t)i * C;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (int c = 0; c < C; c++) ss += xi[c] * xi[c];
        float r = 1.0f / sqrtf(ss / C + RMS_EPS);
        for (int c = 0; c < C; c++) oi[c] = xi[c] * r * w[c];
        rstd[i] = r;
    }
}

void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                      const float *w, const float *rstd, int N, int C) {
    /* y_c = w_c x_c r with r = (mean(x^2)+eps)^-1/2, so
     * dx_j = r w_j dy_j - r^3 x_j / C * sum_c dy_c w_c x_c. */
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C, *gi = dout + (size_t)i * C;
        float *dxi = dx + (size_t)i * C;
        float r = rstd[i], dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int c = 0; c < C; c++) dot += gi[c] * w[c] * xi[c];
        float k = r * r * r * dot / C;
        for (int c = 0; c < C; c++) dxi[c] += r * w[c] * gi[c] - k * xi[c];
    }
    /* dw_c = sum_i dy_ic x_ic r_i: each thread owns a block of channels. */
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += 16) {
        int c1 = c0 + 16 < C ? c0 + 16 : C;
        float acc[16] = {0};
        for (int i = 0; i < N; i++) {
            const float *xi = x + (size_t)i * C, *gi = dout + (size_t)i * C;
            for (int c = c0; c < c1; c++) acc[c - c0] += gi[c] * xi[c] * rstd[i];
        }
        for (int c = c0; c < c1; c++) dw[c] += acc[c - c0];
    }
}

/* ---------------------------------------------------------------- matmul */

void matmul_forward(float *out, const float *in, const float *W, int N, int IC, int OC) {
    if (N == 1) { /* single-stream generation: a matrix-vector product */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, OC, IC, 1.0f, W, IC, in, 1, 0.0f, out, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC,
                1.0f, in, IC, W, IC, 0.0f, out, OC);
}

void matmul_backward(float *din, float *dW, const float *dout, const float *in,
                     const float *W, int N, int IC, int OC, int accumulate_din) {
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC,
                    1.0f, dout, OC, W, IC, accumulate_din ? 1.0f : 0.0f, din, IC);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N,
                1.0f, dout, OC, in, IC, 1.0f, dW, IC);
}

/* ---------------------------------------------------------------- MLP activations */

static inline float sigmoidf(float x) { return 1.0f / (1.0f + vexpf(-x)); }

/* The row loops live in their own functions: inside an OpenMP region GCC reaches
 * captured variables through a shared struct that the stores might alias, and refuses
 * to vectorise; as plain arguments they are loaded once. */
static void swiglu_row(float *o, const float *g, const float *u, int F) {
#pragma omp simd
    for (int j = 0; j < F; j++) o[j] = g[j] * sigmoidf(g[j]) * u[j];
}

static void swiglu_row_backward(float *dg, float *du, const float *d, const float *g, const float *u, int F) {
#pragma omp simd
    for (int j = 0; j < F; j++) {
        float s = sigmoidf(g[j]);
        du[j] = d[j] * g[j] * s;
        dg[j] = d[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
    }
}

void swiglu_forward(float *out, const float *in, int N, int F) {
#pragma omp parallel for schedule(static) if ((size_t)N * 2 * F >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *g = in + (size_t)i * 2 * F;
        swiglu_row(out + (size_t)i * F, g, g + F, F);
    }
}

void swiglu_backward(float *din, const float *dout, const float *in, int N, int F) {
#pragma omp parallel for schedule(static) if ((size_t)N * 2 * F >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *g = in + (size_t)i * 2 * F;
        float *dg = din + (size_t)i * 2 * F;
        swiglu_row_backward(dg, dg + F, dout + (size_t)i * F, g, g + F, F);
    }
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

/* tanh through the vectorisable exp; the clamp keeps exp finite, and tanh is +-1 to
 * float precision beyond it. */
static inline float vtanhf(float y) {
    y = y < -10.0f ? -10.0f : (y > 10.0f ? 10.0f : y);
    return 1.0f - 2.0f / (1.0f + vexpf(2.0f * y));
}

static void gelu_row(float *o, const float *x, int F) {
#pragma omp simd
    for (int j = 0; j < F; j++)
        o[j] = 0.5f * x[j] * (1.0f + vtanhf(GELU_K * (x[j] + 0.044715f * x[j] * x[j] * x[j])));
}

static void gelu_row_backward(float *dx, const float *d, const float *x, int F) {
#pragma omp simd
    for (int j = 0; j < F; j++) {
        float th = vtanhf(GELU_K * (x[j] + 0.044715f * x[j] * x[j] * x[j]));
        float sech2 = 1.0f - th * th;
        dx[j] = d[j] * (0.5f * (1.0f + th) + 0.5f * x[j] * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * x[j] * x[j]));
    }
}

void gelu_forward(float *out, const float *in, int N, int F) {
#pragma omp parallel for schedule(static) if ((size_t)N * F >= PAR_MIN)
    for (int i = 0; i < N; i++) gelu_row(out + (size_t)i * F, in + (size_t)i * F, F);
}

void gelu_backward(float *din, const float *dout, const float *in, int N, int F) {
#pragma omp parallel for schedule(static) if ((size_t)N * F >= PAR_MIN)
    for (int i = 0; i < N; i++) gelu_row_backward(din + (size_t)i * F, dout + (size_t)i * F, in + (size_t)i * F, F);
}

/* ---------------------------------------------------------------- residual */

void residual_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* ---------------------------------------------------------------- weighted log-prob loss */

static float row_logsumexp(const float *x, int V) {
    float mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int j = 1; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < V; j++) s += vexpf(x[j] - mx);
    return mx + logf(s);
}

/* d = scale * softmax(l), given l's log-sum-exp (a row function: see swiglu_row). */
static void row_softmax_scaled(float *d, const float *l, float lse, float scale, int V) {
#pragma omp simd
    for (int j = 0; j < V; j++) d[j] = scale * vexpf(l[j] - lse);
}

double logprob_loss_forward(float *logprobs, float *lse, const float *logits, const int *targets,
                            const float *w, float denom, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *li = logits + (size_t)i * V;
        lse[i] = row_logsumexp(li, V);
        logprobs[i] = li[targets[i]] - lse[i];
    }
    /* Serial sum in double: deterministic whatever the thread count. */
    double loss = 0.0;
    for (int i = 0; i < N; i++) loss -= (double)(w ? w[i] : 1.0f) * logprobs[i];
    return loss / denom;
}

void logprob_loss_backward(float *dlogits, const float *logits, const float *lse, const int *targets,
                           const float *w, float denom, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *li = logits + (size_t)i * V;
        float *di = dlogits + (size_t)i * V;
        float scale = (w ? w[i] : 1.0f) / denom;
        if (scale == 0.0f) { memset(di, 0, (size_t)V * sizeof(float)); continue; }
        row_softmax_scaled(di, li, lse[i], scale, V);
        di[targets[i]] -= scale;
    }
}

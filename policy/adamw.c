#include "policy/adamw.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

AdamWConfig adamw_default_config(void) {
    AdamWConfig c = { .lr = 3e-4f, .min_lr_ratio = 0.1f, .beta1 = 0.9f, .beta2 = 0.95f,
                      .eps = 1e-8f, .weight_decay = 0.1f, .grad_clip = 1.0f,
                      .warmup_steps = 0, .total_steps = 0 };
    return c;
}

int adamw_create(AdamW *opt, const AdamWConfig *cfg, size_t n, char *err, size_t errlen) {
    memset(opt, 0, sizeof *opt);
    opt->cfg = *cfg;
    opt->n = n;
    opt->moments_memory = calloc(2 * n, sizeof(float));
    if (!opt->moments_memory) {
        snprintf(err, errlen, "adamw: out of memory for %zu moments", 2 * n);
        return -1;
    }
    opt->m = opt->moments_memory;
    opt->v = opt->moments_memory + n;
    return 0;
}

void adamw_free(AdamW *opt) {
    free(opt->moments_memory);
    memset(opt, 0, sizeof *opt);
}

float adamw_lr_at(const AdamWConfig *c, long step) {
    if (c->warmup_steps > 0 && step <= c->warmup_steps)
        return (float)((double)c->lr * step / c->warmup_steps);
    if (c->total_steps <= c->warmup_steps) return c->lr;
    double progress = (double)(step - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
    if (progress > 1.0) progress = 1.0;
    double min_lr = c->lr * c->min_lr_ratio;
    return (float)(min_lr + 0.5 * (c->lr - min_lr) * (1.0 + cos(M_PI * progress)));
}

#define NORM_BLOCK 65536

double adamw_grad_norm(const float *g, size_t n) {
    size_t nblocks = (n + NORM_BLOCK - 1) / NORM_BLOCK;
    double partial_stack[256], *partial = nblocks <= 256 ? partial_stack : malloc(nblocks * sizeof(double));
    if (!partial) { /* out of memory: the same block-by-block sum, serially */
        double s = 0.0;
        for (size_t b = 0; b < nblocks; b++) {
            size_t i0 = b * NORM_BLOCK, i1 = i0 + NORM_BLOCK < n ? i0 + NORM_BLOCK : n;
            double bs = 0.0;
            for (size_t i = i0; i < i1; i++) bs += (double)g[i] * g[i];
            s += bs;
        }
        return sqrt(s);
    }
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nblocks; b++) {
        size_t i0 = b * NORM_BLOCK, i1 = i0 + NORM_BLOCK < n ? i0 + NORM_BLOCK : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
        partial[b] = s;
    }
    double s = 0.0;
    for (size_t b = 0; b < nblocks; b++) s += partial[b];
    if (partial != partial_stack) free(partial);
    return sqrt(s);
}

int adamw_update(AdamW *opt, Model *model, double *grad_norm, float *lr_used, char *err, size_t errlen) {
    const AdamWConfig *c = &opt->cfg;
    double norm = adamw_grad_norm(model->grads_memory, model->num_params);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm)) {
        snprintf(err, errlen, "adamw: gradient norm is %g; update skipped", norm);
        return -1;
    }
    float clip = 1.0f;
    if (c->grad_clip > 0.0f && norm > c->grad_clip) clip = (float)(c->grad_clip / (norm + 1e-6));

    long t = ++opt->step;
    float lr = adamw_lr_at(c, t);
    if (lr_used) *lr_used = lr;
    float bc1 = 1.0f - powf(c->beta1, (float)t);
    float bc2_sqrt = sqrtf(1.0f - powf(c->beta2, (float)t));
    float step_size = lr / bc1;

    size_t off = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        size_t n = model->param_sizes[i];
        float *p = model->params_memory + off, *g = model->grads_memory + off;
        float *m = opt->m + off, *v = opt->v + off;
        float decay = model_param_decays(i) ? 1.0f - lr * c->weight_decay : 1.0f;
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < n; j++) {
            float gj = g[j] * clip;
            m[j] = c->beta1 * m[j] + (1.0f - c->beta1) * gj;
            v[j] = c->beta2 * v[j] + (1.0f - c->beta2) * gj * gj;
            float denom = sqrtf(v[j]) / bc2_sqrt + c->eps;
            p[j] = p[j] * decay - step_size * m[j] / denom;
        }
        off += n;
    }
    return 0;
}

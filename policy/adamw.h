/* adamw: the optimizer, its learning-rate schedule and global gradient clipping.
 *
 * AdamW with decoupled weight decay, exactly as torch.optim.AdamW computes it, applied
 * only to the matmul weights (model_param_decays): norms and the tied embedding are
 * not decayed. Before each update the global gradient norm is clipped to grad_clip.
 * The learning rate warms up linearly for warmup_steps, then follows a cosine from
 * lr down to lr * min_lr_ratio at total_steps (constant after warm-up if
 * total_steps <= 0). The moments m and v live in one allocation laid out like the
 * parameters. */
#ifndef RLVR_ADAMW_H
#define RLVR_ADAMW_H
#include "policy/model.h"
#include <stddef.h>

typedef struct {
    float lr, min_lr_ratio;
    float beta1, beta2, eps, weight_decay;
    float grad_clip;      /* <= 0: no clipping */
    long warmup_steps, total_steps;
} AdamWConfig;

typedef struct {
    AdamWConfig cfg;
    size_t n;
    float *moments_memory; /* m (n) then v (n) */
    float *m, *v;
    long step;             /* updates applied so far */
} AdamW;

/* Sensible defaults: lr 3e-4, betas (0.9, 0.95), eps 1e-8, weight decay 0.1, clip 1.0. */
AdamWConfig adamw_default_config(void);
int   adamw_create(AdamW *opt, const AdamWConfig *cfg, size_t n, char *err, size_t errlen);
void  adamw_free(AdamW *opt);
/* Learning rate for update number `step` (1-based). */
float adamw_lr_at(const AdamWConfig *cfg, long step);
/* Global L2 norm of a gradient blob, summed in double in fixed-size blocks so the
 * result does not depend on the thread count. */
double adamw_grad_norm(const float *g, size_t n);
/* Clip, then one update of m->params from m->grads. Writes the pre-clip norm and the
 * learning rate used. A non-finite gradient norm leaves parameters and moments
 * untouched and returns -1 with err set. */
int   adamw_update(AdamW *opt, Model *m, double *grad_norm, float *lr_used, char *err, size_t errlen);

#endif

/* train_common: what the SFT step (train_step.c) and the RL step (train_rl.c) share:
 * batch buffers, the optimiser's settings per stage, the update, drawing tasks that fit,
 * and the data-parallel gradient sum. Internal to the trainer. */
#ifndef RLVR_TRAIN_COMMON_H
#define RLVR_TRAIN_COMMON_H
#include "engine/trainer.h"

/* Room for n positions in the trainer's batch buffers. */
int  trainer_grow(Trainer *t, size_t n, char *err, size_t errlen);
/* The stage's learning rate (after its warm-up) and the optimiser's other settings. */
void trainer_set_optimizer(Trainer *t, const StageSettings *s);
/* One AdamW update from the gradients in t->m; STEP_SKIPPED_NONFINITE when the gradient
 * norm is not finite (parameters and moments untouched). */
int  trainer_update(Trainer *t, double *gnorm, float *lr);
/* The next task of stage si that fits the context (the others are skipped and counted). */
int  trainer_draw_fitting(Trainer *t, int si, Task *out, char *err, size_t errlen);
/* Sum every rank's gradient into every rank's buffer: one allreduce over the model's
 * single gradient buffer. Each rank divided its share's loss by the whole batch's
 * denominator, so the sum is the gradient one process computes over the whole batch, and
 * every rank then applies the same update. Nothing to do on one process. */
int  trainer_sync_grads(Trainer *t, char *err, size_t errlen);
/* The sum over the ranks of each rank's part of a loss; NaN on every rank when any
 * rank's part is not finite, so that all of them skip the same update. */
int  trainer_sum_parts(double part, double *total, char *err, size_t errlen);
/* A metric, or null when not finite (JSON has no NaN). */
void trainer_add_num(cJSON *o, const char *k, double v);

#endif

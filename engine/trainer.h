/* trainer: the state of a `rlvr train` run and its two kinds of step.
 *
 * An SFT step draws batch_size tasks from the current stage and trains on
 * prompt <|sep|> reference <|endoftext|> (loss on the reference and end tokens). An RL
 * step draws P prompts, samples G completions each (engine/rollout.h), scores them,
 * optionally drops groups whose rewards are all equal and draws more prompts to refill
 * the batch (dynamic sampling, within refill_budget extra rounds), computes advantages
 * and runs epochs x minibatches clipped policy-gradient updates (engine/rl_loss.h)
 * against the rollout's log-probabilities, with an optional k3 KL penalty to the
 * reference policy (the stage's starting weights). Every random choice derives from the
 * run's seed and the global step, so a resumed run repeats a run never stopped.
 *
 * Under mpirun both steps and trainer_eval are data-parallel: every rank draws the same
 * tasks, works on its share (engine/dist.h's dist_share) and the ranks combine what they
 * computed (gathered rewards, summed gradients), so every rank takes the step one process
 * would take. Every rank must call them together, in the same order. */
#ifndef RLVR_TRAINER_H
#define RLVR_TRAINER_H
#include "engine/rollout.h"
#include "engine/train_settings.h"
#include "lua/curriculum.h"
#include "policy/adamw.h"
#include "policy/model.h"
#include "policy/sampler.h"
#include "policy/tokenizer.h"
#include <cJSON.h>
#include <stdio.h>

typedef struct {
    Model m;
    Tokenizer tok;
    AdamW opt;
    Sampler smp;
    int have_model, have_opt, have_smp;
    Model ref;                 /* the KL reference: the weights the current stage began with */
    int have_ref;
    Curriculum *cur;
    RunSettings run;
    StageSettings *set;        /* per stage */
    WeightedVerifier (*ver)[ROLLOUT_MAX_VERIFIERS];   /* per stage */
    int *n_ver;
    const Verifier **eval_ver; /* per eval task */
    int threads;
    int calculator_off;        /* --no-calculator */
    long step;                 /* optimisation steps done (global) */
    int nan_streak;            /* updates skipped in a row for a non-finite loss or gradient */
    long too_long;             /* tasks skipped because they do not fit the context */
    FILE *samples;             /* samples.jsonl (may be NULL) */
    /* batch buffers, grown on demand: (rows * T) */
    size_t cap;
    int *in, *tg;
    float *w, *mask, *lp_old, *lp_ref;
} Trainer;

/* Step outcomes besides 0 (trained) and -1 (error, err set). */
#define STEP_SKIPPED_NONFINITE 1   /* the update was skipped: loss or gradient not finite */

/* Open a run's checkpoint (checkpoints/<ckpt> under dir) for more work: its config,
 * curriculum (the run's copy) and settings, model, optimizer, curriculum state, reference
 * policy, verifiers and sampler. *config_out and *state_out (the checkpoint's state) are
 * the caller's to free, also on failure. trainer_close frees what was opened. */
int  trainer_open(Trainer *t, const char *dir, const char *ckpt, cJSON **config_out, cJSON **state_out, char *err,
                  size_t errlen);
void trainer_close(Trainer *t);

/* One SFT / RL step of stage si; metrics receive the step's fields. */
int trainer_sft_step(Trainer *t, int si, cJSON *metrics, char *err, size_t errlen);
int trainer_rl_step(Trainer *t, int si, cJSON *metrics, char *err, size_t errlen);
/* Copy the current weights into the reference policy (creating it if needed). */
int trainer_snapshot_reference(Trainer *t, char *err, size_t errlen);
/* Every eval prompt must leave room for the evaluation's new tokens: checked at start,
 * so a run never fails at its first evaluation. */
int trainer_check_eval(Trainer *t, char *err, size_t errlen);
/* Greedy pass@1 (and mean length) on the curriculum's eval set. calculator: 1 on, 0 off.
 * by_group (may be NULL) receives "eval_pass_at_1/steps=K" for each value K of the
 * tasks' meta.steps when the set mixes several (likewise meta.distractors, meta.level). */
int trainer_eval(Trainer *t, int calculator, double *pass1, double *mean_len, cJSON *by_group, char *err, size_t errlen);

#endif

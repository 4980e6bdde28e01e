/* train_settings: every knob of a training run, resolved in one order:
 *   built-in defaults < curriculum `defaults` < the stage's own settings < --config FILE.
 * The names are the curriculum's (lua/curriculum_parse.c checks them in scripts); the
 * resolved values are written to the run's config.json, so a run states exactly what it
 * ran with. */
#ifndef RLVR_TRAIN_SETTINGS_H
#define RLVR_TRAIN_SETTINGS_H
#include "engine/rl_loss.h"
#include "lua/curriculum.h"
#include <cJSON.h>
#include <stddef.h>

typedef enum { TRUNC_KEEP, TRUNC_MASK, TRUNC_PENALIZE } TruncatedPolicy;

typedef struct {
    double temperature, top_p, lr, kl_beta, clip_low, clip_high, grad_clip, weight_decay;
    long group_size, prompts, batch_size, max_new_tokens, warmup, epochs, minibatches, refill_budget;
    AdvantageKind advantage;
    LossAgg loss_agg;
    TruncatedPolicy truncated;
    int dynamic_sampling, calculator;
} StageSettings;

typedef struct {
    char preset[16];
    long vocab, context, seed, eval_every, checkpoint_every, eval_max_new_tokens;
} RunSettings;

/* Resolve the run and every stage (stages: n_stages of them). cli may be NULL. */
int settings_resolve(const Curriculum *c, const cJSON *cli, RunSettings *run, StageSettings *stages,
                     char *err, size_t errlen);
/* {"run": {...}, "stages": [{"name":..,"mode":..,...}, ...]} */
cJSON *settings_to_json(const Curriculum *c, const RunSettings *run, const StageSettings *stages);

#endif

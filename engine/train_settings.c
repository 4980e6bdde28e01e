/* train_settings: defaults and the layering of settings objects. */
#include "engine/train_settings.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Built-in defaults. The learning rate depends on the mode: SFT from scratch wants 1e-3,
 * while GRPO on a policy this small was stable at 5e-5..1e-4 and collapsed at 3e-4. */
static void stage_defaults(StageSettings *s, StageMode mode) {
    *s = (StageSettings){ .temperature = 1.0, .top_p = 1.0, .lr = mode == STAGE_SFT ? 1e-3 : 1e-4,
                          .kl_beta = 0.0, .clip_low = 0.2, .clip_high = 0.28, .grad_clip = 1.0,
                          .weight_decay = 0.0, .group_size = 8, .prompts = 16, .batch_size = 16,
                          .max_new_tokens = 128, .warmup = 0, .epochs = 1, .minibatches = 1,
                          .refill_budget = 2, .advantage = ADV_GRPO, .loss_agg = AGG_TOKEN_MEAN,
                          .truncated = TRUNC_KEEP, .dynamic_sampling = 0, .calculator = 1 };
}

static const char *trunc_name(TruncatedPolicy t) { return t == TRUNC_MASK ? "mask" : t == TRUNC_PENALIZE ? "penalize" : "keep"; }
static const char *adv_name(AdvantageKind a) { return a == ADV_RLOO ? "rloo" : a == ADV_DR_GRPO ? "dr_grpo" : "grpo"; }
static const char *agg_name(LossAgg a) { return a == AGG_SEQ_MEAN ? "seq_mean" : a == AGG_CONSTANT ? "constant" : "token_mean"; }

#define NUM(key, field) else if (!strcmp(k, key)) { if (!cJSON_IsNumber(it)) goto bad; field = it->valuedouble; }
#define INT(key, field, lo) else if (!strcmp(k, key)) { \
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < (lo) || it->valuedouble > 1e9) goto bad; \
        field = (long)it->valuedouble; }

/* Apply the settings in obj. run may be NULL (stage-level objects cannot set run keys:
 * the curriculum's checks already refuse them there). */
static int apply(const cJSON *obj, const char *origin, RunSettings *run, StageSettings *s, char *err, size_t errlen) {
    const cJSON *it;
    RunSettings ignored;   /* run keys in the stage pass of `defaults` land here */
    RunSettings *R = run ? run : &ignored;
    cJSON_ArrayForEach(it, obj) {
        const char *k = it->string;
        if (0) {}
        NUM("temperature", s->temperature) NUM("top_p", s->top_p) NUM("lr", s->lr) NUM("kl_beta", s->kl_beta)
        NUM("clip_low", s->clip_low) NUM("clip_high", s->clip_high) NUM("grad_clip", s->grad_clip)
        NUM("weight_decay", s->weight_decay)
        INT("group_size", s->group_size, 1) INT("prompts", s->prompts, 1) INT("batch_size", s->batch_size, 1)
        INT("max_new_tokens", s->max_new_tokens, 1) INT("warmup", s->warmup, 0) INT("epochs", s->epochs, 1)
        INT("minibatches", s->minibatches, 1) INT("refill_budget", s->refill_budget, 0)
        else if (!strcmp(k, "advantage")) { if (!cJSON_IsString(it) || rl_advantage_parse(it->valuestring, &s->advantage)) goto bad; }
        else if (!strcmp(k, "loss_agg")) { if (!cJSON_IsString(it) || rl_agg_parse(it->valuestring, &s->loss_agg)) goto bad; }
        else if (!strcmp(k, "truncated")) {
            if (!cJSON_IsString(it)) goto bad;
            if (!strcmp(it->valuestring, "keep")) s->truncated = TRUNC_KEEP;
            else if (!strcmp(it->valuestring, "mask")) s->truncated = TRUNC_MASK;
            else if (!strcmp(it->valuestring, "penalize")) s->truncated = TRUNC_PENALIZE;
            else goto bad;
        }
        else if (!strcmp(k, "dynamic_sampling")) { if (!cJSON_IsBool(it)) goto bad; s->dynamic_sampling = cJSON_IsTrue(it); }
        else if (!strcmp(k, "calculator")) { if (!cJSON_IsBool(it)) goto bad; s->calculator = cJSON_IsTrue(it); }
        else if (!strcmp(k, "preset")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof R->preset) goto bad;
            snprintf(R->preset, sizeof R->preset, "%s", it->valuestring);
        }
        INT("vocab", R->vocab, 259) INT("context", R->context, 16)
        INT("seed", R->seed, 0) INT("eval_every", R->eval_every, 0)
        INT("checkpoint_every", R->checkpoint_every, 0)
        INT("eval_max_new_tokens", R->eval_max_new_tokens, 0)
        else { snprintf(err, errlen, "%s: unknown setting '%s'", origin, k); return -1; }
    }
    return 0;
bad:
    snprintf(err, errlen, "%s: setting '%s' has a bad value", origin, it->string);
    return -1;
}

int settings_resolve(const Curriculum *c, const cJSON *cli, RunSettings *run, StageSettings *stages,
                     char *err, size_t errlen) {
    *run = (RunSettings){ .preset = "tiny", .vocab = 512, .context = 256, .seed = 1, .eval_every = 50,
                          .checkpoint_every = 100, .eval_max_new_tokens = 0 };
    StageSettings scratch;
    stage_defaults(&scratch, STAGE_RL);
    if (apply(curriculum_defaults(c), "curriculum defaults", run, &scratch, err, errlen)) return -1;
    if (cli && apply(cli, "--config", run, &scratch, err, errlen)) return -1;
    for (int i = 0; i < curriculum_n_stages(c); i++) {
        const Stage *st = curriculum_stage(c, i);
        char origin[200];
        snprintf(origin, sizeof origin, "stage %s", st->name);
        stage_defaults(&stages[i], st->mode);
        if (apply(curriculum_defaults(c), "curriculum defaults", NULL, &stages[i], err, errlen) ||
            apply(st->overrides, origin, NULL, &stages[i], err, errlen) ||
            (cli && apply(cli, "--config", NULL, &stages[i], err, errlen)))
            return -1;
        StageSettings *s = &stages[i];
        if (s->temperature < 0 || !(s->top_p > 0 && s->top_p <= 1) || !(s->lr > 0) || s->kl_beta < 0 ||
            s->clip_low < 0 || s->clip_low >= 1 || s->clip_high < 0 || s->grad_clip < 0 || s->weight_decay < 0) {
            snprintf(err, errlen, "%s: a setting is out of range (temperature >= 0, 0 < top_p <= 1, lr > 0, kl_beta >= 0, "
                                  "0 <= clip_low < 1, clip_high >= 0, grad_clip >= 0, weight_decay >= 0)", origin);
            return -1;
        }
        if (s->refill_budget > 200) {
            snprintf(err, errlen, "%s: refill_budget must be at most 200", origin);
            return -1;
        }
        if (st->mode == STAGE_RL && s->group_size < 2) {
            snprintf(err, errlen, "%s: group_size must be at least 2 (advantages compare completions of one prompt)", origin);
            return -1;
        }
        if (s->max_new_tokens + 8 > run->context) {
            snprintf(err, errlen, "%s: max_new_tokens %ld does not fit the context of %ld", origin, s->max_new_tokens, run->context);
            return -1;
        }
    }
    return 0;
}

cJSON *settings_to_json(const Curriculum *c, const RunSettings *run, const StageSettings *stages) {
    cJSON *o = cJSON_CreateObject(), *r = cJSON_AddObjectToObject(o, "run"), *arr = cJSON_AddArrayToObject(o, "stages");
    if (!o || !r || !arr) { cJSON_Delete(o); return NULL; }
    cJSON_AddStringToObject(r, "preset", run->preset);
    cJSON_AddNumberToObject(r, "vocab", (double)run->vocab);
    cJSON_AddNumberToObject(r, "context", (double)run->context);
    cJSON_AddNumberToObject(r, "seed", (double)run->seed);
    cJSON_AddNumberToObject(r, "eval_every", (double)run->eval_every);
    cJSON_AddNumberToObject(r, "checkpoint_every", (double)run->checkpoint_every);
    cJSON_AddNumberToObject(r, "eval_max_new_tokens", (double)run->eval_max_new_tokens);
    for (int i = 0; i < curriculum_n_stages(c); i++) {
        const Stage *st = curriculum_stage(c, i);
        const StageSettings *s = &stages[i];
        cJSON *j = cJSON_CreateObject();
        if (!j) break;
        cJSON_AddItemToArray(arr, j);
        cJSON_AddStringToObject(j, "name", st->name);
        cJSON_AddStringToObject(j, "mode", st->mode == STAGE_SFT ? "sft" : "rl");
        if (st->steps) cJSON_AddNumberToObject(j, "steps", (double)st->steps);
        else {
            cJSON *p = cJSON_AddObjectToObject(j, "promote");
            cJSON_AddNumberToObject(p, "window", st->window);
            cJSON_AddNumberToObject(p, "threshold", st->threshold);
            cJSON_AddNumberToObject(p, "min_steps", (double)st->min_steps);
            cJSON_AddNumberToObject(p, "max_steps", (double)st->max_steps);
        }
        cJSON *v = cJSON_AddArrayToObject(j, "verifiers");
        for (int k = 0; k < st->n_verifiers; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", st->verifiers[k].name);
            cJSON_AddNumberToObject(e, "weight", st->verifiers[k].weight);
            cJSON_AddItemToArray(v, e);
        }
        cJSON *src = cJSON_AddArrayToObject(j, "sources");
        for (int k = 0; k < st->n_sources; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "source", st->sources[k].label);
            cJSON_AddNumberToObject(e, "weight", st->sources[k].weight);
            cJSON_AddItemToArray(src, e);
        }
        cJSON_AddNumberToObject(j, "lr", s->lr);
        cJSON_AddNumberToObject(j, "warmup", (double)s->warmup);
        cJSON_AddNumberToObject(j, "grad_clip", s->grad_clip);
        cJSON_AddNumberToObject(j, "weight_decay", s->weight_decay);
        cJSON_AddNumberToObject(j, "max_new_tokens", (double)s->max_new_tokens);
        cJSON_AddBoolToObject(j, "calculator", s->calculator);
        if (st->mode == STAGE_SFT) {
            cJSON_AddNumberToObject(j, "batch_size", (double)s->batch_size);
            continue;
        }
        cJSON_AddNumberToObject(j, "prompts", (double)s->prompts);
        cJSON_AddNumberToObject(j, "group_size", (double)s->group_size);
        cJSON_AddNumberToObject(j, "temperature", s->temperature);
        cJSON_AddNumberToObject(j, "top_p", s->top_p);
        cJSON_AddStringToObject(j, "advantage", adv_name(s->advantage));
        cJSON_AddStringToObject(j, "loss_agg", agg_name(s->loss_agg));
        cJSON_AddNumberToObject(j, "epochs", (double)s->epochs);
        cJSON_AddNumberToObject(j, "minibatches", (double)s->minibatches);
        cJSON_AddNumberToObject(j, "clip_low", s->clip_low);
        cJSON_AddNumberToObject(j, "clip_high", s->clip_high);
        cJSON_AddNumberToObject(j, "kl_beta", s->kl_beta);
        cJSON_AddBoolToObject(j, "dynamic_sampling", s->dynamic_sampling);
        cJSON_AddNumberToObject(j, "refill_budget", (double)s->refill_budget);
        cJSON_AddStringToObject(j, "truncated", trunc_name(s->truncated));
    }
    return o;
}

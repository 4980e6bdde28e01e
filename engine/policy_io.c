#include "engine/policy_io.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int policy_save(const char *path, const Model *m, const AdamW *opt, const Tokenizer *t, long step,
                uint64_t rng_state, const cJSON *state, char *err, size_t errlen) {
    char *tj = tokenizer_to_json(t);
    cJSON *extra = cJSON_CreateObject(), *tok = tj ? cJSON_Parse(tj) : NULL;
    free(tj);
    if (!extra || !tok) {
        cJSON_Delete(extra); cJSON_Delete(tok);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cJSON_AddItemToObject(extra, "tokenizer", tok);
    if (state) cJSON_AddItemToObject(extra, "state", cJSON_Duplicate(state, 1));
    char *extra_json = cJSON_PrintUnformatted(extra);
    cJSON_Delete(extra);
    if (!extra_json) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    CheckpointMeta meta = { .step = step, .rng_state = rng_state, .extra_json = extra_json };
    int rc = checkpoint_save(path, m, opt, &meta, err, errlen);
    free(extra_json);
    return rc;
}

int policy_load(const char *path, Model *m, Tokenizer *t, AdamW *opt, CheckpointMeta *meta,
                char **state_json, char *err, size_t errlen) {
    CheckpointMeta local;
    CheckpointMeta *mt = meta ? meta : &local;
    if (state_json) *state_json = NULL;
    memset(t, 0, sizeof *t);
    if (checkpoint_load(path, m, opt, mt, err, errlen)) return -1;
    cJSON *extra = mt->extra_json ? cJSON_Parse(mt->extra_json) : NULL;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(extra, "tokenizer");
    int rc = -1;
    if (!tok) {
        snprintf(err, errlen, "%s: checkpoint carries no tokenizer (was it written by rlvr sft or train?)", path);
        goto done;
    }
    char *tj = cJSON_PrintUnformatted(tok), origin[512];
    snprintf(origin, sizeof origin, "%s: tokenizer", path);
    int bad = !tj || tokenizer_from_json(t, tj, origin, err, errlen);
    free(tj);
    if (bad) goto done;
    if (t->vocab_size != m->cfg.vocab) {
        snprintf(err, errlen, "%s: tokenizer has %d tokens but the model's vocabulary is %d", path,
                 t->vocab_size, m->cfg.vocab);
        tokenizer_free(t);
        goto done;
    }
    if (state_json) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(extra, "state");
        *state_json = st ? cJSON_PrintUnformatted(st) : NULL;
    }
    rc = 0;
done:
    cJSON_Delete(extra);
    if (!meta) free(local.extra_json);
    if (rc) {
        model_free(m);
        if (opt) adamw_free(opt);
        if (meta) { free(meta->extra_json); meta->extra_json = NULL; }
    }
    return rc;
}

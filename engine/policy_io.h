/* policy_io: a policy on disk is a checkpoint that carries its tokenizer.
 *
 * The checkpoint's "extra" header object holds {"tokenizer": <the tokenizer file's
 * JSON>, ...engine state...}, so a checkpoint alone is enough to sample from, evaluate
 * or export; the vocabularies of model and tokenizer are checked to agree on load. */
#ifndef RLVR_POLICY_IO_H
#define RLVR_POLICY_IO_H
#include "policy/adamw.h"
#include "policy/checkpoint.h"
#include "policy/model.h"
#include "policy/tokenizer.h"
#include <cJSON.h>

/* opt may be NULL; state (may be NULL) is stored under "state". */
int policy_save(const char *path, const Model *m, const AdamW *opt, const Tokenizer *t, long step,
                uint64_t rng_state, const cJSON *state, char *err, size_t errlen);
/* opt may be NULL. *state_json (if state_json non-NULL) receives the "state" object as a
 * malloc'd string, or NULL. */
int policy_load(const char *path, Model *m, Tokenizer *t, AdamW *opt, CheckpointMeta *meta,
                char **state_json, char *err, size_t errlen);

#endif

/* checkpoint: the policy's weights and optimizer state on disk.
 *
 * Layout (little-endian):
 *   "RLVRCKPT" | u32 format version | u32 header length H | H bytes of JSON header |
 *   parameters (n float32) | AdamW m (n float32) | AdamW v (n float32) | u32 CRC-32
 * The header holds the model config, the parameter count, the training step, the RNG
 * state (a hex string: JSON numbers cannot carry 64 bits), the AdamW hyperparameters and
 * step (moments are present only if "adamw" is), and an optional "extra" object for the
 * engine's own state. The CRC-32 covers every byte before it.
 *
 * Files are written atomically (policy/atomicfile.h), so a crash leaves either the old
 * checkpoint or the new one.
 * Loading refuses, with one line naming the file and the problem, a file that is
 * truncated, corrupted (checksum), not a checkpoint (magic), or from a newer format. */
#ifndef RLVR_CHECKPOINT_H
#define RLVR_CHECKPOINT_H
#include "policy/adamw.h"
#include "policy/model.h"
#include <stdint.h>

#define CHECKPOINT_VERSION 1

typedef struct {
    long step;
    uint64_t rng_state;
    char *extra_json; /* a JSON object, or NULL; malloc'd by load, caller frees */
} CheckpointMeta;

/* opt may be NULL (weights only). */
int checkpoint_save(const char *path, const Model *m, const AdamW *opt, const CheckpointMeta *meta,
                    char *err, size_t errlen);
/* Creates *m (and *opt, if non-NULL and the file has moments; otherwise opt->n == 0)
 * from the file. On failure nothing is left allocated. */
int checkpoint_load(const char *path, Model *m, AdamW *opt, CheckpointMeta *meta,
                    char *err, size_t errlen);

#endif

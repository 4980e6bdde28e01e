/* decode: the model's forward pass for generation, with a KV cache.
 *
 * Training (model_forward) sees whole sequences and keeps every activation for the
 * backward pass; generation feeds a few new tokens per sequence and keeps only the keys
 * and values of the past. One call processes a batch of "rows": each row is one token of
 * one cache slot at one position, so the same call prefills prompts (many rows per slot)
 * and decodes (one row per slot), and the matmuls always see all rows at once.
 * Attention for a row at position p reads its slot's cache [0, p]: rows of one call are
 * written to the cache first, so a prompt's rows see each other causally.
 *
 * The arithmetic is the training forward's, so the log-probabilities of generated tokens
 * match what training computes for the same tokens (to float rounding; tested). */
#ifndef RLVR_DECODE_H
#define RLVR_DECODE_H
#include "policy/model.h"

typedef struct {
    const Model *model;
    int slots;            /* sequences the cache holds */
    float *key_cache;     /* (L, slots, NH, hs, max_seq): keys after RoPE, transposed */
    float *value_cache;   /* (L, slots, NH, max_seq, hs) */
    /* per-call scratch, grown on demand */
    int row_cap;
    float *scratch;
    float *x, *ln, *qkv, *atty, *tmp, *fch, *fch_act, *att; /* views into scratch */
} Decoder;

int  decoder_create(Decoder *d, const Model *m, int slots, char *err, size_t errlen);
void decoder_free(Decoder *d);
/* Run R rows: tokens[r] at position pos[r] of cache slot slot[r]. Rows of one slot must
 * be consecutive positions in increasing order. For the rows with want_logits[r] != 0
 * (NULL: all rows), writes their logits, in row order, to logits (n_wanted, V).
 * Returns -1 (err set) for a bad token, position or slot. */
int  decoder_forward(Decoder *d, const int *tokens, const int *pos, const int *slot, int R,
                     const unsigned char *want_logits, float *logits, char *err, size_t errlen);

#endif

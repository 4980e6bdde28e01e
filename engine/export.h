/* export: an rlvr checkpoint as files other programs read.
 *
 * llama2.c (karpathy/llama2.c's run.c) reads a "legacy" (version 0) model file: seven
 * int32 config fields, then float32 tensors in a fixed order, all in the host's byte
 * order because run.c mmaps the file and uses the floats in place. rlvr's policy is
 * llama2.c's architecture (tied embedding, interleaved-pair RoPE with theta 10000,
 * RMSNorm eps 1e-5, SwiGLU, no biases), so the export only re-orders tensors and is
 * exact: run.c computes the same logits as model_forward, to float rounding.
 *
 * The tokenizer goes next to the model in llama2.c's tokenizer.bin format when the
 * checkpoint carries one (its "extra" object's "tokenizer", policy/tokenizer.h's JSON).
 * run.c's own encoder is not ours (it adds a leading space, merges by score across
 * what we keep as separate chunks, and falls back to id byte+3 for non-ASCII bytes not
 * in the vocabulary), so a prompt typed into run.c may tokenize differently. run.c also
 * takes id 1 as its BOS: it starts every sequence with it and stops when it samples it;
 * for us id 1 is the byte 0x01, and <|endoftext|> does not stop it. */
#ifndef RLVR_EXPORT_H
#define RLVR_EXPORT_H
#include "policy/model.h"
#include "policy/tokenizer.h"
#include <stddef.h>

#define LLAMA2C_HEADER_INTS 7

typedef struct {
    int wrote_tokenizer;        /* 1 if tokenizer_path was written */
    char tokenizer_path[4096];
    char note[512];             /* why no tokenizer was written, when wrote_tokenizer == 0 */
} Llama2cExportInfo;

/* Load CKPT and write OUT (and the tokenizer next to it, if the checkpoint has one).
 * Refuses a GELU checkpoint: llama2.c has only SwiGLU. */
int export_llama2c(const char *ckpt, const char *out, char *err, size_t errlen);
/* The same, telling what happened to the tokenizer (info may be NULL). */
int export_llama2c_info(const char *ckpt, const char *out, Llama2cExportInfo *info,
                        char *err, size_t errlen);

/* The model file alone, written atomically. */
int llama2c_write_model(const Model *m, const char *out, char *err, size_t errlen);

/* Where the tokenizer of model file OUT goes: OUT without ".bin", plus ".tokenizer.bin"
 * (so several models can share a directory). Returns -1 if it does not fit in len. */
int llama2c_tokenizer_path(const char *out, char *buf, size_t len);

/* Write t as llama2.c's tokenizer.bin: int32 max_token_length, then for each id below
 * vocab a float32 score (-id), an int32 length and the token's bytes (bytes 0..255 as
 * single raw bytes, specials as their names, merges as their bytes). Ids from
 * t->vocab_size up to vocab get unused placeholder names. */
int llama2c_write_tokenizer(const Tokenizer *t, int vocab, const char *path, char *err, size_t errlen);

#endif

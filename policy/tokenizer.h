/* tokenizer: byte-level BPE, the policy's alphabet.
 *
 * Ids 0..255 are the 256 byte values, so any input (UTF-8 or binary) round-trips
 * exactly. 256, 257 and 258 are the special tokens <|endoftext|>, <|pad|> and <|sep|>
 * (the prompt/completion separator); encoding never produces them, so text that
 * spells "<|endoftext|>" is just bytes. Merges make ids 259, 260, ... vocab_size-1,
 * in the order they were learnt, which is also their priority when encoding.
 *
 * Chunks. Text is first cut into chunks and merges never cross a chunk boundary. With
 * letters = ASCII A-Z a-z and every byte >= 0x80 (so UTF-8 sequences stay together),
 * digits = 0-9, whitespace = space \t \n \v \f \r, punctuation = every other byte
 * (including control bytes such as 0x00), a chunk is, scanning left to right:
 *   - one digit;
 *   - an optional single space (0x20) followed by a run of letters;
 *   - an optional single space followed by a run of punctuation;
 *   - a run of whitespace, except that a space directly before a letter or
 *     punctuation byte is left to start that byte's chunk ("a \n  b" is "a", " \n ",
 *     " b"; a space before a digit stays in the whitespace run).
 * Any chunk stops after TOKENIZER_MAX_CHUNK bytes and the rest of its run starts a new
 * chunk: this bounds the cost of encoding pathological inputs (a megabyte without
 * spaces) to linear and the token length to 64 bytes. A digit is always a chunk of
 * its own, so no token ever contains a digit byte beside another byte: every number
 * is spelt digit by digit, which arithmetic needs.
 *
 * Encoding applies, inside each chunk, the lowest-ranked merge available, leftmost
 * first, until none applies (standard BPE). It reads the tokenizer only, so several
 * threads may encode with one Tokenizer at once.
 *
 * File format (JSON, written with one merge and one token per line):
 *   {"format": "rlvr-bpe", "version": 1, "vocab_size": 1024,
 *    "specials": {"<|endoftext|>": 256, "<|pad|>": 257, "<|sep|>": 258},
 *    "merges": [[a, b], ...],       merge i makes id 259 + i from ids a and b
 *    "tokens": ["...", ...]}        token 259 + i as text, for people reading the file
 * A token's text is its bytes where they are valid UTF-8, with a backslash written
 * "\\" and NUL or any byte outside valid UTF-8 written "\xNN" (so the file stays
 * UTF-8 for strict JSON readers); loading checks the tokens agree with the merges.
 * The version covers the chunk rule too: changing it would change every encoding, so
 * it needs a new version. All fields are required and no others are allowed. Loading
 * refuses, with one line naming the origin and the problem: invalid JSON, another
 * format, a newer version, missing or unknown fields, wrong specials, a merge of an
 * id not defined before it or of a special, a merge involving a digit, a duplicate
 * merge, a token longer than a chunk, vocab_size not 259 + merges, disagreeing tokens. */
#ifndef RLVR_TOKENIZER_H
#define RLVR_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>

enum {
    TOKENIZER_EOT = 256,         /* <|endoftext|> */
    TOKENIZER_PAD = 257,         /* <|pad|> */
    TOKENIZER_SEP = 258,         /* <|sep|> */
    TOKENIZER_FIRST_MERGE = 259, /* the first id a merge makes */
    TOKENIZER_MAX_VOCAB = 65536,
    TOKENIZER_MAX_CHUNK = 64,
};
#define TOKENIZER_FORMAT "rlvr-bpe"
#define TOKENIZER_VERSION 1

/* Open addressing from a pair of ids to an int (internal to tokenizer.c). */
typedef struct {
    uint64_t *keys;
    int *vals;
    size_t cap, used;
} TokenizerPairMap;

typedef struct {
    int vocab_size;              /* TOKENIZER_FIRST_MERGE + n_merges */
    int n_merges;
    int (*merges)[2];            /* merges[i]: the ids that merge into id 259 + i */
    unsigned char *bytes;        /* every token's bytes (specials: their names), concatenated */
    size_t *offset;              /* token id's bytes are bytes[offset[id] .. offset[id + 1]) */
    TokenizerPairMap merge_map;  /* (a, b) -> merged id; read-only once built */
} Tokenizer;

/* Learn vocab_size - 259 merges (vocab_size in [259, 65536]) from n texts: the most
 * frequent adjacent pair of tokens inside chunks is merged first, ties going to the
 * lowest (a, b). If the corpus runs out of pairs first, training stops early and
 * t->vocab_size says how far it got. Deterministic: the order of the texts does not
 * matter. On failure t is left empty (safe to free). */
int tokenizer_train(Tokenizer *t, const char *const *texts, const size_t *lens, size_t n,
                    int vocab_size, char *err, size_t errlen);

/* Parse and validate a tokenizer file's text; origin names it in errors (a path, or
 * e.g. "run.ckpt: tokenizer"). On failure t is left empty and err says what is wrong. */
int tokenizer_from_json(Tokenizer *t, const char *json, const char *origin, char *err, size_t errlen);
int tokenizer_load(Tokenizer *t, const char *path, char *err, size_t errlen);
/* The file's text, malloc'd; NULL only if out of memory. */
char *tokenizer_to_json(const Tokenizer *t);
/* Atomic: a temporary file in the same directory, fsync, rename. */
int tokenizer_save(const Tokenizer *t, const char *path, char *err, size_t errlen);
void tokenizer_free(Tokenizer *t);

/* Encode len bytes into out, which must hold len ints (there is never more than one
 * token per byte); returns the number of tokens. Adds no special tokens. */
size_t tokenizer_encode(const Tokenizer *t, const unsigned char *text, size_t len, int *out);
/* The length of the chunk starting at s (n > 0 bytes available), by the rule above. */
size_t tokenizer_chunk_len(const unsigned char *s, size_t n);

/* A token's bytes (specials give their names, e.g. "<|endoftext|>"), or NULL if id
 * is not in [0, vocab_size). Not NUL-terminated. */
const unsigned char *tokenizer_token_bytes(const Tokenizer *t, int id, size_t *len);
/* Decode n ids into a malloc'd buffer *out of *len bytes, followed by a NUL that *len
 * does not count (so text without NUL bytes is a C string). Specials decode to their
 * names. Fails on an id outside [0, vocab_size), naming its position. */
int tokenizer_decode(const Tokenizer *t, const int *ids, size_t n, unsigned char **out, size_t *len,
                     char *err, size_t errlen);

#endif

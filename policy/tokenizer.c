#include "policy/tokenizer.h"
#include "policy/tokenizer_internal.h"
#include "policy/atomicfile.h"
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const SPECIAL_NAMES[3] = { "<|endoftext|>", "<|pad|>", "<|sep|>" };
#define MAX_FILE_BYTES (256u << 20) /* a 65536-token file is a few MB; more is not ours */
#define NO_MERGE INT_MAX

/* ---------------------------------------------------------------- chunks */

enum { WHITESPACE, LETTER, DIGIT, PUNCT };

static int byte_class(unsigned char c) {
    if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return LETTER;
    if (c >= '0' && c <= '9') return DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return WHITESPACE;
    return PUNCT;
}

static int starts_run(unsigned char c) {
    int k = byte_class(c);
    return k == LETTER || k == PUNCT;
}

size_t tokenizer_chunk_len(const unsigned char *s, size_t n) {
    size_t cap = n < TOKENIZER_MAX_CHUNK ? n : TOKENIZER_MAX_CHUNK, i = 1;
    int k = byte_class(s[0]);
    if (k == DIGIT) return 1;
    if (s[0] == ' ' && n > 1 && starts_run(s[1])) {
        k = byte_class(s[1]);
        i = 2;
    } else if (k == WHITESPACE) {
        while (i < cap && byte_class(s[i]) == WHITESPACE) i++;
        /* Looking past the cap on purpose: the space goes with the word even when the
         * whitespace run was cut, so a long indent does not change how words encode. */
        if (i >= 2 && i < n && s[i - 1] == ' ' && starts_run(s[i])) i--;
        return i;
    }
    while (i < cap && byte_class(s[i]) == k) i++;
    return i;
}

/* ---------------------------------------------------------------- pair maps */

/* Open addressing from a pair of ids to an int. Used read-only by encoding (pair ->
 * merged id) and growing by training (pair -> its slot in the pair arrays). */
#define EMPTY_KEY UINT64_MAX

static uint64_t pair_key(int a, int b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

static size_t pair_hash(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

int pairmap_init(TokenizerPairMap *m, size_t min_entries) {
    size_t cap = 16;
    while (cap < 2 * min_entries) cap *= 2;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) { free(m->keys); free(m->vals); m->keys = NULL; m->vals = NULL; return -1; }
    for (size_t i = 0; i < cap; i++) m->keys[i] = EMPTY_KEY;
    m->cap = cap;
    m->used = 0;
    return 0;
}

void pairmap_free(TokenizerPairMap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t pairmap_slot(const TokenizerPairMap *m, uint64_t key) {
    size_t i = pair_hash(key) & (m->cap - 1);
    while (m->keys[i] != key && m->keys[i] != EMPTY_KEY) i = (i + 1) & (m->cap - 1);
    return i;
}

int pairmap_get(const TokenizerPairMap *m, int a, int b) {
    size_t i = pairmap_slot(m, pair_key(a, b));
    return m->keys[i] == EMPTY_KEY ? -1 : m->vals[i];
}

/* Inserts a key that is not in the map; grows to stay at most half full. */
int pairmap_put(TokenizerPairMap *m, int a, int b, int val) {
    if (2 * (m->used + 1) > m->cap) {
        TokenizerPairMap bigger;
        if (pairmap_init(&bigger, m->cap)) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != EMPTY_KEY) {
                size_t j = pairmap_slot(&bigger, m->keys[i]);
                bigger.keys[j] = m->keys[i];
                bigger.vals[j] = m->vals[i];
            }
        bigger.used = m->used;
        pairmap_free(m);
        *m = bigger;
    }
    size_t i = pairmap_slot(m, pair_key(a, b));
    m->keys[i] = pair_key(a, b);
    m->vals[i] = val;
    m->used++;
    return 0;
}

/* ---------------------------------------------------------------- building */

static size_t token_len(const Tokenizer *t, int id) { return t->offset[id + 1] - t->offset[id]; }

static int token_has_digit(const Tokenizer *t, int id) {
    for (size_t i = t->offset[id]; i < t->offset[id + 1]; i++)
        if (byte_class(t->bytes[i]) == DIGIT) return 1;
    return 0;
}

void tokenizer_free(Tokenizer *t) {
    free(t->merges);
    free(t->bytes);
    free(t->offset);
    pairmap_free(&t->merge_map);
    memset(t, 0, sizeof *t);
}

/* Fills t from merges[0..n), refusing (as a damaged file would be refused) a merge of
 * an id not defined before it, of a special token, of a token holding a digit, a
 * merge seen before, or one making a token no chunk could hold. */
int tokenizer_build(Tokenizer *t, const int (*merges)[2], int n, const char *origin,
                           char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    int vocab = TOKENIZER_FIRST_MERGE + n;
    t->merges = malloc((size_t)(n ? n : 1) * sizeof *t->merges);
    t->offset = malloc(((size_t)vocab + 1) * sizeof *t->offset);
    if (!t->merges || !t->offset || pairmap_init(&t->merge_map, (size_t)n)) goto oom;
    t->vocab_size = vocab;
    t->n_merges = n;
    if (n) memcpy(t->merges, merges, (size_t)n * sizeof *merges);

    /* First the lengths (which needs the ids checked), then the bytes themselves. */
    t->offset[0] = 0;
    for (int id = 0; id < vocab; id++) {
        size_t len = id < 256 ? 1 : id < TOKENIZER_FIRST_MERGE ? strlen(SPECIAL_NAMES[id - 256]) : 0;
        if (id >= TOKENIZER_FIRST_MERGE) {
            int i = id - TOKENIZER_FIRST_MERGE;
            for (int s = 0; s < 2; s++) {
                int x = merges[i][s];
                if (x < 0 || x >= id) {
                    snprintf(err, errlen, "%s: merge %d ([%d, %d]) refers to id %d, which is not defined before it (id %d)",
                             origin, i, merges[i][0], merges[i][1], x, id);
                    goto fail;
                }
                if (x >= 256 && x < TOKENIZER_FIRST_MERGE) {
                    snprintf(err, errlen, "%s: merge %d ([%d, %d]) involves the special token %s",
                             origin, i, merges[i][0], merges[i][1], SPECIAL_NAMES[x - 256]);
                    goto fail;
                }
                len += token_len(t, x);
            }
            if (len > TOKENIZER_MAX_CHUNK) {
                snprintf(err, errlen, "%s: merge %d ([%d, %d]) makes a token of %zu bytes, longer than any chunk (%d)",
                         origin, i, merges[i][0], merges[i][1], len, TOKENIZER_MAX_CHUNK);
                goto fail;
            }
        }
        t->offset[id + 1] = t->offset[id] + len;
    }
    t->bytes = malloc(t->offset[vocab]);
    if (!t->bytes) goto oom;
    for (int id = 0; id < vocab; id++) {
        unsigned char *dst = t->bytes + t->offset[id];
        if (id < 256) { *dst = (unsigned char)id; continue; }
        if (id < TOKENIZER_FIRST_MERGE) { memcpy(dst, SPECIAL_NAMES[id - 256], token_len(t, id)); continue; }
        int i = id - TOKENIZER_FIRST_MERGE, a = merges[i][0], b = merges[i][1];
        if (token_has_digit(t, a) || token_has_digit(t, b)) {
            snprintf(err, errlen, "%s: merge %d ([%d, %d]) involves a token containing a digit (digits are never merged)",
                     origin, i, a, b);
            goto fail;
        }
        int seen = pairmap_get(&t->merge_map, a, b);
        if (seen >= 0) {
            snprintf(err, errlen, "%s: merge %d ([%d, %d]) duplicates merge %d", origin, i, a, b,
                     seen - TOKENIZER_FIRST_MERGE);
            goto fail;
        }
        if (pairmap_put(&t->merge_map, a, b, id)) goto oom;
        memcpy(dst, t->bytes + t->offset[a], token_len(t, a));
        memcpy(dst + token_len(t, a), t->bytes + t->offset[b], token_len(t, b));
    }
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", origin);
fail:
    tokenizer_free(t);
    return -1;
}

/* ---------------------------------------------------------------- encode, decode */

/* BPE inside one chunk of n <= TOKENIZER_MAX_CHUNK bytes: merge the adjacent pair with
 * the lowest merged id (the earliest-learnt merge), leftmost first, until none is left.
 * rank[i] caches the pair (out[i], out[i + 1]), so a merge only looks up its two new
 * neighbours. Merging leftmost first is the same as the usual "every occurrence of the
 * best pair, left to right": a merge's new pairs always rank after it. */
static size_t encode_chunk(const Tokenizer *t, const unsigned char *s, size_t n, int *out) {
    int rank[TOKENIZER_MAX_CHUNK];
    for (size_t i = 0; i < n; i++) out[i] = s[i];
    for (size_t i = 0; i + 1 < n; i++) {
        int id = pairmap_get(&t->merge_map, out[i], out[i + 1]);
        rank[i] = id < 0 ? NO_MERGE : id;
    }
    while (n > 1) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == NO_MERGE) break;
        out[best] = rank[best];
        memmove(out + best + 1, out + best + 2, (n - best - 2) * sizeof *out);
        memmove(rank + best, rank + best + 1, (n - best - 2) * sizeof *rank);
        n--;
        for (size_t i = best ? best - 1 : 0; i <= best && i + 1 < n; i++) {
            int id = pairmap_get(&t->merge_map, out[i], out[i + 1]);
            rank[i] = id < 0 ? NO_MERGE : id;
        }
    }
    return n;
}

size_t tokenizer_encode(const Tokenizer *t, const unsigned char *text, size_t len, int *out) {
    size_t n = 0;
    for (size_t pos = 0; pos < len;) {
        size_t c = tokenizer_chunk_len(text + pos, len - pos);
        n += encode_chunk(t, text + pos, c, out + n);
        pos += c;
    }
    return n;
}

const unsigned char *tokenizer_token_bytes(const Tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->vocab_size) { *len = 0; return NULL; }
    *len = token_len(t, id);
    return t->bytes + t->offset[id];
}

int tokenizer_decode(const Tokenizer *t, const int *ids, size_t n, unsigned char **out, size_t *len,
                     char *err, size_t errlen) {
    *out = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab_size) {
            snprintf(err, errlen, "token %zu of %zu: id %d is outside the vocabulary [0, %d)", i, n, ids[i], t->vocab_size);
            return -1;
        }
        total += token_len(t, ids[i]);
    }
    unsigned char *buf = malloc(total + 1);
    if (!buf) { snprintf(err, errlen, "out of memory decoding %zu tokens", n); return -1; }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + k, t->bytes + t->offset[ids[i]], token_len(t, ids[i]));
        k += token_len(t, ids[i]);
    }
    buf[k] = 0;
    *out = buf;
    *len = k;
    return 0;
}

/* p reallocated (capacity doubling) to hold need items of elem bytes, *cap updated;
 * NULL if out of memory, p then still valid. */
void *tokenizer_grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(p, c * elem);
    if (q) *cap = c;
    return q;
}

/* ---------------------------------------------------------------- token text */

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) { len = 3; lo = 0xA0; }          /* no overlong forms */
    else if (c >= 0xE1 && c <= 0xEF) { len = 3; if (c == 0xED) hi = 0x9F; } /* no surrogates */
    else if (c == 0xF0) { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) { len = 4; hi = 0x8F; }          /* nothing past U+10FFFF */
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

/* A token's readable text (see the header) into out, which holds 4 * n + 1 bytes.
 * NUL is escaped too, so the text is a C string that says everything. */
static void token_text(const unsigned char *s, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t u = utf8_len(s + i, n - i);
        if (u && s[i] != 0 && s[i] != '\\') {
            memcpy(out + k, s + i, u);
            k += u;
            i += u;
        } else if (s[i] == '\\') {
            out[k++] = '\\'; out[k++] = '\\';
            i++;
        } else {
            out[k++] = '\\'; out[k++] = 'x'; out[k++] = hex[s[i] >> 4]; out[k++] = hex[s[i] & 15];
            i++;
        }
    }
    out[k] = 0;
}

/* ---------------------------------------------------------------- JSON out */

typedef struct { char *s; size_t n, cap; int failed; } Buf;

static void buf_printf(Buf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) { b->failed = 1; return; }
        if ((size_t)k < b->cap - b->n) { b->n += (size_t)k; return; }
        char *s = tokenizer_grow(b->s, &b->cap, b->n + (size_t)k + 1, 1);
        if (!s) { b->failed = 1; return; }
        b->s = s;
    }
}

/* Written by hand rather than with cJSON_Print so that each merge and each token gets
 * a line of its own (cJSON puts a whole array on one line); cJSON still escapes the
 * strings. */
char *tokenizer_to_json(const Tokenizer *t) {
    Buf b = { malloc(4096), 0, 4096, 0 };
    char *text = malloc(4 * TOKENIZER_MAX_CHUNK + 1);
    if (!b.s || !text) b.failed = 1;
    buf_printf(&b, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"vocab_size\": %d,\n  \"specials\": {",
               TOKENIZER_FORMAT, TOKENIZER_VERSION, t->vocab_size);
    for (int i = 0; i < 3; i++) buf_printf(&b, "%s\"%s\": %d", i ? ", " : "", SPECIAL_NAMES[i], 256 + i);
    buf_printf(&b, "},\n  \"merges\": [");
    for (int i = 0; i < t->n_merges; i++)
        buf_printf(&b, "%s\n    [%d, %d]", i ? "," : "", t->merges[i][0], t->merges[i][1]);
    buf_printf(&b, "%s],\n  \"tokens\": [", t->n_merges ? "\n  " : "");
    for (int i = 0; i < t->n_merges && !b.failed; i++) {
        int id = TOKENIZER_FIRST_MERGE + i;
        token_text(t->bytes + t->offset[id], token_len(t, id), text);
        cJSON *str = cJSON_CreateString(text);
        char *quoted = str ? cJSON_PrintUnformatted(str) : NULL;
        cJSON_Delete(str);
        if (!quoted) { b.failed = 1; break; }
        buf_printf(&b, "%s\n    %s", i ? "," : "", quoted);
        free(quoted);
    }
    buf_printf(&b, "%s]\n}\n", t->n_merges ? "\n  " : "");
    free(text);
    if (b.failed) { free(b.s); return NULL; }
    return b.s;
}

/* ---------------------------------------------------------------- JSON in */

/* x as an integer in [lo, hi]: a number with no fraction. */
static int json_int(const cJSON *x, long lo, long hi, long *out) {
    if (!cJSON_IsNumber(x)) return -1;
    double v = x->valuedouble;
    if (!(v >= (double)lo && v <= (double)hi) || v != (double)(long)v) return -1;
    *out = (long)v;
    return 0;
}

static int check_fields(const cJSON *root, const char *origin, char *err, size_t errlen) {
    static const char *const fields[] = { "format", "version", "vocab_size", "specials", "merges", "tokens" };
    enum { NF = sizeof fields / sizeof fields[0] };
    int seen[NF] = { 0 };
    for (const cJSON *c = root->child; c; c = c->next) {
        int f = 0;
        while (f < NF && strcmp(c->string, fields[f]) != 0) f++;
        if (f == NF) { snprintf(err, errlen, "%s: unknown field \"%.40s\"", origin, c->string); return -1; }
        if (seen[f]++) { snprintf(err, errlen, "%s: field \"%s\" appears twice", origin, fields[f]); return -1; }
    }
    for (int f = 0; f < NF; f++)
        if (!seen[f]) { snprintf(err, errlen, "%s: missing field \"%s\"", origin, fields[f]); return -1; }
    return 0;
}

static int check_header(const cJSON *root, const char *origin, long *vocab, char *err, size_t errlen) {
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(root, "specials");
    long v;
    if (!cJSON_IsString(format) || strcmp(format->valuestring, TOKENIZER_FORMAT) != 0) {
        snprintf(err, errlen, "%s: not an rlvr tokenizer (\"format\" is %s%.40s%s, expected \"%s\")", origin,
                 cJSON_IsString(format) ? "\"" : "not a string", cJSON_IsString(format) ? format->valuestring : "",
                 cJSON_IsString(format) ? "\"" : "", TOKENIZER_FORMAT);
        return -1;
    }
    if (json_int(version, 1, LONG_MAX / 2, &v)) {
        snprintf(err, errlen, "%s: \"version\" is not a positive integer", origin);
        return -1;
    }
    if (v > TOKENIZER_VERSION) {
        snprintf(err, errlen, "%s: tokenizer format version %ld is newer than this rlvr supports (%d); upgrade rlvr",
                 origin, v, TOKENIZER_VERSION);
        return -1;
    }
    if (json_int(cJSON_GetObjectItemCaseSensitive(root, "vocab_size"), TOKENIZER_FIRST_MERGE, TOKENIZER_MAX_VOCAB, vocab)) {
        snprintf(err, errlen, "%s: \"vocab_size\" is not an integer in [%d, %d]", origin, TOKENIZER_FIRST_MERGE,
                 TOKENIZER_MAX_VOCAB);
        return -1;
    }
    int ok = cJSON_IsObject(specials) && cJSON_GetArraySize(specials) == 3;
    for (int i = 0; ok && i < 3; i++) {
        long id;
        ok = !json_int(cJSON_GetObjectItemCaseSensitive(specials, SPECIAL_NAMES[i]), 256 + i, 256 + i, &id);
    }
    if (!ok) {
        snprintf(err, errlen, "%s: \"specials\" must be {\"%s\": 256, \"%s\": 257, \"%s\": 258}", origin,
                 SPECIAL_NAMES[0], SPECIAL_NAMES[1], SPECIAL_NAMES[2]);
        return -1;
    }
    return 0;
}

/* The merges as id pairs (malloc'd, *n of them), checked for shape and count only:
 * what they mean is tokenizer_build's to check. */
static int read_merges(const cJSON *root, long vocab, const char *origin, int (**out)[2], int *n,
                       char *err, size_t errlen) {
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(root, "merges");
    if (!cJSON_IsArray(merges)) { snprintf(err, errlen, "%s: \"merges\" is not an array", origin); return -1; }
    int count = cJSON_GetArraySize(merges);
    if (count != vocab - TOKENIZER_FIRST_MERGE) {
        snprintf(err, errlen, "%s: vocab_size %ld does not match the %d merges (%d + merges = %d)", origin, vocab,
                 count, TOKENIZER_FIRST_MERGE, TOKENIZER_FIRST_MERGE + count);
        return -1;
    }
    int (*m)[2] = malloc((size_t)(count ? count : 1) * sizeof *m);
    if (!m) { snprintf(err, errlen, "%s: out of memory", origin); return -1; }
    int i = 0;
    for (const cJSON *x = merges->child; x; x = x->next, i++) {
        long a, b;
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) != 2 || json_int(x->child, INT_MIN, INT_MAX, &a) ||
            json_int(x->child->next, INT_MIN, INT_MAX, &b)) {
            snprintf(err, errlen, "%s: merge %d is not a pair of integer ids [a, b]", origin, i);
            free(m);
            return -1;
        }
        m[i][0] = (int)a;
        m[i][1] = (int)b;
    }
    *out = m;
    *n = count;
    return 0;
}

/* The "tokens" list must spell what the merges make: it is what people read, and it
 * catches a hand edit of one without the other. */
static int check_tokens(const Tokenizer *t, const cJSON *root, const char *origin, char *err, size_t errlen) {
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    if (!cJSON_IsArray(tokens) || cJSON_GetArraySize(tokens) != t->n_merges) {
        snprintf(err, errlen, "%s: \"tokens\" must be an array of %d strings, one per merge", origin, t->n_merges);
        return -1;
    }
    char text[4 * TOKENIZER_MAX_CHUNK + 1];
    int i = 0;
    for (const cJSON *x = tokens->child; x; x = x->next, i++) {
        int id = TOKENIZER_FIRST_MERGE + i;
        token_text(t->bytes + t->offset[id], token_len(t, id), text);
        if (!cJSON_IsString(x) || strcmp(x->valuestring, text) != 0) {
            snprintf(err, errlen, "%s: tokens[%d] does not match merge %d ([%d, %d]), which makes \"%s\"", origin, i, i,
                     t->merges[i][0], t->merges[i][1], text);
            return -1;
        }
    }
    return 0;
}

int tokenizer_from_json(Tokenizer *t, const char *json, const char *origin, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    const char *end = NULL;
    cJSON *root = json ? cJSON_ParseWithOpts(json, &end, 1) : NULL;
    int (*merges)[2] = NULL, n = 0, rc = -1;
    long vocab = 0;
    if (!root) {
        snprintf(err, errlen, "%s: not valid JSON (error at byte %zu)", origin, json && end ? (size_t)(end - json) : 0);
        return -1;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not a tokenizer (the JSON is not an object)", origin);
    } else if (!check_fields(root, origin, err, errlen) && !check_header(root, origin, &vocab, err, errlen) &&
               !read_merges(root, vocab, origin, &merges, &n, err, errlen) &&
               !tokenizer_build(t, (const int (*)[2])merges, n, origin, err, errlen)) {
        rc = check_tokens(t, root, origin, err, errlen);
        if (rc) tokenizer_free(t);
    }
    free(merges);
    cJSON_Delete(root);
    return rc;
}

/* ---------------------------------------------------------------- files */

int tokenizer_load(Tokenizer *t, const char *path, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return -1;
    }
    if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: %lld bytes is too large for a tokenizer file", path, (long long)st.st_size);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) { snprintf(err, errlen, "%s: out of memory", path); fclose(f); return -1; }
    size_t got = fread(buf, 1, size, f);
    fclose(f);
    if (got != size) { snprintf(err, errlen, "%s: read failed", path); free(buf); return -1; }
    buf[size] = 0;
    /* cJSON stops at a NUL; what follows one would go unchecked. */
    if (strlen(buf) != size) {
        snprintf(err, errlen, "%s: not a tokenizer (NUL byte at offset %zu)", path, strlen(buf));
        free(buf);
        return -1;
    }
    int rc = tokenizer_from_json(t, buf, path, err, errlen);
    free(buf);
    return rc;
}

int tokenizer_save(const Tokenizer *t, const char *path, char *err, size_t errlen) {
    char *json = tokenizer_to_json(t);
    if (!json) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    AtomicFile af;
    int rc = atomic_open(&af, path, err, errlen);
    if (rc == 0) {
        atomic_write(&af, json, strlen(json));
        rc = atomic_commit(&af, err, errlen);
    }
    free(json);
    return rc;
}

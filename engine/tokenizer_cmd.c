/* rlvr tokenizer train: learns the policy's byte-level BPE vocabulary from corpus
 * files (see policy/tokenizer.h for the tokenizer and its file format). */
#include "engine/commands.h"
#include "tasks/dataset.h"
#include "engine/util.h"
#include "policy/tokenizer.h"
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *TOKENIZER_USAGE =
    "usage: rlvr tokenizer train --vocab N --out FILE CORPUS...\n"
    "\n"
    "Learns a byte-level BPE tokenizer of N tokens (259..65536: the 256 bytes, the\n"
    "specials <|endoftext|> <|pad|> <|sep|>, then merges) from the CORPUS files and\n"
    "saves it to FILE as JSON. In a .jsonl file, each line is a JSON object whose string\n"
    "fields question, answer, prompt, completion, text and reference are the text; any\n"
    "other file is read as raw bytes. Digits are never merged. If the corpus runs out\n"
    "of pairs first, the vocabulary is smaller than N and a note says so.\n"
    "\n"
    "Prints one JSON line: vocab_size, merges, corpus_bytes, corpus_tokens,\n"
    "bytes_per_token (on the corpus itself), train_seconds, out.\n";

static const char *const JSONL_FIELDS[] = { "question", "answer", "prompt", "completion", "text", "reference" };
#define N_JSONL_FIELDS (sizeof JSONL_FIELDS / sizeof JSONL_FIELDS[0])

/* Every text in one buffer; offsets rather than pointers because the buffer moves
 * as it grows. */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t *off, *lens;
    size_t n, n_cap;
} Corpus;

static void corpus_free(Corpus *c) {
    free(c->buf);
    free(c->off);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

static int corpus_add(Corpus *c, const char *s, size_t len) {
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 20;
        while (cap < c->len + len) cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) return -1;
        c->buf = b;
        c->cap = cap;
    }
    if (c->n == c->n_cap) {
        size_t cap = c->n_cap ? 2 * c->n_cap : 1024;
        size_t *off = realloc(c->off, cap * sizeof *off);
        if (!off) return -1;
        c->off = off;
        size_t *lens = realloc(c->lens, cap * sizeof *lens);
        if (!lens) return -1;
        c->lens = lens;
        c->n_cap = cap;
    }
    memcpy(c->buf + c->len, s, len);
    c->off[c->n] = c->len;
    c->lens[c->n++] = len;
    c->len += len;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* One line of a .jsonl file: its text fields, or an error naming file:line. */
static int add_jsonl_line(Corpus *c, const char *line, size_t len, const char *path, size_t lineno,
                          char *err, size_t errlen) {
    cJSON *j = dataset_parse_line(line, len);
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "%s:%zu: %s", path, lineno, j ? "not a JSON object" : "not valid JSON");
        cJSON_Delete(j);
        return -1;
    }
    int found = 0, rc = 0;
    for (size_t f = 0; f < N_JSONL_FIELDS && !rc; f++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, JSONL_FIELDS[f]);
        if (!x) continue;
        if (!cJSON_IsString(x)) {
            snprintf(err, errlen, "%s:%zu: field \"%s\" is not a string", path, lineno, JSONL_FIELDS[f]);
            rc = -1;
        } else if (corpus_add(c, x->valuestring, strlen(x->valuestring))) {
            snprintf(err, errlen, "%s:%zu: out of memory", path, lineno);
            rc = -1;
        }
        found++;
    }
    if (!rc && !found) {
        snprintf(err, errlen, "%s:%zu: none of the text fields (question, answer, prompt, completion, text, reference)",
                 path, lineno);
        rc = -1;
    }
    cJSON_Delete(j);
    return rc;
}

static int read_jsonl(Corpus *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue; /* a blank line, e.g. the last */
        rc = add_jsonl_line(c, line, (size_t)len, path, lineno, err, errlen);
    }
    if (!rc && ferror(f)) { snprintf(err, errlen, "%s: read failed", path); rc = -1; }
    free(line);
    fclose(f);
    return rc;
}

static int read_raw(Corpus *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) { free(buf); buf = NULL; break; }
            buf = b;
            cap *= 2;
        }
    }
    if (!buf) { snprintf(err, errlen, "%s: out of memory", path); rc = -1; }
    else if (ferror(f)) { snprintf(err, errlen, "%s: read failed", path); rc = -1; }
    else if (corpus_add(c, buf, n)) { snprintf(err, errlen, "%s: out of memory", path); rc = -1; }
    free(buf);
    fclose(f);
    return rc;
}

/* Tokens the whole corpus encodes to: the compression figure of the summary. */
static int corpus_tokens(const Tokenizer *t, const Corpus *c, size_t *tokens) {
    size_t longest = 1;
    for (size_t i = 0; i < c->n; i++)
        if (c->lens[i] > longest) longest = c->lens[i];
    int *ids = malloc(longest * sizeof *ids);
    if (!ids) return -1;
    *tokens = 0;
    for (size_t i = 0; i < c->n; i++)
        *tokens += tokenizer_encode(t, (const unsigned char *)c->buf + c->off[i], c->lens[i], ids);
    free(ids);
    return 0;
}

static int tokenizer_train_cmd(long vocab, const char *out, char **files, int n_files) {
    Corpus c = { 0 };
    Tokenizer t = { 0 };
    char err[600];
    const char **texts = NULL;
    int rc = 1;
    for (int i = 0; i < n_files; i++) {
        int bad = ends_with(files[i], ".jsonl") ? read_jsonl(&c, files[i], err, sizeof err)
                                                : read_raw(&c, files[i], err, sizeof err);
        if (bad) goto done;
    }
    texts = malloc((c.n ? c.n : 1) * sizeof *texts);
    if (!texts) { snprintf(err, sizeof err, "out of memory"); goto done; }
    for (size_t i = 0; i < c.n; i++) texts[i] = c.buf + c.off[i];
    double t0 = util_now();
    if (tokenizer_train(&t, texts, c.lens, c.n, (int)vocab, err, sizeof err)) goto done;
    double seconds = util_now() - t0;
    size_t tokens = 0;
    if (corpus_tokens(&t, &c, &tokens)) { snprintf(err, sizeof err, "out of memory"); goto done; }
    if (tokenizer_save(&t, out, err, sizeof err)) goto done;
    if (t.vocab_size < vocab)
        fprintf(stderr, "rlvr tokenizer: the corpus ran out of pairs after %d merges: vocab_size is %d, not %ld\n",
                t.n_merges, t.vocab_size, vocab);
    cJSON *s = cJSON_CreateString(out);
    char *out_json = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    printf("{\"vocab_size\":%d,\"merges\":%d,\"corpus_bytes\":%zu,\"corpus_tokens\":%zu,"
           "\"bytes_per_token\":%.3f,\"train_seconds\":%.3f,\"out\":%s}\n",
           t.vocab_size, t.n_merges, c.len, tokens, tokens ? (double)c.len / (double)tokens : 0.0, seconds,
           out_json ? out_json : "null");
    free(out_json);
    rc = 0;
done:
    if (rc) fprintf(stderr, "rlvr tokenizer: %s\n", err);
    free(texts);
    tokenizer_free(&t);
    corpus_free(&c);
    return rc;
}

int cmd_tokenizer(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(TOKENIZER_USAGE, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "train") != 0) {
        fprintf(stderr, "rlvr tokenizer: unknown subcommand '%s' (see rlvr tokenizer --help)\n", argv[0]);
        return 2;
    }
    long vocab = 0;
    const char *out = NULL;
    char **files = malloc((size_t)argc * sizeof *files);
    int n_files = 0;
    if (!files) { fprintf(stderr, "rlvr tokenizer: out of memory\n"); return 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *bad = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(TOKENIZER_USAGE, stdout); free(files); return 0; }
        if (strncmp(a, "--", 2) != 0) { files[n_files++] = argv[i]; continue; }
        if (strcmp(a, "--vocab") != 0 && strcmp(a, "--out") != 0) bad = "unknown option";
        else if (!v) bad = "needs a value";
        else if (strcmp(a, "--out") == 0) out = v;
        else if (util_parse_int(v, TOKENIZER_FIRST_MERGE, TOKENIZER_MAX_VOCAB, &vocab))
            bad = "needs an integer in [259, 65536]";
        if (bad) {
            fprintf(stderr, "rlvr tokenizer train: %s: %s (see rlvr tokenizer --help)\n", a, bad);
            free(files);
            return 2;
        }
        i++;
    }
    const char *missing = !vocab ? "--vocab N" : !out ? "--out FILE" : n_files == 0 ? "a CORPUS file" : NULL;
    if (missing) {
        fprintf(stderr, "rlvr tokenizer train: missing %s (see rlvr tokenizer --help)\n", missing);
        free(files);
        return 2;
    }
    int rc = tokenizer_train_cmd(vocab, out, files, n_files);
    free(files);
    return rc;
}

/* test_tokenizer: what the policy, the sampler and checkpoints rely on from the BPE.
 *
 * Any text must come back byte for byte (GSM8K, UTF-8, random binary); every digit must
 * be a token of its own (the arithmetic verifier and the policy's sums depend on it);
 * the vocabulary must actually compress GSM8K (a broken trainer would not); the
 * incremental trainer must pick exactly the merges a brute-force trainer picks;
 * training must be deterministic; a saved tokenizer must encode identically after a
 * reload; and every kind of damaged file must be refused with a message naming the
 * file, never a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy/rng.h"
#include "policy/tokenizer.h"
#include <cJSON.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tests/test_util.h"

#define VOCAB 1024

/* GSM8K as texts (question, answer, question, ...) and as raw lines. */
typedef struct {
    char **texts;
    size_t *lens;
    size_t n, bytes;
    char **lines;
    size_t n_lines;
} Gsm;

static char g_dir[64];      /* the test's mkdtemp directory */
static char g_data[PATH_MAX];
static Gsm g_train, g_test; /* empty if the data is absent */
static Tokenizer g_tok;     /* trained on g_train at VOCAB (or on a small text without data) */
static double g_train_seconds;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    return p;
}

/* ---------------------------------------------------------------- data */

/* $RLVR_GSM8K, else ../shared/data/gsm8k beside the checkout (the binary is in
 * build/tests/ or build-asan/tests/), else the same relative to the working directory. */
static int find_data(void) {
    const char *env = getenv("RLVR_GSM8K");
    char exe[PATH_MAX], probe[PATH_MAX + 32];
    if (env) { snprintf(g_data, sizeof g_data, "%s", env); }
    else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        snprintf(g_data, sizeof g_data, "%s/../../../shared/data/gsm8k", n > 0 ? dirname(exe) : ".");
        snprintf(probe, sizeof probe, "%s/train.jsonl", g_data);
        if (access(probe, R_OK) != 0) snprintf(g_data, sizeof g_data, "../shared/data/gsm8k");
    }
    snprintf(probe, sizeof probe, "%s/train.jsonl", g_data);
    return access(probe, R_OK) == 0 ? 0 : -1;
}

static void gsm_load(Gsm *g, const char *name) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", g_data, name);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "%s: cannot open\n", path); exit(1); }
    size_t cap = 1 << 14;
    g->texts = xmalloc(2 * cap * sizeof *g->texts);
    g->lens = xmalloc(2 * cap * sizeof *g->lens);
    g->lines = xmalloc(cap * sizeof *g->lines);
    char *line = NULL;
    size_t linecap = 0;
    while (getline(&line, &linecap, f) > 0) {
        if (g->n_lines == cap) { fprintf(stderr, "%s: more lines than expected\n", path); exit(1); }
        cJSON *j = cJSON_Parse(line);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "answer");
        if (!cJSON_IsString(q) || !cJSON_IsString(a)) { fprintf(stderr, "%s: bad line\n", path); exit(1); }
        g->lines[g->n_lines++] = strdup(line);
        for (int k = 0; k < 2; k++) {
            g->texts[g->n] = strdup(k ? a->valuestring : q->valuestring);
            g->lens[g->n] = strlen(g->texts[g->n]);
            g->bytes += g->lens[g->n++];
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
}

static void gsm_free(Gsm *g) {
    for (size_t i = 0; i < g->n; i++) free(g->texts[i]);
    for (size_t i = 0; i < g->n_lines; i++) free(g->lines[i]);
    free(g->texts);
    free(g->lens);
    free(g->lines);
    memset(g, 0, sizeof *g);
}

static int have_data(void) {
    if (g_train.n) return 1;
    printf("  SKIP: GSM8K not found at %s (set RLVR_GSM8K)\n", g_data);
    return 0;
}

/* A small corpus for the tests that do not need GSM8K (and for when it is absent). */
static const char *const SMALL[] = {
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "How many clips did Natalia sell altogether in April and May? She sold 48/2 = <<48/2=24>>24 clips.",
    "The total is 48 + 24 = 72 clips; the answer is 72.\n#### 72",
    "Grüße aus München: naïve café, 日本語のテキスト, emoji 🙂🙂 and \tindented\n\n  text.",
};

/* ---------------------------------------------------------------- helpers */

static void assert_round_trip(const Tokenizer *t, const unsigned char *s, size_t len) {
    int *ids = xmalloc(len * sizeof *ids);
    size_t n = tokenizer_encode(t, s, len, ids);
    assert_true(n <= len);
    unsigned char *back;
    size_t blen;
    char err[256];
    assert_int_equal(tokenizer_decode(t, ids, n, &back, &blen, err, sizeof err), 0);
    if (blen != len || memcmp(back, s, len) != 0)
        fail_msg("round trip differs for \"%.*s\" (%zu bytes in, %zu out)", (int)(len < 80 ? len : 80), s, len, blen);
    free(back);
    free(ids);
}

static size_t encode_count(const Tokenizer *t, const Gsm *g) {
    size_t longest = 1, n = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->lens[i] > longest) longest = g->lens[i];
    int *ids = xmalloc(longest * sizeof *ids);
    for (size_t i = 0; i < g->n; i++) n += tokenizer_encode(t, (const unsigned char *)g->texts[i], g->lens[i], ids);
    free(ids);
    return n;
}

static void path_in_dir(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", g_dir, name); }

static void write_file(const char *path, const void *b, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* UTF-8 structure (lead and continuation bytes, no C0/C1 leads); enough to catch a
 * raw byte >= 0x80 written into the file. */
static int valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

static int tokenizers_equal(const Tokenizer *a, const Tokenizer *b) {
    return a->vocab_size == b->vocab_size && a->n_merges == b->n_merges &&
           memcmp(a->merges, b->merges, (size_t)a->n_merges * sizeof *a->merges) == 0;
}

/* ---------------------------------------------------------------- round trips */

static void test_gsm8k_round_trips(void **state) {
    (void)state;
    if (!have_data()) return;
    const Gsm *sets[2] = { &g_train, &g_test };
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sets[s]->n_lines; i++)
            assert_round_trip(&g_tok, (const unsigned char *)sets[s]->lines[i], strlen(sets[s]->lines[i]));
        for (size_t i = 0; i < sets[s]->n; i++)
            assert_round_trip(&g_tok, (const unsigned char *)sets[s]->texts[i], sets[s]->lens[i]);
    }
    printf("  %zu + %zu lines (raw JSON, question, answer) round-trip exactly\n", g_train.n_lines, g_test.n_lines);
}

/* Binary, NUL bytes, invalid UTF-8, and long runs that the chunk cap cuts. */
static void test_random_bytes_round_trip(void **state) {
    (void)state;
    Rng r;
    rng_seed(&r, 7);
    unsigned char buf[4096];
    static const char alphabet[] = "aZ 09.,\n\t\xc3\xa9\xff\x80<>#";
    for (int trial = 0; trial < 400; trial++) {
        size_t len = 1 + rng_next(&r) % sizeof buf;
        int mode = trial % 3;
        for (size_t i = 0; i < len; i++) {
            uint64_t x = rng_next(&r);
            if (mode == 0) buf[i] = (unsigned char)x;                               /* anything */
            else if (mode == 1) buf[i] = (unsigned char)alphabet[x % (sizeof alphabet - 1)];
            else buf[i] = (x % 100) ? (unsigned char)"ab  \x00"[(i / 97) % 5] : (unsigned char)x; /* long runs */
        }
        assert_round_trip(&g_tok, buf, len);
    }
    assert_round_trip(&g_tok, (const unsigned char *)"", 0);
    assert_round_trip(&g_tok, (const unsigned char *)"\0", 1);
}

static void test_utf8_round_trips(void **state) {
    (void)state;
    static const char *const texts[] = {
        "Ünïcödé: Grüße, naïve, façade, Ærøskøbing",
        "Русский текст и числа 1234",
        "中文文本，日本語のテキスト、한국어 텍스트",
        "emoji 🙂👍🏽 and flags 🇫🇷 and ZWJ 👩‍👩‍👧",
        "مرحبا بالعالم עברית",
        "a\xe2\x80\xafnarrow no-break space and \xef\xbb\xbf BOM",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_round_trip(&g_tok, (const unsigned char *)texts[i], strlen(texts[i]));
    for (size_t i = 0; i < sizeof SMALL / sizeof SMALL[0]; i++)
        assert_round_trip(&g_tok, (const unsigned char *)SMALL[i], strlen(SMALL[i]));
}

/* The documented chunk rule, case by case. */
static void test_chunk_rule(void **state) {
    (void)state;
    static const struct { const char *text, *chunks; } cases[] = {
        { "Hello world", "Hello| world" },
        { "a \n  b", "a| \n | b" },
        { "costs $12.50!", "costs| $|1|2|.|5|0|!" },
        { "  x", " | x" },
        { "x  48", "x|  |4|8" },
        { "<<48/2=24>>", "<<|4|8|/|2|=|2|4|>>" },
        { "\t\tfoo", "\t\t|foo" },
        { "café ok", "café| ok" },
        { "end.\n\n#### 72", "end|.|\n\n|####| |7|2" },
        { " ...and", " ...|and" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char got[128] = "";
        const unsigned char *s = (const unsigned char *)cases[c].text;
        size_t n = strlen(cases[c].text), k = 0;
        for (size_t pos = 0; pos < n;) {
            size_t len = tokenizer_chunk_len(s + pos, n - pos);
            k += (size_t)snprintf(got + k, sizeof got - k, "%s%.*s", pos ? "|" : "", (int)len, s + pos);
            pos += len;
        }
        if (strcmp(got, cases[c].chunks) != 0) fail_msg("chunks of \"%s\": got \"%s\", want \"%s\"", cases[c].text, got, cases[c].chunks);
    }
    /* Runs stop at the cap; a space still joins the word after a capped indent. */
    unsigned char run[200];
    memset(run, 'a', sizeof run);
    assert_int_equal(tokenizer_chunk_len(run, sizeof run), TOKENIZER_MAX_CHUNK);
    memset(run, ' ', TOKENIZER_MAX_CHUNK);
    run[TOKENIZER_MAX_CHUNK] = 'x';
    assert_int_equal(tokenizer_chunk_len(run, TOKENIZER_MAX_CHUNK + 1), TOKENIZER_MAX_CHUNK - 1);
}

/* ---------------------------------------------------------------- digits */

static void test_digits_are_single_tokens(void **state) {
    (void)state;
    for (int id = 0; id < g_tok.vocab_size; id++) {
        size_t len;
        const unsigned char *b = tokenizer_token_bytes(&g_tok, id, &len);
        assert_non_null(b);
        for (size_t i = 0; i < len; i++)
            if (b[i] >= '0' && b[i] <= '9' && len != 1) fail_msg("token %d \"%.*s\" contains a digit", id, (int)len, b);
    }
    int ids[16];
    assert_int_equal(tokenizer_encode(&g_tok, (const unsigned char *)"12345", 5, ids), 5);
    for (int i = 0; i < 5; i++) assert_int_equal(ids[i], '1' + i);
    /* Digits inside words and after spaces stay alone too. */
    const char *s = "x1y2 3000";
    size_t n = tokenizer_encode(&g_tok, (const unsigned char *)s, strlen(s), ids);
    int digits = 0;
    for (size_t i = 0; i < n; i++) digits += ids[i] >= '0' && ids[i] <= '9';
    assert_int_equal(digits, 6);
}

/* ---------------------------------------------------------------- encoding semantics */

/* Textbook BPE on one chunk: find the best-ranked pair, merge all its occurrences left
 * to right, repeat. */
static size_t reference_encode_chunk(const Tokenizer *t, const unsigned char *s, size_t n, int *out) {
    for (size_t i = 0; i < n; i++) out[i] = s[i];
    for (;;) {
        int best = INT_MAX;
        for (size_t i = 0; i + 1 < n; i++)
            for (int m = 0; m < t->n_merges && m + TOKENIZER_FIRST_MERGE < best; m++)
                if (t->merges[m][0] == out[i] && t->merges[m][1] == out[i + 1]) best = m + TOKENIZER_FIRST_MERGE;
        if (best == INT_MAX) return n;
        int a = t->merges[best - TOKENIZER_FIRST_MERGE][0], b = t->merges[best - TOKENIZER_FIRST_MERGE][1];
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && out[i] == a && out[i + 1] == b) { out[j++] = best; i++; }
            else out[j++] = out[i];
        }
        n = j;
    }
}

static void assert_encodes_like_reference(const Tokenizer *t, const unsigned char *s, size_t len) {
    int *got = xmalloc(len * sizeof *got), *want = xmalloc(len * sizeof *want);
    size_t ng = tokenizer_encode(t, s, len, got), nw = 0;
    for (size_t pos = 0; pos < len;) {
        size_t c = tokenizer_chunk_len(s + pos, len - pos);
        nw += reference_encode_chunk(t, s + pos, c, want + nw);
        pos += c;
    }
    if (ng != nw || memcmp(got, want, ng * sizeof *got) != 0)
        fail_msg("encoding of \"%.*s\" differs from textbook BPE", (int)(len < 80 ? len : 80), s);
    free(got);
    free(want);
}

/* Overlapping occurrences merge leftmost first, and earlier merges win. */
static void test_encoding_is_textbook_bpe(void **state) {
    (void)state;
    Tokenizer t;
    char err[512];
    const char *json = "{\"format\": \"rlvr-bpe\", \"version\": 1, \"vocab_size\": 262,"
                       " \"specials\": {\"<|endoftext|>\": 256, \"<|pad|>\": 257, \"<|sep|>\": 258},"
                       " \"merges\": [[97, 97], [98, 97], [259, 259]], \"tokens\": [\"aa\", \"ba\", \"aaaa\"]}";
    assert_int_equal(tokenizer_from_json(&t, json, "hand-made", err, sizeof err), 0);
    int ids[8];
    assert_int_equal(tokenizer_encode(&t, (const unsigned char *)"aaa", 3, ids), 2);
    assert_int_equal(ids[0], 259);
    assert_int_equal(ids[1], 'a');
    assert_int_equal(tokenizer_encode(&t, (const unsigned char *)"baaa", 4, ids), 3); /* aa before ba */
    assert_int_equal(ids[0], 'b');
    assert_int_equal(ids[1], 259);
    assert_int_equal(ids[2], 'a');
    assert_int_equal(tokenizer_encode(&t, (const unsigned char *)"aaaaa", 5, ids), 2);
    assert_int_equal(ids[0], 261);
    tokenizer_free(&t);
    /* And the trained tokenizer agrees with the textbook on real text. */
    const Gsm *g = g_test.n ? &g_test : NULL;
    size_t n = g ? 400 : sizeof SMALL / sizeof SMALL[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = g ? g->texts[i] : SMALL[i];
        assert_encodes_like_reference(&g_tok, (const unsigned char *)s, strlen(s));
    }
    assert_encodes_like_reference(&g_tok, (const unsigned char *)"eeeeeeee ssssss llllllll ====== ......", 38);
}

/* ---------------------------------------------------------------- compression, speed */

static void test_compresses_gsm8k(void **state) {
    (void)state;
    if (!have_data()) return;
    double t0 = now();
    size_t n_train = encode_count(&g_tok, &g_train);
    double enc = now() - t0;
    size_t n_test = encode_count(&g_tok, &g_test);
    double tpb_train = (double)n_train / g_train.bytes, tpb_test = (double)n_test / g_test.bytes;
    printf("  vocab %d trained on GSM8K train in %.3f s; tokens per byte: train %.4f, test %.4f\n",
           g_tok.vocab_size, g_train_seconds, tpb_train, tpb_test);
    printf("  encoding GSM8K train (%zu bytes): %.3f s, %.1f MB/s\n", g_train.bytes, enc, g_train.bytes / enc / 1e6);
    assert_int_equal(g_tok.vocab_size, VOCAB);
    assert_true(tpb_train < 0.5);
    assert_true(tpb_test < 0.5);
}

/* Several threads encoding with one tokenizer get what one thread gets. */
static void test_encode_from_threads(void **state) {
    (void)state;
    const char *const *texts = g_train.n ? (const char *const *)g_train.texts : SMALL;
    size_t n = g_train.n ? (g_train.n < 4000 ? g_train.n : 4000) : sizeof SMALL / sizeof SMALL[0];
    size_t *serial = xmalloc(n * sizeof *serial), *parallel = xmalloc(n * sizeof *parallel);
    uint64_t *hash_s = xmalloc(n * sizeof *hash_s), *hash_p = xmalloc(n * sizeof *hash_p);
    for (int pass = 0; pass < 2; pass++) {
        size_t *count = pass ? parallel : serial;
        uint64_t *hash = pass ? hash_p : hash_s;
#pragma omp parallel for schedule(dynamic, 16) if (pass)
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(texts[i]);
            int *ids = malloc((len ? len : 1) * sizeof *ids);
            if (!ids) { count[i] = SIZE_MAX; continue; }
            count[i] = tokenizer_encode(&g_tok, (const unsigned char *)texts[i], len, ids);
            uint64_t h = 1469598103934665603ULL;
            for (size_t k = 0; k < count[i]; k++) h = (h ^ (uint64_t)ids[k]) * 1099511628211ULL;
            hash[i] = h;
            free(ids);
        }
    }
    assert_memory_equal(serial, parallel, n * sizeof *serial);
    assert_memory_equal(hash_s, hash_p, n * sizeof *hash_s);
    free(serial); free(parallel); free(hash_s); free(hash_p);
}

/* ---------------------------------------------------------------- training */

/* The obvious trainer: every chunk of the corpus (not only the unique ones) as its own
 * word, every pair recounted before each merge. */
static int (*brute_force_merges(const char *const *texts, const size_t *lens, size_t n, int vocab, int *n_merges))[2] {
    size_t cap = 0, n_words = 0;
    int **words = NULL, *wlen = NULL;
    for (size_t k = 0; k < n; k++) {
        const unsigned char *s = (const unsigned char *)texts[k];
        for (size_t pos = 0; pos < lens[k];) {
            size_t c = tokenizer_chunk_len(s + pos, lens[k] - pos);
            if (c > 1) {
                if (n_words == cap) {
                    cap = cap ? 2 * cap : 4096;
                    words = realloc(words, cap * sizeof *words);
                    wlen = realloc(wlen, cap * sizeof *wlen);
                    if (!words || !wlen) { fprintf(stderr, "out of memory\n"); exit(1); }
                }
                words[n_words] = xmalloc(c * sizeof(int));
                for (size_t i = 0; i < c; i++) words[n_words][i] = s[pos + i];
                wlen[n_words++] = (int)c;
            }
            pos += c;
        }
    }
    int (*merges)[2] = xmalloc((size_t)vocab * sizeof *merges), m = 0;
    int64_t *count = xmalloc((size_t)vocab * vocab * sizeof *count);
    for (int id = TOKENIZER_FIRST_MERGE; id < vocab; id++, m++) {
        memset(count, 0, (size_t)vocab * vocab * sizeof *count);
        for (size_t w = 0; w < n_words; w++)
            for (int i = 0; i + 1 < wlen[w]; i++) count[(size_t)words[w][i] * vocab + words[w][i + 1]]++;
        size_t best = 0;
        for (size_t p = 1; p < (size_t)vocab * vocab; p++)
            if (count[p] > count[best]) best = p; /* strict: the lowest (a, b) wins ties */
        if (count[best] == 0) break;
        int a = (int)(best / vocab), b = (int)(best % vocab);
        merges[m][0] = a;
        merges[m][1] = b;
        for (size_t w = 0; w < n_words; w++) {
            int j = 0;
            for (int i = 0; i < wlen[w]; i++) {
                if (i + 1 < wlen[w] && words[w][i] == a && words[w][i + 1] == b) { words[w][j++] = id; i++; }
                else words[w][j++] = words[w][i];
            }
            wlen[w] = j;
        }
    }
    for (size_t w = 0; w < n_words; w++) free(words[w]);
    free(words); free(wlen); free(count);
    *n_merges = m;
    return merges;
}

/* The incremental bookkeeping (occurrence lists, lazy heap) must choose exactly the
 * merges that recounting everything would. */
static void test_trainer_matches_brute_force(void **state) {
    (void)state;
    const char *const *texts = g_test.n ? (const char *const *)g_test.texts : SMALL;
    size_t small_lens[sizeof SMALL / sizeof SMALL[0]];
    for (size_t i = 0; i < sizeof SMALL / sizeof SMALL[0]; i++) small_lens[i] = strlen(SMALL[i]);
    const size_t *lens = g_test.n ? g_test.lens : small_lens;
    size_t n = g_test.n ? 800 : sizeof SMALL / sizeof SMALL[0]; /* 400 problems keep it quick */
    const int vocab = 400;
    int m;
    int (*want)[2] = brute_force_merges(texts, lens, n, vocab, &m);
    Tokenizer t;
    char err[256];
    assert_int_equal(tokenizer_train(&t, texts, lens, n, vocab, err, sizeof err), 0);
    assert_int_equal(t.n_merges, m);
    for (int i = 0; i < m; i++)
        if (t.merges[i][0] != want[i][0] || t.merges[i][1] != want[i][1])
            fail_msg("merge %d: trainer [%d, %d], brute force [%d, %d]", i, t.merges[i][0], t.merges[i][1], want[i][0], want[i][1]);
    printf("  %d merges agree with brute force\n", m);
    free(want);
    tokenizer_free(&t);
}

/* Same corpus, same merges; and the order of the texts does not matter either. */
static void test_training_is_deterministic(void **state) {
    (void)state;
    if (!have_data()) return;
    Tokenizer a, b;
    char err[256];
    size_t n = g_train.n;
    char **rev = xmalloc(n * sizeof *rev);
    size_t *rev_lens = xmalloc(n * sizeof *rev_lens);
    for (size_t i = 0; i < n; i++) { rev[i] = g_train.texts[n - 1 - i]; rev_lens[i] = g_train.lens[n - 1 - i]; }
    assert_int_equal(tokenizer_train(&a, (const char *const *)g_train.texts, g_train.lens, n, VOCAB, err, sizeof err), 0);
    assert_int_equal(tokenizer_train(&b, (const char *const *)rev, rev_lens, n, VOCAB, err, sizeof err), 0);
    assert_true(tokenizers_equal(&a, &g_tok));
    assert_true(tokenizers_equal(&b, &g_tok));
    tokenizer_free(&a);
    tokenizer_free(&b);
    free(rev);
    free(rev_lens);
}

static void test_training_limits(void **state) {
    (void)state;
    Tokenizer t;
    char err[256] = "";
    const char *text = "abab abab";
    size_t len = strlen(text);
    /* Few pairs: training stops early and says so through vocab_size. */
    assert_int_equal(tokenizer_train(&t, &text, &len, 1, 5000, err, sizeof err), 0);
    assert_true(t.vocab_size < 5000);
    assert_int_equal(t.vocab_size, TOKENIZER_FIRST_MERGE + t.n_merges);
    assert_true(t.n_merges >= 3); /* "ab", " ab", "abab"-ish merges exist */
    assert_round_trip(&t, (const unsigned char *)text, len);
    tokenizer_free(&t);
    /* No merges at all is a valid (byte-level) tokenizer. */
    assert_int_equal(tokenizer_train(&t, &text, &len, 1, TOKENIZER_FIRST_MERGE, err, sizeof err), 0);
    assert_int_equal(t.n_merges, 0);
    int ids[16];
    assert_int_equal(tokenizer_encode(&t, (const unsigned char *)text, len, ids), len);
    tokenizer_free(&t);
    assert_int_equal(tokenizer_train(&t, &text, &len, 1, 258, err, sizeof err), -1);
    assert_non_null(strstr(err, "vocab_size"));
    assert_int_equal(tokenizer_train(&t, &text, &len, 1, TOKENIZER_MAX_VOCAB + 1, err, sizeof err), -1);
    assert_int_equal(tokenizer_train(&t, NULL, NULL, 0, 300, err, sizeof err), 0); /* empty corpus */
    assert_int_equal(t.n_merges, 0);
    tokenizer_free(&t);
}

/* ---------------------------------------------------------------- decode */

static void test_decode_specials_and_bad_ids(void **state) {
    (void)state;
    int ids[] = { 'a', TOKENIZER_SEP, 'b', TOKENIZER_EOT, TOKENIZER_PAD };
    unsigned char *out;
    size_t len;
    char err[256] = "";
    assert_int_equal(tokenizer_decode(&g_tok, ids, 5, &out, &len, err, sizeof err), 0);
    assert_string_equal((char *)out, "a<|sep|>b<|endoftext|><|pad|>");
    assert_int_equal(len, strlen((char *)out));
    free(out);
    int bad[] = { 'a', g_tok.vocab_size };
    assert_int_equal(tokenizer_decode(&g_tok, bad, 2, &out, &len, err, sizeof err), -1);
    assert_null(out);
    assert_non_null(strstr(err, "token 1"));
    size_t blen;
    assert_null(tokenizer_token_bytes(&g_tok, -1, &blen));
    assert_null(tokenizer_token_bytes(&g_tok, g_tok.vocab_size, &blen));
    /* Special names in the text are just text. */
    const char *s = "<|endoftext|>";
    int enc[32];
    size_t n = tokenizer_encode(&g_tok, (const unsigned char *)s, strlen(s), enc);
    for (size_t i = 0; i < n; i++) assert_true(enc[i] < 256 || enc[i] >= TOKENIZER_FIRST_MERGE);
}

/* ---------------------------------------------------------------- files */

static void test_save_load_round_trip(void **state) {
    (void)state;
    char path[256], err[512];
    path_in_dir(path, sizeof path, "tok.json");
    assert_int_equal(tokenizer_save(&g_tok, path, err, sizeof err), 0);
    Tokenizer loaded, parsed;
    assert_int_equal(tokenizer_load(&loaded, path, err, sizeof err), 0);
    char *json = tokenizer_to_json(&g_tok);
    assert_non_null(json);
    assert_int_equal(tokenizer_from_json(&parsed, json, "memory", err, sizeof err), 0);
    assert_true(tokenizers_equal(&loaded, &g_tok));
    assert_true(tokenizers_equal(&parsed, &g_tok));
    /* The file is the JSON, and re-saving gives the same text. */
    char *again = tokenizer_to_json(&loaded);
    assert_string_equal(again, json);
    /* Strict JSON readers (Python's json) need UTF-8, though some tokens are not. */
    assert_true(valid_utf8((const unsigned char *)json, strlen(json)));
    const Gsm *g = g_test.n ? &g_test : NULL;
    size_t n = g ? g->n : sizeof SMALL / sizeof SMALL[0];
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = (const unsigned char *)(g ? g->texts[i] : SMALL[i]);
        size_t len = strlen((const char *)s);
        int *x = xmalloc(len * sizeof *x), *y = xmalloc(len * sizeof *y), *z = xmalloc(len * sizeof *z);
        size_t nx = tokenizer_encode(&g_tok, s, len, x), ny = tokenizer_encode(&loaded, s, len, y),
               nz = tokenizer_encode(&parsed, s, len, z);
        assert_int_equal(nx, ny);
        assert_int_equal(nx, nz);
        assert_memory_equal(x, y, nx * sizeof *x);
        assert_memory_equal(x, z, nx * sizeof *x);
        free(x); free(y); free(z);
    }
    /* No temporary files left behind. */
    DIR *d = opendir(g_dir);
    for (struct dirent *e; (e = readdir(d));) assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
    free(json);
    free(again);
    tokenizer_free(&loaded);
    tokenizer_free(&parsed);
}

static void test_save_into_missing_directory_fails(void **state) {
    (void)state;
    char path[256], err[512] = "";
    path_in_dir(path, sizeof path, "no-such-dir/tok.json");
    assert_int_equal(tokenizer_save(&g_tok, path, err, sizeof err), -1);
    if (!strstr(err, path)) fail_msg("error does not name the file: %s", err);
}

/* Writes text to a file and expects the load to fail with the file's name and then
 * `word` in the message, leaving the tokenizer empty. */
static void expect_load_error(const char *name, const char *text, const char *word) {
    char path[256], err[512] = "";
    path_in_dir(path, sizeof path, name);
    write_file(path, text, strlen(text));
    Tokenizer t;
    memset(&t, 0xAB, sizeof t); /* garbage in: the caller's struct need not be initialised */
    assert_int_equal(tokenizer_load(&t, path, err, sizeof err), -1);
    const char *named = strstr(err, path);
    if (!named) fail_msg("error does not name the file %s: %s", path, err);
    if (!strstr(named + strlen(path), word)) fail_msg("load of %s: expected \"%s\" in: %s", name, word, err);
    if (strchr(err, '\n')) fail_msg("error is not one line: %s", err);
    static const Tokenizer empty;
    assert_memory_equal(&t, &empty, sizeof t);
}

/* A small valid tokenizer file as a cJSON tree to damage. */
static cJSON *small_tree(void) {
    Tokenizer t;
    char err[256];
    size_t lens[sizeof SMALL / sizeof SMALL[0]];
    for (size_t i = 0; i < sizeof SMALL / sizeof SMALL[0]; i++) lens[i] = strlen(SMALL[i]);
    assert_int_equal(tokenizer_train(&t, SMALL, lens, sizeof SMALL / sizeof SMALL[0], 300, err, sizeof err), 0);
    char *json = tokenizer_to_json(&t);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    free(json);
    tokenizer_free(&t);
    return root;
}

/* Applies one damage to a fresh small tree and expects its load to fail with `word`. */
static void expect_damage(const char *name, void (*damage)(cJSON *root), const char *word) {
    cJSON *root = small_tree();
    damage(root);
    char *text = cJSON_Print(root);
    expect_load_error(name, text, word);
    free(text);
    cJSON_Delete(root);
}

static cJSON *merge_at(cJSON *root, int i) { return cJSON_GetArrayItem(cJSON_GetObjectItem(root, "merges"), i); }
static void set_merge(cJSON *root, int i, int a, int b) {
    cJSON *m = merge_at(root, i);
    cJSON_SetNumberValue(cJSON_GetArrayItem(m, 0), a);
    cJSON_SetNumberValue(cJSON_GetArrayItem(m, 1), b);
}
static void wrong_format(cJSON *r) { cJSON_ReplaceItemInObject(r, "format", cJSON_CreateString("gpt2-bpe")); }
static void newer_version(cJSON *r) { cJSON_ReplaceItemInObject(r, "version", cJSON_CreateNumber(2)); }
static void fractional_version(cJSON *r) { cJSON_ReplaceItemInObject(r, "version", cJSON_CreateNumber(1.5)); }
static void undefined_id(cJSON *r) { set_merge(r, 0, 'a', TOKENIZER_FIRST_MERGE); }
static void later_id(cJSON *r) { set_merge(r, 3, TOKENIZER_FIRST_MERGE + 5, 'a'); }
static void negative_id(cJSON *r) { set_merge(r, 2, -1, 'a'); }
static void digit_merge(cJSON *r) { set_merge(r, 0, '4', '8'); }
static void special_merge(cJSON *r) { set_merge(r, 0, TOKENIZER_SEP, 'a'); }
static void vocab_too_big(cJSON *r) {
    cJSON_ReplaceItemInObject(r, "vocab_size", cJSON_CreateNumber(cJSON_GetObjectItem(r, "vocab_size")->valuedouble + 1));
}
static void duplicate_merge(cJSON *r) {
    cJSON *m0 = merge_at(r, 0);
    set_merge(r, 5, (int)cJSON_GetArrayItem(m0, 0)->valuedouble, (int)cJSON_GetArrayItem(m0, 1)->valuedouble);
}
static void tokens_disagree(cJSON *r) {
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(r, "tokens"), 1, cJSON_CreateString("zz"));
}
static void bad_specials(cJSON *r) {
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "specials"), "<|pad|>"), 300);
}
static void unknown_field(cJSON *r) { cJSON_AddStringToObject(r, "comment", "hi"); }
static void merge_not_pair(cJSON *r) { cJSON_AddItemToArray(merge_at(r, 4), cJSON_CreateNumber(1)); }
static void self_longer_than_chunk(cJSON *r) {
    /* Doubling one token again and again: a damaged file must not make us allocate 2^n. */
    cJSON *merges = cJSON_GetObjectItem(r, "merges");
    int n = cJSON_GetArraySize(merges);
    set_merge(r, 0, 'a', 'a');
    for (int i = 1; i < 8 && i < n; i++) set_merge(r, i, TOKENIZER_FIRST_MERGE + i - 1, TOKENIZER_FIRST_MERGE + i - 1);
}
static const char *g_drop; /* the field drop_field removes */
static void drop_field(cJSON *r) { cJSON_DeleteItemFromObject(r, g_drop); }

static void test_damaged_files_are_refused(void **state) {
    (void)state;
    expect_load_error("notjson.json", "{\"format\": \"rlvr-bpe\", \"version\": 1,", "not valid JSON");
    expect_load_error("empty.json", "", "not valid JSON");
    expect_load_error("array.json", "[1, 2]", "not an object");
    expect_damage("format.json", wrong_format, "not an rlvr tokenizer");
    expect_damage("version.json", newer_version, "newer");
    expect_damage("version2.json", fractional_version, "version");
    expect_damage("undefined.json", undefined_id, "not defined before it");
    expect_damage("later.json", later_id, "not defined before it");
    expect_damage("negative.json", negative_id, "not defined before it");
    expect_damage("digit.json", digit_merge, "digit");
    expect_damage("special.json", special_merge, "special");
    expect_damage("vocab.json", vocab_too_big, "does not match");
    expect_damage("duplicate.json", duplicate_merge, "duplicates merge 0");
    expect_damage("tokens.json", tokens_disagree, "tokens[1]");
    expect_damage("specials.json", bad_specials, "specials");
    expect_damage("unknown.json", unknown_field, "unknown field");
    expect_damage("pair.json", merge_not_pair, "merge 4");
    expect_damage("long.json", self_longer_than_chunk, "longer than any chunk");
    static const char *const fields[] = { "format", "version", "vocab_size", "specials", "merges", "tokens" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        g_drop = fields[i];
        expect_damage("missing.json", drop_field, "missing field");
    }
    char path[256], err[512] = "";
    Tokenizer t;
    path_in_dir(path, sizeof path, "does-not-exist.json");
    assert_int_equal(tokenizer_load(&t, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(tokenizer_load(&t, g_dir, err, sizeof err), -1); /* a directory */
    assert_non_null(strstr(err, "not a regular file"));
    /* Errors from a checkpoint's embedded copy name the origin given. */
    assert_int_equal(tokenizer_from_json(&t, "{}", "run.ckpt: tokenizer", err, sizeof err), -1);
    assert_non_null(strstr(err, "run.ckpt: tokenizer: missing field"));
    assert_int_equal(tokenizer_from_json(&t, NULL, "nothing", err, sizeof err), -1);
}

/* Every truncation and random byte flips of a real file: refused or loaded, never a
 * crash (run under ASan too), and a file that still loads still round-trips. */
static void test_truncations_and_flips_never_crash(void **state) {
    (void)state;
    cJSON *root = small_tree();
    char *good = cJSON_Print(root);
    cJSON_Delete(root);
    Tokenizer t;
    char err[512];
    assert_int_equal(tokenizer_from_json(&t, good, "good", err, sizeof err), 0);
    tokenizer_free(&t);
    size_t len = strlen(good);
    char *buf = xmalloc(len + 1), path[256];
    path_in_dir(path, sizeof path, "fuzz.json");
    int refused = 0, loaded = 0;
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(buf, good, cut);
        buf[cut] = 0;
        if (tokenizer_from_json(&t, buf, "cut", err, sizeof err) == 0) { loaded++; tokenizer_free(&t); }
        else refused++;
    }
    /* Only cuts in the trailing whitespace can leave a valid file. */
    assert_true(loaded <= 2);
    Rng r;
    rng_seed(&r, 99);
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(buf, good, len);
        int flips = 1 + (int)(rng_next(&r) % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = rng_next(&r) % len;
            buf[at] = trial % 2 ? (char)(buf[at] ^ (1 << (rng_next(&r) % 8))) : (char)rng_next(&r);
        }
        write_file(path, buf, len); /* through the file path: NUL bytes can appear */
        if (tokenizer_load(&t, path, err, sizeof err) == 0) {
            loaded++;
            assert_round_trip(&t, (const unsigned char *)SMALL[0], strlen(SMALL[0]));
            tokenizer_free(&t);
        } else {
            refused++;
            assert_non_null(strstr(err, path));
        }
    }
    printf("  fuzz: %d damaged files refused, %d still valid (e.g. a flip inside whitespace)\n", refused, loaded);
    free(buf);
    free(good);
}

/* ---------------------------------------------------------------- main */

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/rlvr-test-tokenizer-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    char err[256];
    if (find_data() == 0) {
        gsm_load(&g_train, "train.jsonl");
        gsm_load(&g_test, "test.jsonl");
        double t0 = now();
        int rc = tokenizer_train(&g_tok, (const char *const *)g_train.texts, g_train.lens, g_train.n, VOCAB, err, sizeof err);
        g_train_seconds = now() - t0;
        if (rc) { fprintf(stderr, "training failed: %s\n", err); return -1; }
    } else {
        printf("GSM8K not found at %s (set RLVR_GSM8K): its tests are skipped, the rest use a small text\n", g_data);
        size_t lens[sizeof SMALL / sizeof SMALL[0]];
        for (size_t i = 0; i < sizeof SMALL / sizeof SMALL[0]; i++) lens[i] = strlen(SMALL[i]);
        if (tokenizer_train(&g_tok, SMALL, lens, sizeof SMALL / sizeof SMALL[0], 400, err, sizeof err)) return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tokenizer_free(&g_tok);
    gsm_free(&g_train);
    gsm_free(&g_test);
    return test_dir_remove(g_dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gsm8k_round_trips),
        cmocka_unit_test(test_random_bytes_round_trip),
        cmocka_unit_test(test_utf8_round_trips),
        cmocka_unit_test(test_chunk_rule),
        cmocka_unit_test(test_digits_are_single_tokens),
        cmocka_unit_test(test_encoding_is_textbook_bpe),
        cmocka_unit_test(test_compresses_gsm8k),
        cmocka_unit_test(test_encode_from_threads),
        cmocka_unit_test(test_trainer_matches_brute_force),
        cmocka_unit_test(test_training_is_deterministic),
        cmocka_unit_test(test_training_limits),
        cmocka_unit_test(test_decode_specials_and_bad_ids),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_save_into_missing_directory_fails),
        cmocka_unit_test(test_damaged_files_are_refused),
        cmocka_unit_test(test_truncations_and_flips_never_crash),
    };
    /* The count of failed tests: non-zero exit on any failure. */
    return cmocka_run_group_tests(tests, setup, teardown);
}

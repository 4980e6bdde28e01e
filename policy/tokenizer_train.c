/* Learning BPE merges from a corpus (the rest of the tokenizer is in tokenizer.c). */
#include "policy/tokenizer.h"
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
#include "policy/tokenizer_internal.h"

/* ---------------------------------------------------------------- training */

/* The trainer works on unique chunks ("words"), each weighted by how often it occurs,
 * so the corpus is read once. A pair's count is the sum over words of occurrences
 * times weight. Only the words holding the merged pair change at a merge; each of
 * them takes its pairs out of the counts, merges, and puts them back. Every pair
 * keeps a list of the words it has occurred in (stale entries are skipped), and a
 * max-heap of (count, pair) finds the next merge: counts of old pairs only fall, so
 * an entry whose count is out of date is re-pushed with the current one when it
 * surfaces, and pairs made by a merge are pushed once that merge is done. */

typedef struct {
    size_t off;      /* its bytes in text[], its current tokens in sym[], from here */
    int len;         /* its current number of tokens */
    int stamp;       /* the last merge that rewrote it */
    int64_t weight;  /* how often it occurs in the corpus */
    uint64_t hash;
} Word;
typedef struct { int a, b, head; int64_t count; } Pair; /* head: first Occurrence, -1 none */
typedef struct { int word, next; } Occurrence;
typedef struct { int64_t count; int a, b, pair; } HeapItem;

typedef struct {
    unsigned char *text;   /* the unique chunks' bytes */
    size_t text_len, text_cap;
    Word *words;
    size_t n_words, words_cap;
    size_t *slots;         /* the unique-chunk hash table: word index + 1, 0 = empty */
    size_t slots_cap;
    int *sym;              /* the words' tokens, merged in place */
    TokenizerPairMap pair_index;
    Pair *pairs;
    size_t n_pairs, pairs_cap;
    Occurrence *occ;
    size_t n_occ, occ_cap;
    HeapItem *heap;
    size_t heap_n, heap_cap;
    int (*merges)[2];
} Trainer;

static uint64_t bytes_hash(const unsigned char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static int words_rehash(Trainer *tr) {
    size_t cap = tr->slots_cap ? 2 * tr->slots_cap : 1024;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t w = 0; w < tr->n_words; w++) {
        size_t i = tr->words[w].hash & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = w + 1;
    }
    free(tr->slots);
    tr->slots = slots;
    tr->slots_cap = cap;
    return 0;
}

/* Counts one more occurrence of the chunk s[0..n). */
static int words_add(Trainer *tr, const unsigned char *s, size_t n) {
    if (2 * (tr->n_words + 1) > tr->slots_cap && words_rehash(tr)) return -1;
    uint64_t h = bytes_hash(s, n);
    size_t i = h & (tr->slots_cap - 1);
    for (; tr->slots[i]; i = (i + 1) & (tr->slots_cap - 1)) {
        Word *w = &tr->words[tr->slots[i] - 1];
        if (w->hash == h && (size_t)w->len == n && memcmp(tr->text + w->off, s, n) == 0) {
            w->weight++;
            return 0;
        }
    }
    Word *words = tokenizer_grow(tr->words, &tr->words_cap, tr->n_words + 1, sizeof *words);
    if (!words) return -1;
    tr->words = words;
    unsigned char *text = tokenizer_grow(tr->text, &tr->text_cap, tr->text_len + n, 1);
    if (!text) return -1;
    tr->text = text;
    memcpy(tr->text + tr->text_len, s, n);
    tr->words[tr->n_words] = (Word){ .off = tr->text_len, .len = (int)n, .stamp = -1, .weight = 1, .hash = h };
    tr->text_len += n;
    tr->slots[i] = ++tr->n_words;
    return 0;
}

/* The pair's index, created (count 0, no occurrences) if new; -1 if out of memory. */
static int pair_find(Trainer *tr, int a, int b) {
    int p = pairmap_get(&tr->pair_index, a, b);
    if (p >= 0) return p;
    Pair *pairs = tokenizer_grow(tr->pairs, &tr->pairs_cap, tr->n_pairs + 1, sizeof *pairs);
    if (!pairs) return -1;
    tr->pairs = pairs;
    if (tr->n_pairs >= INT_MAX || pairmap_put(&tr->pair_index, a, b, (int)tr->n_pairs)) return -1;
    tr->pairs[tr->n_pairs] = (Pair){ a, b, -1, 0 };
    return (int)tr->n_pairs++;
}

/* Adds word w's adjacent pairs to the counts, delta times each. When adding, the word
 * joins the occurrence lists of the pairs that involve `fresh` (all pairs if fresh is
 * -1): any other pair of the word was in it before and already lists it. */
static int word_count_pairs(Trainer *tr, int w, int64_t delta, int fresh) {
    const int *s = tr->sym + tr->words[w].off;
    for (int i = 0; i + 1 < tr->words[w].len; i++) {
        int p = pair_find(tr, s[i], s[i + 1]);
        if (p < 0) return -1;
        Pair *pr = &tr->pairs[p];
        pr->count += delta;
        if (delta < 0 || (fresh >= 0 && s[i] != fresh && s[i + 1] != fresh)) continue;
        if (pr->head >= 0 && tr->occ[pr->head].word == w) continue; /* listed a moment ago */
        Occurrence *occ = tokenizer_grow(tr->occ, &tr->occ_cap, tr->n_occ + 1, sizeof *occ);
        if (!occ || tr->n_occ >= INT_MAX) return -1;
        tr->occ = occ;
        tr->occ[tr->n_occ] = (Occurrence){ w, pr->head };
        pr->head = (int)tr->n_occ++;
    }
    return 0;
}

/* Rewrites word w with every (a, b), left to right, replaced by c. */
static void word_merge(Trainer *tr, int w, int a, int b, int c) {
    int *s = tr->sym + tr->words[w].off, n = tr->words[w].len, j = 0;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) { s[j++] = c; i++; }
        else s[j++] = s[i];
    }
    tr->words[w].len = j;
}

/* Heap order: higher count first, then the lower (a, b), so ties break the same way
 * whatever order the corpus came in. */
static int heap_before(const HeapItem *x, const HeapItem *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int heap_push(Trainer *tr, int p) {
    HeapItem *heap = tokenizer_grow(tr->heap, &tr->heap_cap, tr->heap_n + 1, sizeof *heap);
    if (!heap) return -1;
    tr->heap = heap;
    HeapItem it = { tr->pairs[p].count, tr->pairs[p].a, tr->pairs[p].b, p };
    size_t i = tr->heap_n++;
    while (i > 0 && heap_before(&it, &heap[(i - 1) / 2])) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = it;
    return 0;
}

static HeapItem heap_pop(Trainer *tr) {
    HeapItem *heap = tr->heap, top = heap[0], last = heap[--tr->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= tr->heap_n) break;
        if (c + 1 < tr->heap_n && heap_before(&heap[c + 1], &heap[c])) c++;
        if (!heap_before(&heap[c], &last)) break;
        heap[i] = heap[c];
        i = c;
    }
    if (tr->heap_n) heap[i] = last;
    return top;
}

/* The pair to merge next, or -1 when no pair is left. */
static int best_pair(Trainer *tr) {
    while (tr->heap_n) {
        HeapItem it = heap_pop(tr);
        int64_t now = tr->pairs[it.pair].count;
        if (now == it.count) return it.pair;
        if (now > 0) heap_push(tr, it.pair); /* cannot fail: the pop just made room */
    }
    return -1;
}

static void trainer_free(Trainer *tr) {
    free(tr->text);
    free(tr->words);
    free(tr->slots);
    free(tr->sym);
    pairmap_free(&tr->pair_index);
    free(tr->pairs);
    free(tr->occ);
    free(tr->heap);
    free(tr->merges);
}

/* Counts the unique chunks of the corpus and their pairs. Chunks of one byte (every
 * digit among them) have no pair and are not kept. */
static int trainer_count(Trainer *tr, const char *const *texts, const size_t *lens, size_t n) {
    for (size_t k = 0; k < n; k++) {
        const unsigned char *s = (const unsigned char *)texts[k];
        for (size_t pos = 0; pos < lens[k];) {
            size_t c = tokenizer_chunk_len(s + pos, lens[k] - pos);
            if (c > 1 && words_add(tr, s + pos, c)) return -1;
            pos += c;
        }
    }
    tr->sym = malloc((tr->text_len ? tr->text_len : 1) * sizeof *tr->sym);
    if (!tr->sym || pairmap_init(&tr->pair_index, 1024)) return -1;
    for (size_t i = 0; i < tr->text_len; i++) tr->sym[i] = tr->text[i];
    for (size_t w = 0; w < tr->n_words; w++)
        if (word_count_pairs(tr, (int)w, tr->words[w].weight, -1)) return -1;
    for (size_t p = 0; p < tr->n_pairs; p++)
        if (heap_push(tr, (int)p)) return -1;
    return 0;
}

/* One merge of pair p into the new id c, applied to every word that holds it. */
static int trainer_merge(Trainer *tr, int p, int c) {
    int a = tr->pairs[p].a, b = tr->pairs[p].b;
    size_t first_new = tr->n_pairs;
    for (int o = tr->pairs[p].head; o >= 0; o = tr->occ[o].next) {
        int w = tr->occ[o].word;
        if (tr->words[w].stamp == c) continue;
        tr->words[w].stamp = c;
        /* Uncounting before merging saves a copy of the word; for a stale list entry
         * (the pair has left the word) the merge changes nothing and the counts come
         * back as they were. */
        if (word_count_pairs(tr, w, -tr->words[w].weight, c)) return -1;
        word_merge(tr, w, a, b, c);
        if (word_count_pairs(tr, w, tr->words[w].weight, c)) return -1;
    }
    /* The pairs made by this merge, now that their counts are complete. */
    for (size_t q = first_new; q < tr->n_pairs; q++)
        if (tr->pairs[q].count > 0 && heap_push(tr, (int)q)) return -1;
    return 0;
}

int tokenizer_train(Tokenizer *t, const char *const *texts, const size_t *lens, size_t n,
                    int vocab_size, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if (vocab_size < TOKENIZER_FIRST_MERGE || vocab_size > TOKENIZER_MAX_VOCAB) {
        snprintf(err, errlen, "vocab_size %d is outside [%d, %d]", vocab_size, TOKENIZER_FIRST_MERGE, TOKENIZER_MAX_VOCAB);
        return -1;
    }
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    int want = vocab_size - TOKENIZER_FIRST_MERGE, done = 0, rc = -1;
    tr.merges = malloc((size_t)(want ? want : 1) * sizeof *tr.merges);
    if (!tr.merges || trainer_count(&tr, texts, lens, n)) goto oom;
    for (; done < want; done++) {
        int p = best_pair(&tr);
        if (p < 0) break;
        tr.merges[done][0] = tr.pairs[p].a;
        tr.merges[done][1] = tr.pairs[p].b;
        if (trainer_merge(&tr, p, TOKENIZER_FIRST_MERGE + done)) goto oom;
    }
    rc = tokenizer_build(t, (const int (*)[2])tr.merges, done, "tokenizer training", err, errlen);
    trainer_free(&tr);
    return rc;
oom:
    snprintf(err, errlen, "tokenizer training: out of memory (%zu unique chunks, %zu pairs)", tr.n_words, tr.n_pairs);
    trainer_free(&tr);
    return -1;
}


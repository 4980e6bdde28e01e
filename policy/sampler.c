#define _GNU_SOURCE /* qsort_r, memmem */
#include "policy/sampler.h"
#include "policy/vecmath.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sampler_finish_name(FinishReason f) {
    switch (f) {
    case FINISH_STOP_TOKEN: return "stop_token";
    case FINISH_STOP_STRING: return "stop_string";
    case FINISH_LENGTH: return "length";
    default: return "context";
    }
}

void completion_free(Completion *c) {
    free(c->tokens);
    free(c->logp_sample);
    free(c->logp_policy);
    free(c->is_tool);
    free(c->text);
    memset(c, 0, sizeof *c);
}

int sampler_create(Sampler *s, const Model *m, int max_batch, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    if (decoder_create(&s->dec, m, max_batch, err, errlen)) return -1;
    size_t n = (size_t)max_batch * m->cfg.vocab;
    s->max_batch = max_batch;
    s->logits = malloc(n * sizeof(float));
    s->probs = malloc(n * sizeof(float));
    s->order = malloc(n * sizeof(int));
    if (!s->logits || !s->probs || !s->order) {
        snprintf(err, errlen, "sampler: out of memory for a batch of %d", max_batch);
        sampler_free(s);
        return -1;
    }
    return 0;
}

void sampler_free(Sampler *s) {
    decoder_free(&s->dec);
    free(s->logits);
    free(s->probs);
    free(s->order);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- one token */

static int by_prob_desc(const void *a, const void *b, void *probs) {
    float pa = ((const float *)probs)[*(const int *)a], pb = ((const float *)probs)[*(const int *)b];
    if (pa != pb) return pa < pb ? 1 : -1;
    return *(const int *)a - *(const int *)b; /* ties: lower id first, for determinism */
}

/* log-sum-exp of x/temp over V */
static float logsumexp_scaled(const float *x, int V, float inv_temp) {
    float mx = x[0];
    for (int j = 1; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < V; j++) s += vexpf((x[j] - mx) * inv_temp);
    return mx * inv_temp + logf(s);
}

int sampler_pick(const float *logits, int V, const SamplerConfig *cfg, Rng *rng,
                 float *probs, int *order, float *logp_sample, float *logp_policy) {
    float lse1 = logsumexp_scaled(logits, V, 1.0f);
    int tok = 0;
    if (cfg->temperature <= 0.0f) {
        for (int j = 1; j < V; j++) if (logits[j] > logits[tok]) tok = j;
        *logp_sample = 0.0f; /* greedy picks with probability 1 */
        *logp_policy = logits[tok] - lse1;
        return tok;
    }
    float inv_t = 1.0f / cfg->temperature;
    float lse = logsumexp_scaled(logits, V, inv_t);
#pragma omp simd
    for (int j = 0; j < V; j++) probs[j] = vexpf(logits[j] * inv_t - lse);
    /* The candidates: every id, or the top-k / top-p prefix of ids sorted by probability. */
    int n = V, filtered = (cfg->top_k > 0 && cfg->top_k < V) || cfg->top_p < 1.0f;
    double mass = 0.0;
    if (filtered) {
        for (int j = 0; j < V; j++) order[j] = j;
        qsort_r(order, V, sizeof(int), by_prob_desc, probs);
        if (cfg->top_k > 0 && cfg->top_k < n) n = cfg->top_k;
        double cum = 0.0;
        int keep = n;
        for (int i = 0; i < n; i++) {
            cum += probs[order[i]];
            if (cum >= cfg->top_p) { keep = i + 1; break; }
        }
        n = keep;
        for (int i = 0; i < n; i++) mass += probs[order[i]];
    } else {
        for (int j = 0; j < V; j++) mass += probs[j];
    }
    double u = rng_uniform_double(rng) * mass, cum = 0.0;
    tok = filtered ? order[n - 1] : V - 1; /* if rounding leaves u past the end */
    for (int i = 0; i < n; i++) {
        int id = filtered ? order[i] : i;
        cum += probs[id];
        if (u < cum) { tok = id; break; }
    }
    *logp_sample = (float)(log((double)probs[tok]) - log(mass));
    *logp_policy = logits[tok] - lse1;
    return tok;
}

/* ---------------------------------------------------------------- per-sequence state */

typedef struct {
    int active;
    int len;          /* tokens in the KV cache */
    int next;         /* the token to feed at position len */
    int queue[64];    /* tool tokens waiting to be appended */
    int q_head, q_len;
    size_t text_cap;
    int cap;          /* token capacity of the completion arrays */
    Rng rng;
} SeqState;

static int completion_alloc(Completion *c, int cap) {
    memset(c, 0, sizeof *c);
    c->tokens = malloc((size_t)cap * sizeof(int));
    c->logp_sample = malloc((size_t)cap * sizeof(float));
    c->logp_policy = malloc((size_t)cap * sizeof(float));
    c->is_tool = malloc((size_t)cap);
    c->text = malloc(256);
    if (!c->tokens || !c->logp_sample || !c->logp_policy || !c->is_tool || !c->text) return -1;
    c->text[0] = 0;
    return 0;
}

/* The longest stop string: how far back a new token can complete one. */
static size_t max_stop_len(const SamplerConfig *cfg) {
    size_t m = 0;
    for (int i = 0; i < cfg->n_stop_strings; i++) {
        size_t l = strlen(cfg->stop_strings[i]);
        if (l > m) m = l;
    }
    return m;
}

/* Append one token to a completion: record it, extend the text, and decide whether the
 * sequence ends here. Returns 0, or -1 when out of memory. */
static int append_token(Completion *c, SeqState *st, const Tokenizer *tok, const SamplerConfig *cfg,
                        size_t msl, int token, int is_tool, float lps, float lpp) {
    c->tokens[c->n] = token;
    c->logp_sample[c->n] = is_tool ? 0.0f : lps;
    c->logp_policy[c->n] = is_tool ? 0.0f : lpp;
    c->is_tool[c->n] = (unsigned char)is_tool;
    c->n++;
    c->n_tool += is_tool;
    if (!is_tool && token == cfg->stop_token) {
        c->finish = FINISH_STOP_TOKEN;
        st->active = 0;
        return 0;
    }
    size_t blen = 0;
    const unsigned char *b = tok ? tokenizer_token_bytes(tok, token, &blen) : NULL;
    if (!b) blen = 0; /* no tokenizer (benchmarks): tokens only, no text */
    if (c->text_len + blen + 1 > st->text_cap) {
        size_t cap = (st->text_cap ? st->text_cap : 256) * 2;
        while (cap < c->text_len + blen + 1) cap *= 2;
        char *t = realloc(c->text, cap);
        if (!t) return -1;
        c->text = t;
        st->text_cap = cap;
    }
    memcpy(c->text + c->text_len, b, blen);
    size_t old = c->text_len;
    c->text_len += blen;
    c->text[c->text_len] = 0;
    /* A stop string may end inside this token: search the window it could start in. */
    size_t from = old + 1 > msl ? old + 1 - msl : 0;
    for (int i = 0; i < cfg->n_stop_strings; i++) {
        size_t sl = strlen(cfg->stop_strings[i]);
        const char *hit = sl ? memmem(c->text + from, c->text_len - from, cfg->stop_strings[i], sl) : NULL;
        if (hit) {
            c->text_len = (size_t)(hit - c->text);
            c->text[c->text_len] = 0;
            c->finish = FINISH_STOP_STRING;
            st->active = 0;
            return 0;
        }
    }
    if (c->n >= cfg->max_new_tokens) { c->finish = FINISH_LENGTH; st->active = 0; }
    return 0;
}

/* ---------------------------------------------------------------- generation */

int sampler_generate(Sampler *s, const Tokenizer *tok, const SamplerConfig *cfg,
                     const int *const *prompts, const int *prompt_lens, const uint64_t *stream_ids,
                     int B, Completion *out, SamplerToolFn tool, SamplerTokenFn on_token, void *user,
                     char *err, size_t errlen) {
    const ModelConfig *mc = &s->dec.model->cfg;
    int V = mc->vocab, T = mc->max_seq;
    if (B < 1 || B > s->max_batch) {
        snprintf(err, errlen, "sampler: batch of %d, sampler made for at most %d", B, s->max_batch);
        return -1;
    }
    if (cfg->max_new_tokens < 1) { snprintf(err, errlen, "sampler: max_new_tokens must be at least 1"); return -1; }
    int total = 0;
    for (int b = 0; b < B; b++) {
        if (prompt_lens[b] < 1 || prompt_lens[b] > T) {
            snprintf(err, errlen, "sampler: prompt %d has %d tokens; the context of %d takes 1 to %d", b,
                     prompt_lens[b], T, T);
            return -1;
        }
        total += prompt_lens[b];
    }
    SeqState *st = calloc(B, sizeof *st);
    int *rows_tok = malloc((size_t)(total > B ? total : B) * sizeof(int));
    int *rows_pos = malloc((size_t)(total > B ? total : B) * sizeof(int));
    int *rows_slot = malloc((size_t)(total > B ? total : B) * sizeof(int));
    unsigned char *want = calloc((size_t)total, 1);
    int *row_seq = malloc((size_t)B * sizeof(int));
    int rc = -1;
    memset(out, 0, (size_t)B * sizeof *out);
    if (!st || !rows_tok || !rows_pos || !rows_slot || !want || !row_seq) goto oom;
    for (int b = 0; b < B; b++) {
        st[b].cap = cfg->max_new_tokens;
        if (completion_alloc(&out[b], st[b].cap)) goto oom;
        st[b].text_cap = 256;
        st[b].rng = rng_derive(cfg->seed, stream_ids ? stream_ids[b] : (uint64_t)b);
        st[b].active = 1;
    }
    /* Prefill: every prompt token of every sequence in one pass; logits for the last. */
    int R = 0;
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < prompt_lens[b]; i++, R++) {
            rows_tok[R] = prompts[b][i];
            rows_pos[R] = i;
            rows_slot[R] = b;
        }
        want[R - 1] = 1;
        row_seq[b] = b;
        st[b].len = prompt_lens[b];
    }
    if (decoder_forward(&s->dec, rows_tok, rows_pos, rows_slot, R, want, s->logits, err, errlen)) goto fail;
    int nrows = B;
    size_t msl = max_stop_len(cfg);
    for (;;) {
        /* Choose each row's next token: a queued tool token, else a sample. Rows own
         * their sequence's state and rng, so this runs in parallel. */
        int picked[nrows > 0 ? nrows : 1], forced[nrows > 0 ? nrows : 1];
        float lps[nrows > 0 ? nrows : 1], lpp[nrows > 0 ? nrows : 1];
#pragma omp parallel for schedule(static) if (nrows >= 4)
        for (int r = 0; r < nrows; r++) {
            SeqState *q = &st[row_seq[r]];
            forced[r] = q->q_len > 0;
            if (forced[r]) {
                picked[r] = q->queue[q->q_head++];
                q->q_len--;
                lps[r] = lpp[r] = 0.0f;
            } else {
                picked[r] = sampler_pick(s->logits + (size_t)r * V, V, cfg, &q->rng, s->probs + (size_t)r * V,
                                         s->order + (size_t)r * V, &lps[r], &lpp[r]);
            }
        }
        /* Append in sequence order (callbacks are not assumed thread-safe). */
        for (int r = 0; r < nrows; r++) {
            int b = row_seq[r];
            if (append_token(&out[b], &st[b], tok, cfg, msl, picked[r], forced[r], lps[r], lpp[r])) goto oom;
            if (on_token) on_token(user, b, picked[r], forced[r]);
            if (st[b].active && tool && !forced[r] && st[b].q_len == 0) {
                int room = cfg->max_new_tokens - out[b].n;
                int cap = room < 64 ? room : 64;
                int k = cap > 0 ? tool(user, b, out[b].text, out[b].text_len, st[b].queue, cap) : 0;
                st[b].q_head = 0;
                st[b].q_len = k > 0 ? (k < cap ? k : cap) : 0;
            }
            if (st[b].active && st[b].len >= T) { out[b].finish = FINISH_CONTEXT; st[b].active = 0; }
            st[b].next = picked[r];
        }
        /* Next step: one row per unfinished sequence, feeding its newest token. */
        int n = 0;
        for (int r = 0; r < nrows; r++) {
            int b = row_seq[r];
            if (!st[b].active) continue;
            row_seq[n] = b;
            rows_tok[n] = st[b].next;
            rows_pos[n] = st[b].len++;
            rows_slot[n] = b;
            n++;
        }
        nrows = n;
        if (nrows == 0) break;
        if (decoder_forward(&s->dec, rows_tok, rows_pos, rows_slot, nrows, NULL, s->logits, err, errlen)) goto fail;
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "sampler: out of memory");
fail:
    for (int b = 0; b < B; b++) completion_free(&out[b]);
done:
    free(st); free(rows_tok); free(rows_pos); free(rows_slot); free(want); free(row_seq);
    return rc;
}

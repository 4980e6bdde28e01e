/* rollout: prompt encoding, the calculator tool, batched sampling and parallel scoring. */
#include "engine/rollout.h"
#include "verifiers/arith.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the calculator */

/* When the text ends with "<<EXPR=" (the last "<<" still open), append the exact value of
 * EXPR and ">>". An expression that does not evaluate gets nothing: the policy goes on. */
int calculator_tool(void *user, int seq, const char *text, size_t len, int *out, int cap) {
    (void)seq;
    const Tokenizer *tok = user;
    if (len < 4 || text[len - 1] != '=') return 0;
    size_t open = len;
    for (size_t i = len - 1; i >= 1; i--) {
        if (text[i] == '>' && text[i - 1] == '>') return 0;   /* closed since */
        if (text[i] == '<' && text[i - 1] == '<') { open = i + 1; break; }
    }
    if (open >= len - 1 || len - 1 - open > 256) return 0;
    const char *expr = text + open;
    size_t elen = len - 1 - open;
    if (memchr(expr, '=', elen)) return 0;
    char value[160];
    if (arith_eval(expr, elen, value, sizeof value - 2)) return 0;
    strcat(value, ">>");
    size_t vlen = strlen(value);
    int buf[160];
    size_t n = tokenizer_encode(tok, (const unsigned char *)value, vlen, buf);
    if ((int)n > cap) return 0;
    memcpy(out, buf, n * sizeof *out);
    return (int)n;
}

/* ---------------------------------------------------------------- generation */

int rollout_encode_prompt(const Tokenizer *tok, const char *prompt, int max_seq, int max_new, int **out, int *len,
                          char *err, size_t errlen) {
    size_t n = strlen(prompt);
    int *t = malloc((n + 1) * sizeof *t);
    if (!t) { snprintf(err, errlen, "out of memory"); return -1; }
    size_t k = tokenizer_encode(tok, (const unsigned char *)prompt, n, t);
    t[k++] = TOKENIZER_SEP;
    if ((int)k + max_new > max_seq) {
        free(t);
        snprintf(err, errlen, "a prompt of %zu tokens leaves no room for %d new tokens in the context of %d", k, max_new,
                 max_seq);
        return -1;
    }
    *out = t;
    *len = (int)k;
    return 0;
}

void rollout_free(Rollout *r) {
    if (r->comp)
        for (int i = 0; i < r->n; i++) completion_free(&r->comp[i]);
    if (r->prompt)
        for (int t = 0; t < r->n_tasks; t++) free(r->prompt[(size_t)t * r->group]);
    if (r->detail)
        for (int i = 0; i < r->n; i++) cJSON_Delete(r->detail[i]);
    free(r->prompt);
    free(r->prompt_len);
    free(r->comp);
    free(r->reward);
    free(r->vreward);
    free(r->status);
    free(r->detail);
    free(r->vname);
    memset(r, 0, sizeof *r);
}

int rollout_generate(Rollout *r, Sampler *s, const Tokenizer *tok, const SamplerConfig *cfg,
                     const Task *const *tasks, int n_tasks, int G, int calculator, uint64_t stream_base,
                     int task0, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    int n = n_tasks * G;
    r->n_tasks = n_tasks;
    r->group = G;
    r->n = n;
    r->prompt = calloc((size_t)n, sizeof *r->prompt);
    r->prompt_len = calloc((size_t)n, sizeof *r->prompt_len);
    r->comp = calloc((size_t)n, sizeof *r->comp);
    uint64_t *ids = malloc((size_t)n * sizeof *ids);
    if (!r->prompt || !r->prompt_len || !r->comp || !ids) {
        free(ids);
        rollout_free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int T = s->dec.model->cfg.max_seq;
    for (int t = 0; t < n_tasks; t++) {
        int *p, len;
        if (rollout_encode_prompt(tok, tasks[t]->prompt, T, cfg->max_new_tokens, &p, &len, err, errlen)) {
            char why[512];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "task %s: %s", tasks[t]->id[0] ? tasks[t]->id : "(no id)", why);
            free(ids);
            rollout_free(r);
            return -1;
        }
        for (int g = 0; g < G; g++) {
            r->prompt[t * G + g] = p;
            r->prompt_len[t * G + g] = len;
            ids[t * G + g] = stream_base * 1000003ull + (uint64_t)((task0 + t) * G + g);
        }
    }
    /* The sampler's batch is bounded by its max_batch: sample in chunks of whole rows. */
    int rc = 0;
    for (int off = 0; off < n && !rc; off += s->max_batch) {
        int B = n - off < s->max_batch ? n - off : s->max_batch;
        rc = sampler_generate(s, tok, cfg, (const int *const *)r->prompt + off, r->prompt_len + off, ids + off, B,
                              r->comp + off, calculator ? calculator_tool : NULL, NULL, (void *)tok, err, errlen);
    }
    free(ids);
    if (rc) rollout_free(r);
    return rc;
}

long rollout_policy_tokens(const Rollout *r) {
    long n = 0;
    for (int i = 0; i < r->n; i++) n += r->comp[i].n - r->comp[i].n_tool;
    return n;
}

/* ---------------------------------------------------------------- scoring */

int rollout_verify(Rollout *r, const Task *const *tasks, const WeightedVerifier *vs, int nv,
                   const Verifier *const *per_task, int threads, char *err, size_t errlen) {
    WeightedVerifier one = { NULL, 1.0 };
    if (!vs) { vs = &one; nv = 1; }
    if (nv < 1 || nv > ROLLOUT_MAX_VERIFIERS) { snprintf(err, errlen, "between 1 and %d verifiers", ROLLOUT_MAX_VERIFIERS); return -1; }
    r->n_verifiers = nv;
    r->reward = calloc((size_t)r->n, sizeof *r->reward);
    r->vreward = calloc((size_t)r->n * nv, sizeof *r->vreward);
    r->status = calloc((size_t)r->n, sizeof *r->status);
    r->detail = calloc((size_t)r->n, sizeof *r->detail);
    r->vname = calloc((size_t)nv, sizeof *r->vname);
    if (!r->reward || !r->vreward || !r->status || !r->detail || !r->vname) { snprintf(err, errlen, "out of memory"); return -1; }
    double wsum = 0;
    for (int k = 0; k < nv; k++) { r->vname[k] = vs[k].v ? vs[k].v->name : "task"; wsum += vs[k].weight; }
    int oom = 0;
    if (threads <= 0) threads = omp_get_max_threads();
    /* Each sequence's verdicts land in its own slots: the order never depends on threads. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) reduction(| : oom)
    for (int i = 0; i < r->n; i++) {
        const Task *t = tasks[i / r->group];
        double sum = 0;
        for (int k = 0; k < nv; k++) {
            Verdict v;
            if (verdict_init(&v)) { oom = 1; continue; }
            const Verifier *ver = vs[k].v ? vs[k].v : per_task[i / r->group];
            ver->score(ver, t, r->comp[i].text, r->comp[i].text_len, &v);
            r->vreward[(size_t)i * nv + k] = v.reward;
            sum += vs[k].weight * v.reward;
            if (k == 0) {
                snprintf(r->status[i], sizeof r->status[i], "%s", v.status);
                r->detail[i] = v.detail;
                v.detail = NULL;
            }
            verdict_free(&v);
        }
        r->reward[i] = sum / wsum;
    }
    if (oom) { snprintf(err, errlen, "out of memory while verifying"); return -1; }
    return 0;
}

/* evaluate: greedy and sampled pass rates, pass@k and majority vote. */
#include "engine/evaluate.h"
#include "engine/rl_loss.h"
#include "engine/rollout.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer a verdict detail reports, as text ("" when none). */
static void answer_of(const cJSON *detail, char *out, size_t n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(detail, "answer");
    out[0] = 0;
    if (cJSON_IsString(a)) snprintf(out, n, "%s", a->valuestring);
    else if (cJSON_IsNumber(a)) snprintf(out, n, "%.17g", a->valuedouble);
}

/* maj@k for one task: the most frequent non-empty answer among its G samples. */
static int majority_correct(const Rollout *r, int t) {
    int G = r->group, best = -1, best_count = 0;
    char a[128], b[128];
    for (int i = 0; i < G; i++) {
        answer_of(r->detail[t * G + i], a, sizeof a);
        if (!a[0]) continue;
        int count = 0;
        for (int j = 0; j < G; j++) {
            answer_of(r->detail[t * G + j], b, sizeof b);
            count += strcmp(a, b) == 0;
        }
        if (count > best_count) { best_count = count; best = i; }
    }
    return best >= 0 && r->reward[t * G + best] == 1.0;
}

int evaluate_tasks(Sampler *s, const Tokenizer *tok, const Task *const *tasks, const Verifier *const *verifiers,
                   int n, const EvalConfig *cfg, EvalResult *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    res->n = n;
    res->k = cfg->k;
    if (n <= 0) return 0;
    SamplerConfig sc = { .temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .max_new_tokens = cfg->max_new_tokens,
                         .stop_token = TOKENIZER_EOT, .seed = cfg->seed };
    Rollout r;
    if (rollout_generate(&r, s, tok, &sc, tasks, n, 1, cfg->calculator, 0, 0, err, errlen)) return -1;
    if (rollout_verify(&r, tasks, NULL, 0, verifiers, cfg->threads, err, errlen)) { rollout_free(&r); return -1; }
    long len = 0;
    for (int i = 0; i < n; i++) {
        res->solved_greedy += r.reward[i] == 1.0;
        if (cfg->solved) cfg->solved[i] = r.reward[i] == 1.0;
        len += r.comp[i].n;
    }
    res->pass1_greedy = (double)res->solved_greedy / n;
    res->mean_len = (double)len / n;
    rollout_free(&r);
    if (cfg->k <= 0) return 0;

    sc.temperature = (float)cfg->temperature;
    if (rollout_generate(&r, s, tok, &sc, tasks, n, cfg->k, cfg->calculator, 1, 0, err, errlen)) return -1;
    if (rollout_verify(&r, tasks, NULL, 0, verifiers, cfg->threads, err, errlen)) { rollout_free(&r); return -1; }
    double p1 = 0, pk = 0, maj = 0;
    for (int t = 0; t < n; t++) {
        int c = 0;
        for (int i = 0; i < cfg->k; i++) c += r.reward[t * cfg->k + i] == 1.0;
        p1 += (double)c / cfg->k;
        pk += rl_pass_at_k(cfg->k, c, cfg->k);
        maj += majority_correct(&r, t);
    }
    res->pass1_sampled = p1 / n;
    res->pass_at_k = pk / n;
    res->maj_at_k = maj / n;
    rollout_free(&r);
    return 0;
}

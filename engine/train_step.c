/* train_step: what the steps share, the SFT step, the reference snapshot and evaluation
 * (the RL step is in train_rl.c). Under MPI every rank draws the same tasks (the
 * curriculum runs identically everywhere), works on its share of them (dist_share), and
 * the ranks sum what they computed, so the step is the one a single process takes. */
#include "engine/dist.h"
#include "engine/evaluate.h"
#include "engine/train_common.h"
#include "engine/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- shared pieces */

int trainer_grow(Trainer *t, size_t n, char *err, size_t errlen) {
    if (n <= t->cap) return 0;
    size_t cap = n + n / 2;
    int *in = realloc(t->in, cap * sizeof *in), *tg = in ? realloc(t->tg, cap * sizeof *tg) : NULL;
    if (in) t->in = in;
    if (tg) t->tg = tg;
    float *w = tg ? realloc(t->w, cap * sizeof *w) : NULL;
    if (w) t->w = w;
    float *mask = w ? realloc(t->mask, cap * sizeof *mask) : NULL;
    if (mask) t->mask = mask;
    float *old = mask ? realloc(t->lp_old, cap * sizeof *old) : NULL;
    if (old) t->lp_old = old;
    float *ref = old ? realloc(t->lp_ref, cap * sizeof *ref) : NULL;
    if (ref) t->lp_ref = ref;
    if (!ref) { snprintf(err, errlen, "out of memory for a batch of %zu tokens", n); return -1; }
    t->cap = cap;
    return 0;
}

/* The stage's learning rate after its warm-up, constant after; the optimiser's own
 * schedule is off (a stage that ends by promotion has no known length). */
void trainer_set_optimizer(Trainer *t, const StageSettings *s) {
    long k = curriculum_stage_step(t->cur) + 1;
    double warm = s->warmup > 0 && k < s->warmup ? (double)k / s->warmup : 1.0;
    t->opt.cfg.lr = (float)(s->lr * warm);
    t->opt.cfg.warmup_steps = 0;
    t->opt.cfg.total_steps = 0;
    t->opt.cfg.grad_clip = (float)s->grad_clip;
    t->opt.cfg.weight_decay = (float)s->weight_decay;
}

int trainer_update(Trainer *t, double *gnorm, float *lr) {
    char err[256];
    if (adamw_update(&t->opt, &t->m, gnorm, lr, err, sizeof err)) return STEP_SKIPPED_NONFINITE;
    return 0;
}

void trainer_add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

int trainer_sum_parts(double part, double *total, char *err, size_t errlen) {
    double sums[2] = { isfinite(part) ? part : 0.0, isfinite(part) ? 0.0 : 1.0 };
    if (dist_allreduce_sum_f64(sums, 2, err, errlen)) return -1;
    *total = sums[1] > 0 ? NAN : sums[0];
    return 0;
}

int trainer_sync_grads(Trainer *t, char *err, size_t errlen) {
    if (dist_size() == 1) return 0;
    return dist_allreduce_sum_f32(t->m.grads_memory, t->m.num_params, err, errlen);
}

/* ---------------------------------------------------------------- drawing tasks */

#define MAX_TOO_LONG 1000   /* tasks in a row that do not fit before the stage is an error */

/* Tokens a task takes: its prompt and <|sep|>, plus (SFT) its reference and <|endoftext|>. */
static int task_tokens(const Trainer *t, const Task *k, int with_reference) {
    size_t lp = strlen(k->prompt), lr = with_reference ? strlen(k->reference) : 0;
    int *buf = malloc((lp + lr + 1) * sizeof *buf);
    if (!buf) return -1;
    int n = (int)tokenizer_encode(&t->tok, (const unsigned char *)k->prompt, lp, buf) + 1;
    if (with_reference) n += (int)tokenizer_encode(&t->tok, (const unsigned char *)k->reference, lr, buf) + 1;
    free(buf);
    return n;
}

/* The next task of the stage that fits the context: a source such as GSM8K's JSONL may
 * hold prompts longer than a small policy's context. Those are skipped and counted
 * (t->too_long), with one warning per run; the stream stays deterministic. */
int trainer_draw_fitting(Trainer *t, int si, Task *out, char *err, size_t errlen) {
    const StageSettings *s = &t->set[si];
    int sft = curriculum_stage(t->cur, si)->mode == STAGE_SFT, T = t->m.cfg.max_seq;
    for (int tries = 0; tries < MAX_TOO_LONG; tries++) {
        if (curriculum_draw(t->cur, out, err, errlen)) return -1;
        int n = task_tokens(t, out, sft);
        if (n < 0) { task_free(out); snprintf(err, errlen, "out of memory"); return -1; }
        if (sft ? n - 1 <= T : n + s->max_new_tokens <= T) return 0;
        if (!t->too_long++ && dist_rank() == 0)
            fprintf(stderr, "rlvr train: warning: task %s needs %d tokens%s, more than the context of %d: skipped "
                            "(tasks that do not fit are skipped and counted as tasks_too_long)\n",
                    out->id, n, sft ? "" : " before its completion", T);
        task_free(out);
    }
    snprintf(err, errlen, "stage %s: %d tasks in a row do not fit the context of %d tokens (raise `context`)",
             curriculum_stage(t->cur, si)->name, MAX_TOO_LONG, T);
    return -1;
}

/* ---------------------------------------------------------------- SFT */

int trainer_sft_step(Trainer *t, int si, cJSON *metrics, char *err, size_t errlen) {
    long too_long0 = t->too_long;
    const StageSettings *s = &t->set[si];
    const Stage *st = curriculum_stage(t->cur, si);
    int B = (int)s->batch_size, T = t->m.cfg.max_seq;
    Task *tasks = calloc((size_t)B, sizeof *tasks);
    int **seq = calloc((size_t)B, sizeof *seq), *len = calloc((size_t)B, sizeof *len), *np = calloc((size_t)B, sizeof *np);
    int rc = -1, drawn = 0;
    if (!tasks || !seq || !len || !np) { snprintf(err, errlen, "out of memory"); goto done; }
    for (int b = 0; b < B; b++, drawn++) {
        if (trainer_draw_fitting(t, si, &tasks[b], err, errlen)) goto done;
        const Task *k = &tasks[b];
        if (!k->reference[0]) {
            snprintf(err, errlen, "stage %s: task %s has no reference to learn (an sft stage needs worked solutions)", st->name, k->id);
            drawn++;
            goto done;
        }
        size_t lp = strlen(k->prompt), lr = strlen(k->reference);
        if (!(seq[b] = malloc((lp + lr + 2) * sizeof(int)))) { snprintf(err, errlen, "out of memory"); drawn++; goto done; }
        np[b] = (int)tokenizer_encode(&t->tok, (const unsigned char *)k->prompt, lp, seq[b]);
        seq[b][np[b]++] = TOKENIZER_SEP;
        int nr = (int)tokenizer_encode(&t->tok, (const unsigned char *)k->reference, lr, seq[b] + np[b]);
        len[b] = np[b] + nr + 1;
        seq[b][len[b] - 1] = TOKENIZER_EOT;
        if (len[b] - 1 > T) {
            snprintf(err, errlen, "stage %s: task %s is %d tokens, longer than the context of %d (raise `context`)", st->name,
                     k->id, len[b], T);
            drawn++;
            goto done;
        }
    }
    /* This rank's rows (all of them on one process), padded to their own longest; the
     * denominator and the token count are the whole batch's. */
    int lo, hi;
    dist_share(B, &lo, &hi);
    int nb = hi - lo, maxT = 1;
    long denom_tokens = 0, tokens = 0;
    for (int b = 0; b < B; b++) {
        denom_tokens += len[b] - np[b];   /* the reference and <|endoftext|> */
        tokens += len[b] - 1;
        if (b >= lo && b < hi && len[b] - 1 > maxT) maxT = len[b] - 1;
    }
    float denom = (float)denom_tokens;
    if (trainer_grow(t, (size_t)(nb > 0 ? nb : 1) * maxT, err, errlen)) goto done;
    for (int b = 0; b < nb; b++)
        for (int p = 0; p < maxT; p++) {
            size_t k = (size_t)b * maxT + p;
            const int *q = seq[lo + b];
            int real = p < len[lo + b] - 1;
            t->in[k] = real ? q[p] : TOKENIZER_PAD;
            t->tg[k] = real ? q[p + 1] : TOKENIZER_PAD;
            t->w[k] = real && p + 1 >= np[lo + b] ? 1.0f : 0.0f;
        }
    trainer_set_optimizer(t, s);
    double t0 = util_now(), gnorm = NAN;
    float lr = t->opt.cfg.lr;
    double part = 0;   /* this share's loss: the shares' losses add up to the batch's */
    if (nb > 0) {
        if (model_forward(&t->m, t->in, t->tg, t->w, denom, nb, maxT, err, errlen)) goto done;
        part = t->m.loss;
    }
    double loss;
    if (trainer_sum_parts(part, &loss, err, errlen)) goto done;
    rc = 0;
    if (!isfinite(loss)) rc = STEP_SKIPPED_NONFINITE;
    else {
        model_zero_grad(&t->m);
        if (nb > 0) model_backward(&t->m, t->in, t->w, denom);
        if (trainer_sync_grads(t, err, errlen)) { rc = -1; goto done; }
        rc = trainer_update(t, &gnorm, &lr);
    }
    double dt = util_now() - t0;
    trainer_add_num(metrics, "loss", loss);
    trainer_add_num(metrics, "grad_norm", gnorm);
    trainer_add_num(metrics, "learning_rate", lr);
    trainer_add_num(metrics, "tokens_per_s_train", tokens / (dt > 0 ? dt : 1e-9));
    trainer_add_num(metrics, "time_update_s", dt);
    if (t->too_long > too_long0) trainer_add_num(metrics, "tasks_too_long", (double)(t->too_long - too_long0));
done:
    for (int b = 0; b < drawn && b < B; b++) task_free(&tasks[b]);
    for (int b = 0; b < B && seq; b++) free(seq[b]);
    free(tasks); free(seq); free(len); free(np);
    return rc;
}

/* ---------------------------------------------------------------- evaluation */

/* New tokens per evaluation: `eval_max_new_tokens`, else the most any stage samples. */
static long eval_max_new(const Trainer *t) {
    long max_new = t->run.eval_max_new_tokens;
    for (int i = 0; !max_new && i < curriculum_n_stages(t->cur); i++)
        if (t->set[i].max_new_tokens > max_new) max_new = t->set[i].max_new_tokens;
    return max_new;
}

/* Every rank's solved flags (its share lo..hi of n tasks) into solved, and the sum of
 * every share's completion lengths into *len_sum. */
static int gather_solved(unsigned char *solved, int lo, int hi, int n, double *len_sum, char *err, size_t errlen) {
    int size = dist_size(), cap = n + size;
    double *mine = malloc((size_t)(hi - lo + 1) * sizeof *mine), *all = malloc((size_t)cap * sizeof *all);
    int *counts = malloc((size_t)size * sizeof *counts), rc = -1;
    if (!mine || !all || !counts) { snprintf(err, errlen, "out of memory"); goto done; }
    for (int i = lo; i < hi; i++) mine[i - lo] = solved[i];
    mine[hi - lo] = *len_sum;
    if (dist_allgather_f64(mine, hi - lo + 1, all, cap, counts, err, errlen)) goto done;
    *len_sum = 0;
    int task = 0, at = 0;   /* the shares are contiguous and in rank order */
    for (int r = 0; r < size; r++) {
        for (int j = 0; j + 1 < counts[r] && task < n; j++) solved[task++] = all[at + j] != 0;
        *len_sum += all[at + counts[r] - 1];
        at += counts[r];
    }
    rc = task == n ? 0 : -1;
    if (rc) snprintf(err, errlen, "evaluation: the ranks returned %d results for %d tasks", task, n);
done:
    free(mine); free(all); free(counts);
    return rc;
}

int trainer_eval(Trainer *t, int calculator, double *pass1, double *mean_len, cJSON *by_group, char *err, size_t errlen) {
    int n = curriculum_n_eval(t->cur);
    const Task **tasks = malloc((size_t)(n ? n : 1) * sizeof *tasks);
    unsigned char *solved = calloc((size_t)(n ? n : 1), 1);
    if (!tasks || !solved) { free(tasks); free(solved); snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < n; i++) tasks[i] = curriculum_eval_task(t->cur, i);
    long max_new = eval_max_new(t);
    /* This rank's share of the set, then every rank's results in task order. */
    int lo, hi;
    dist_share(n, &lo, &hi);
    EvalConfig ec = { .calculator = calculator, .max_new_tokens = (int)max_new, .k = 0, .threads = t->threads,
                      .temperature = 1.0, .seed = (uint64_t)t->run.seed, .solved = solved + lo };
    EvalResult res;
    int rc = evaluate_tasks(&t->smp, &t->tok, tasks + lo, t->eval_ver + lo, hi - lo, &ec, &res, err, errlen);
    double len_sum = rc ? 0 : round(res.mean_len * (hi - lo));   /* a whole number of tokens */
    if (!rc && dist_size() > 1) rc = gather_solved(solved, lo, hi, n, &len_sum, err, errlen);
    int n_solved = 0;
    for (int i = 0; i < n; i++) n_solved += solved[i];
    /* pass@1 per value of the tasks' meta.steps, meta.distractors and meta.level (the
     * generators record them), to see where a policy stands on the difficulty ladder. */
    static const char *const by[] = { "steps", "distractors", "level" };
    for (int b = 0; !rc && by_group && b < 3; b++)
        for (int v = 0; v <= 16; v++) {
            int cnt = 0, ok = 0;
            for (int i = 0; i < n; i++) {
                const cJSON *st = cJSON_GetObjectItemCaseSensitive(tasks[i]->meta, by[b]);
                if (cJSON_IsNumber(st) && st->valuedouble == v) { cnt++; ok += solved[i]; }
            }
            if (!cnt || cnt == n) continue;
            char key[64];
            snprintf(key, sizeof key, "eval_pass_at_1/%s=%d", by[b], v);
            cJSON_AddNumberToObject(by_group, key, (double)ok / cnt);
        }
    free(tasks);
    free(solved);
    if (rc) return -1;
    *pass1 = n ? (double)n_solved / n : 0.0;
    *mean_len = n ? len_sum / n : 0.0;
    return 0;
}

int trainer_check_eval(Trainer *t, char *err, size_t errlen) {
    long max_new = eval_max_new(t);
    for (int i = 0; i < curriculum_n_eval(t->cur); i++) {
        const Task *task = curriculum_eval_task(t->cur, i);
        int *p, len;
        char why[512];
        if (rollout_encode_prompt(&t->tok, task->prompt, t->m.cfg.max_seq, (int)max_new, &p, &len, why, sizeof why)) {
            snprintf(err, errlen, "eval task %s: %s (raise `context` or lower `max_new_tokens`)", task->id, why);
            return -1;
        }
        free(p);
    }
    return 0;
}

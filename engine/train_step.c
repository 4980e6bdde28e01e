/* train_step: one SFT step, one RL step, the reference snapshot and evaluation. */
#include "engine/evaluate.h"
#include "engine/trainer.h"
#include "engine/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- shared pieces */

static int grow(Trainer *t, size_t n, char *err, size_t errlen) {
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
static void set_optimizer(Trainer *t, const StageSettings *s) {
    long k = curriculum_stage_step(t->cur) + 1;
    double warm = s->warmup > 0 && k < s->warmup ? (double)k / s->warmup : 1.0;
    t->opt.cfg.lr = (float)(s->lr * warm);
    t->opt.cfg.warmup_steps = 0;
    t->opt.cfg.total_steps = 0;
    t->opt.cfg.grad_clip = (float)s->grad_clip;
    t->opt.cfg.weight_decay = (float)s->weight_decay;
}

/* One optimiser update from the gradients in t->m; STEP_SKIPPED_NONFINITE when the
 * gradient norm is not finite (parameters and moments untouched). */
static int update(Trainer *t, double *gnorm, float *lr) {
    char err[256];
    if (adamw_update(&t->opt, &t->m, gnorm, lr, err, sizeof err)) return STEP_SKIPPED_NONFINITE;
    return 0;
}

static void add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
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
static int draw_fitting(Trainer *t, int si, Task *out, char *err, size_t errlen) {
    const StageSettings *s = &t->set[si];
    int sft = curriculum_stage(t->cur, si)->mode == STAGE_SFT, T = t->m.cfg.max_seq;
    for (int tries = 0; tries < MAX_TOO_LONG; tries++) {
        if (curriculum_draw(t->cur, out, err, errlen)) return -1;
        int n = task_tokens(t, out, sft);
        if (n < 0) { task_free(out); snprintf(err, errlen, "out of memory"); return -1; }
        if (sft ? n - 1 <= T : n + s->max_new_tokens <= T) return 0;
        if (!t->too_long++)
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
    int maxT = 1;
    for (int b = 0; b < B; b++, drawn++) {
        if (draw_fitting(t, si, &tasks[b], err, errlen)) goto done;
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
        if (len[b] - 1 > maxT) maxT = len[b] - 1;
    }
    if (grow(t, (size_t)B * maxT, err, errlen)) goto done;
    float denom = 0;
    long tokens = 0;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < maxT; p++) {
            size_t k = (size_t)b * maxT + p;
            int real = p < len[b] - 1;
            t->in[k] = real ? seq[b][p] : TOKENIZER_PAD;
            t->tg[k] = real ? seq[b][p + 1] : TOKENIZER_PAD;
            t->w[k] = real && p + 1 >= np[b] ? 1.0f : 0.0f;
            denom += t->w[k];
            tokens += real;
        }
    set_optimizer(t, s);
    double t0 = util_now(), gnorm = NAN;
    float lr = t->opt.cfg.lr;
    if (model_forward(&t->m, t->in, t->tg, t->w, denom, B, maxT, err, errlen)) goto done;
    double loss = t->m.loss;
    rc = 0;
    if (!isfinite(loss)) rc = STEP_SKIPPED_NONFINITE;
    else {
        model_zero_grad(&t->m);
        model_backward(&t->m, t->in, t->w, denom);
        rc = update(t, &gnorm, &lr);
    }
    double dt = util_now() - t0;
    add_num(metrics, "loss", loss);
    add_num(metrics, "grad_norm", gnorm);
    add_num(metrics, "learning_rate", lr);
    add_num(metrics, "tokens_per_s_train", tokens / (dt > 0 ? dt : 1e-9));
    add_num(metrics, "time_update_s", dt);
    if (t->too_long > too_long0) add_num(metrics, "tasks_too_long", (double)(t->too_long - too_long0));
done:
    for (int b = 0; b < drawn && b < B; b++) task_free(&tasks[b]);
    for (int b = 0; b < B && seq; b++) free(seq[b]);
    free(tasks); free(seq); free(len); free(np);
    return rc;
}

/* ---------------------------------------------------------------- RL: sampling */

typedef struct {
    Task *tasks;       /* (n_tasks) */
    const Task **ptr;
    Rollout r;
    int n_tasks, have_rollout;
} Round;

static void round_free(Round *rd) {
    for (int i = 0; i < rd->n_tasks; i++) task_free(&rd->tasks[i]);
    free(rd->tasks);
    free(rd->ptr);
    if (rd->have_rollout) rollout_free(&rd->r);
    memset(rd, 0, sizeof *rd);
}

/* Draw n prompts, sample G completions each, score them. */
static int sample_round(Trainer *t, int si, int n, uint64_t stream, Round *rd, double *t_sample, double *t_verify,
                        char *err, size_t errlen) {
    const StageSettings *s = &t->set[si];
    memset(rd, 0, sizeof *rd);
    rd->tasks = calloc((size_t)n, sizeof *rd->tasks);
    rd->ptr = calloc((size_t)n, sizeof *rd->ptr);
    if (!rd->tasks || !rd->ptr) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < n; i++) {
        if (draw_fitting(t, si, &rd->tasks[i], err, errlen)) return -1;
        rd->n_tasks++;
        rd->ptr[i] = &rd->tasks[i];
    }
    SamplerConfig sc = { .temperature = (float)s->temperature, .top_k = 0, .top_p = (float)s->top_p,
                         .max_new_tokens = (int)s->max_new_tokens, .stop_token = TOKENIZER_EOT,
                         .seed = (uint64_t)t->run.seed };
    double t0 = util_now();
    if (rollout_generate(&rd->r, &t->smp, &t->tok, &sc, rd->ptr, n, (int)s->group_size,
                         s->calculator && !t->calculator_off, stream, err, errlen))
        return -1;
    rd->have_rollout = 1;
    double t1 = util_now();
    if (rollout_verify(&rd->r, rd->ptr, t->ver[si], t->n_ver[si], NULL, t->threads, err, errlen)) return -1;
    *t_sample += t1 - t0;
    *t_verify += util_now() - t1;
    if (s->truncated == TRUNC_PENALIZE)
        for (int i = 0; i < rd->r.n; i++)
            if (rd->r.comp[i].finish == FINISH_LENGTH || rd->r.comp[i].finish == FINISH_CONTEXT) rd->r.reward[i] = 0.0;
    return 0;
}

static void write_sample(Trainer *t, int si, const Round *rd, int i) {
    if (!t->samples) return;
    const Rollout *r = &rd->r;
    cJSON *o = cJSON_CreateObject();
    char *prompt = util_utf8_clean(rd->tasks[i / r->group].prompt, strlen(rd->tasks[i / r->group].prompt));
    char *text = util_utf8_clean(r->comp[i].text, r->comp[i].text_len);
    if (o && prompt && text) {
        cJSON_AddNumberToObject(o, "step", (double)t->step + 1);
        cJSON_AddStringToObject(o, "stage", curriculum_stage(t->cur, si)->name);
        cJSON_AddStringToObject(o, "task", rd->tasks[i / r->group].id);
        cJSON_AddStringToObject(o, "prompt", prompt);
        cJSON_AddStringToObject(o, "completion", text);
        cJSON_AddNumberToObject(o, "reward", r->reward[i]);
        cJSON_AddStringToObject(o, "status", r->status[i]);
        cJSON_AddStringToObject(o, "finish", sampler_finish_name(r->comp[i].finish));
        if (r->detail[i]) cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(r->detail[i], 1));
        char *line = cJSON_PrintUnformatted(o);
        /* Flushed like metrics.jsonl: a killed run must not lose lines before its checkpoint. */
        if (line) { fprintf(t->samples, "%s\n", line); fflush(t->samples); }
        free(line);
    }
    free(prompt);
    free(text);
    cJSON_Delete(o);
}

/* ---------------------------------------------------------------- RL: the update */

typedef struct { const Rollout *r; int seq; double adv; } Row;

/* Rows per chunk of an update: the gradient of a minibatch accumulates over chunks. */
#define UPDATE_CHUNK 32

static int row_total_length(const Row *r) { return r->r->prompt_len[r->seq] + r->r->comp[r->seq].n; }

/* By length, ties by position, so the order is the same on every run. */
static int row_cmp_length(const void *a, const void *b) {
    const Row *x = a, *y = b;
    int lx = row_total_length(x), ly = row_total_length(y);
    if (lx != ly) return lx < ly ? -1 : 1;
    if (x->r != y->r) return x->r < y->r ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The loss tokens of a row, as build_rows masks them. */
static int row_loss_tokens(const StageSettings *s, const Row *row) {
    const Completion *c = &row->r->comp[row->seq];
    if (s->truncated == TRUNC_MASK && (c->finish == FINISH_LENGTH || c->finish == FINISH_CONTEXT)) return 0;
    return c->n - c->n_tool;
}

/* Lay the rows out as (rows, T) inputs/targets with the loss mask and old log-probs. */
static int build_rows(Trainer *t, const StageSettings *s, const Row *rows, int n, int *T_out, int *lens,
                      char *err, size_t errlen) {
    int T = 1;
    for (int i = 0; i < n; i++) {
        const Rollout *r = rows[i].r;
        int L = r->prompt_len[rows[i].seq] + r->comp[rows[i].seq].n;
        if (L - 1 > T) T = L - 1;
    }
    if (grow(t, (size_t)n * T, err, errlen)) return -1;
    for (int i = 0; i < n; i++) {
        const Rollout *r = rows[i].r;
        const Completion *c = &r->comp[rows[i].seq];
        const int *p = r->prompt[rows[i].seq];
        int lp = r->prompt_len[rows[i].seq], L = lp + c->n;
        int masked = s->truncated == TRUNC_MASK && (c->finish == FINISH_LENGTH || c->finish == FINISH_CONTEXT);
        lens[i] = 0;
        for (int x = 0; x < T; x++) {
            size_t k = (size_t)i * T + x;
            int real = x < L - 1;
            t->in[k] = !real ? TOKENIZER_PAD : x < lp ? p[x] : c->tokens[x - lp];
            t->tg[k] = !real ? TOKENIZER_PAD : x + 1 < lp ? p[x + 1] : c->tokens[x + 1 - lp];
            int j = x + 1 - lp;   /* the completion token this position predicts */
            int on = real && j >= 0 && !c->is_tool[j] && !masked;
            t->mask[k] = on ? 1.0f : 0.0f;
            t->lp_old[k] = on ? c->logp_policy[j] : 0.0f;
            lens[i] += on;
        }
    }
    *T_out = T;
    return 0;
}

/* Mean entropy of the policy's distribution over the masked positions of the last forward. */
static double masked_entropy(const Model *m, const float *mask, int B, int T, long *count) {
    int V = m->cfg.vocab;
    double sum = 0;
    long n = 0;
    for (size_t k = 0; k < (size_t)B * T; k++) {
        if (mask[k] == 0.0f) continue;
        const float *l = m->acts.logits + k * V;
        double lse = m->acts.lse[k], e = 0;
        for (int v = 0; v < V; v++) {
            double p = exp((double)l[v] - lse);
            e -= p * ((double)l[v] - lse);
        }
        sum += e;
        n++;
    }
    *count += n;
    return sum;
}

int trainer_snapshot_reference(Trainer *t, char *err, size_t errlen) {
    if (!t->have_ref) {
        if (model_create(&t->ref, &t->m.cfg, err, errlen)) return -1;
        t->have_ref = 1;
    }
    memcpy(t->ref.params_memory, t->m.params_memory, t->m.num_params * sizeof(float));
    return 0;
}

int trainer_rl_step(Trainer *t, int si, cJSON *metrics, char *err, size_t errlen) {
    long too_long0 = t->too_long;
    const StageSettings *s = &t->set[si];
    int P = (int)s->prompts, G = (int)s->group_size;
    int max_rounds = 1 + (s->dynamic_sampling ? (int)s->refill_budget : 0);
    Round *rounds = calloc((size_t)max_rounds, sizeof *rounds);
    Row *rows = calloc((size_t)P * G, sizeof *rows);
    int *lens = calloc((size_t)P * G, sizeof *lens);
    double *adv = malloc((size_t)G * sizeof *adv);
    int n_rounds = 0, kept = 0, rc = -1;
    double t_sample = 0, t_verify = 0, t_update = 0;
    if (!rounds || !rows || !lens || !adv) { snprintf(err, errlen, "out of memory"); goto done; }

    /* Sampling: one round, then refills of the groups that carried no signal. */
    long n_seq = 0, n_trunc = 0, gen_tokens = 0, len_max = 0, groups = 0, zero_right = 0, zero_wrong = 0;
    double rsum = 0, rsq = 0, pass = 0, vsum[ROLLOUT_MAX_VERIFIERS] = { 0 };
    while (kept < P && n_rounds < max_rounds) {
        Round *rd = &rounds[n_rounds];
        /* Streams 0 and 1 are evaluation's; a step's rounds get their own 256. */
        uint64_t stream = 2 + ((uint64_t)t->step << 8) + (uint64_t)n_rounds;
        if (sample_round(t, si, P - kept, stream, rd, &t_sample, &t_verify, err, errlen)) { n_rounds++; goto done; }
        n_rounds++;
        const Rollout *r = &rd->r;
        curriculum_record(t->cur, r->reward, r->n);
        for (int i = 0; i < r->n; i++) {
            rsum += r->reward[i];
            rsq += r->reward[i] * r->reward[i];
            pass += r->reward[i] == 1.0;
            for (int k = 0; k < r->n_verifiers; k++) vsum[k] += r->vreward[(size_t)i * r->n_verifiers + k];
            n_trunc += r->comp[i].finish == FINISH_LENGTH || r->comp[i].finish == FINISH_CONTEXT;
            gen_tokens += r->comp[i].n;
            if (r->comp[i].n > len_max) len_max = r->comp[i].n;
        }
        n_seq += r->n;
        for (int g = 0; g < r->n_tasks; g++) {
            const double *rw = r->reward + (size_t)g * G;
            int same = 1;
            for (int i = 1; i < G; i++) same &= rw[i] == rw[0];
            groups++;
            zero_right += same && rw[0] == 1.0;
            zero_wrong += same && rw[0] != 1.0;
            if (same && s->dynamic_sampling) continue;
            if (kept >= P) continue;
            rl_advantages(s->advantage, rw, 1, G, adv);
            for (int i = 0; i < G; i++) rows[kept * G + i] = (Row){ r, g * G + i, adv[i] };
            kept++;
        }
        if (n_rounds == 1) for (int g = 0; g < 2 && g < r->n_tasks; g++) write_sample(t, si, rd, g * G);
    }
    double mean = rsum / n_seq;
    add_num(metrics, "reward", mean);
    add_num(metrics, "reward_std", sqrt(fmax(0.0, rsq / n_seq - mean * mean)));
    const Rollout *r0 = &rounds[0].r;
    for (int k = 0; k < r0->n_verifiers; k++) {
        char key[200];
        snprintf(key, sizeof key, "rewards/%s", r0->vname[k]);
        add_num(metrics, key, vsum[k] / n_seq);
    }
    add_num(metrics, "pass_rate", pass / n_seq);
    add_num(metrics, "frac_zero_std", (double)(zero_right + zero_wrong) / groups);
    add_num(metrics, "frac_all_correct", (double)zero_right / groups);
    add_num(metrics, "frac_all_wrong", (double)zero_wrong / groups);
    add_num(metrics, "completion_length", (double)gen_tokens / n_seq);
    add_num(metrics, "completion_length_max", (double)len_max);
    add_num(metrics, "truncated_frac", (double)n_trunc / n_seq);
    add_num(metrics, "groups_kept", kept);
    add_num(metrics, "sample_rounds", n_rounds);
    add_num(metrics, "tokens_per_s_sample", gen_tokens / (t_sample > 0 ? t_sample : 1e-9));

    /* The update: epochs x minibatches over the kept rows. */
    set_optimizer(t, s);
    float lr = t->opt.cfg.lr;
    double gnorm = NAN, ent_sum = 0;
    long ent_n = 0, train_tokens = 0;
    PolicyLossStats ls = { 0 };
    int n_rows = kept * G, T = 1, skipped = 0, updates = 0, passes = 0;
    rc = 0;
    if (n_rows > 0) {
        int use_ref = s->kl_beta > 0 && t->have_ref;
        int mbs = (int)s->minibatches < n_rows ? (int)s->minibatches : n_rows;
        PolicyLossConfig pc = { s->clip_low, s->clip_high, s->kl_beta, s->loss_agg, (int)s->max_new_tokens };
        Row *sorted = malloc((size_t)n_rows * sizeof *sorted);
        double *chunk_adv = malloc(UPDATE_CHUNK * sizeof *chunk_adv);
        if (!sorted || !chunk_adv) { free(sorted); free(chunk_adv); snprintf(err, errlen, "out of memory"); rc = -1; goto done; }
        double t0 = util_now();
        for (int ep = 0; ep < s->epochs && rc == 0; ep++)
            for (int mb = 0; mb < mbs && rc == 0; mb++) {
                int lo = n_rows * mb / mbs, hi = n_rows * (mb + 1) / mbs, B = hi - lo;
                /* One update per minibatch, its gradient accumulated over chunks of rows of
                 * similar length, each padded only to its own longest row (padding every row
                 * to the batch's longest wasted about 40% of the work). */
                memcpy(sorted, rows + lo, (size_t)B * sizeof *sorted);
                qsort(sorted, (size_t)B, sizeof *sorted, row_cmp_length);
                double D = 0;
                for (int i = 0; i < B; i++) D += row_loss_tokens(s, &sorted[i]);
                if (s->loss_agg == AGG_SEQ_MEAN) D = B;
                else if (s->loss_agg == AGG_CONSTANT) D = (double)B * s->max_new_tokens;
                if (D <= 0) D = 1;
                model_zero_grad(&t->m);
                int finite = 1;
                for (int c = 0; c < B && finite; c += UPDATE_CHUNK) {
                    int nc = B - c < UPDATE_CHUNK ? B - c : UPDATE_CHUNK;
                    if (build_rows(t, s, sorted + c, nc, &T, lens, err, errlen)) { rc = -1; break; }
                    if (use_ref) {
                        if (model_forward(&t->ref, t->in, t->tg, NULL, 1.0f, nc, T, err, errlen)) { rc = -1; break; }
                        memcpy(t->lp_ref, t->ref.acts.logprobs, (size_t)nc * T * sizeof(float));
                    }
                    if (model_forward(&t->m, t->in, t->tg, NULL, 1.0f, nc, T, err, errlen)) { rc = -1; break; }
                    if (ep == 0) ent_sum += masked_entropy(&t->m, t->mask, nc, T, &ent_n);
                    for (int i = 0; i < nc; i++) chunk_adv[i] = sorted[c + i].adv;
                    PolicyLossStats before = ls;
                    float Dc = rl_policy_weights(&pc, t->m.acts.logprobs, t->lp_old, use_ref ? t->lp_ref : NULL, t->mask,
                                                 chunk_adv, lens, nc, T, t->w, &ls);
                    /* The chunk's objective was normalised by its own denominator. */
                    ls.objective = before.objective + (ls.objective - before.objective) * Dc / D;
                    if (!isfinite(ls.objective)) { finite = 0; ls = before; break; }
                    model_backward(&t->m, t->in, t->w, (float)D);
                    train_tokens += (long)nc * T;
                }
                if (rc) break;
                if (!finite) { skipped = 1; continue; }
                passes++;
                if (update(t, &gnorm, &lr) == STEP_SKIPPED_NONFINITE) skipped = 1;
                else updates++;
            }
        t_update = util_now() - t0;
        free(sorted);
        free(chunk_adv);
        if (rc) goto done;
        if (skipped) rc = STEP_SKIPPED_NONFINITE;
    }
    add_num(metrics, "loss", passes ? -ls.objective / passes : NAN);   /* mean over minibatch passes */
    add_num(metrics, "clip_frac_low", ls.tokens ? (double)ls.clipped_low / ls.tokens : 0.0);
    add_num(metrics, "clip_frac_high", ls.tokens ? (double)ls.clipped_high / ls.tokens : 0.0);
    add_num(metrics, "kl", ls.tokens && s->kl_beta > 0 ? ls.kl_sum / ls.tokens : 0.0);
    add_num(metrics, "entropy", ent_n ? ent_sum / ent_n : NAN);
    add_num(metrics, "grad_norm", gnorm);
    add_num(metrics, "learning_rate", lr);
    add_num(metrics, "updates", updates);
    add_num(metrics, "tokens_per_s_train", t_update > 0 ? train_tokens / t_update : 0.0);
    add_num(metrics, "time_sample_s", t_sample);
    add_num(metrics, "time_verify_s", t_verify);
    add_num(metrics, "time_update_s", t_update);
    if (t->too_long > too_long0) add_num(metrics, "tasks_too_long", (double)(t->too_long - too_long0));
done:
    for (int i = 0; i < n_rounds; i++) round_free(&rounds[i]);
    free(rounds); free(rows); free(lens); free(adv);
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

int trainer_eval(Trainer *t, int calculator, double *pass1, double *mean_len, cJSON *by_group, char *err, size_t errlen) {
    int n = curriculum_n_eval(t->cur);
    const Task **tasks = malloc((size_t)(n ? n : 1) * sizeof *tasks);
    unsigned char *solved = calloc((size_t)(n ? n : 1), 1);
    if (!tasks || !solved) { free(tasks); free(solved); snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < n; i++) tasks[i] = curriculum_eval_task(t->cur, i);
    long max_new = eval_max_new(t);
    EvalConfig ec = { .calculator = calculator, .max_new_tokens = (int)max_new, .k = 0, .threads = t->threads,
                      .temperature = 1.0, .seed = (uint64_t)t->run.seed, .solved = solved };
    EvalResult res;
    int rc = evaluate_tasks(&t->smp, &t->tok, tasks, t->eval_ver, n, &ec, &res, err, errlen);
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
    *pass1 = res.pass1_greedy;
    *mean_len = res.mean_len;
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

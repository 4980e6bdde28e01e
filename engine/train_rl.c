/* train_rl: one RL step (see trainer.h): sampling rounds, advantages, the clipped update.
 *
 * Data-parallel (MPI): every rank draws the same prompts, samples and scores its share of
 * them (dist_share) and gathers every share's scores, so all ranks see the whole step's
 * rewards and take the same decisions (groups kept, refills, advantages, promotion). In
 * the update each rank runs its own rows of each minibatch against the whole minibatch's
 * denominator and the gradients are summed (trainer_sync_grads): the same update as one
 * process makes, up to float summation order. On one process the share is everything. */
#include "engine/dist.h"
#include "engine/train_common.h"
#include "engine/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- sampling */

/* What the step needs of one sequence, gathered from whichever rank sampled it. */
enum { SEQ_REWARD, SEQ_LEN, SEQ_POLICY_TOKENS, SEQ_TRUNCATED, SEQ_FIELDS };   /* then one per verifier */

typedef struct {
    Task *tasks;       /* (n_tasks) every rank draws all of them */
    const Task **ptr;
    int n_tasks, G, nv;
    int lo, hi;        /* this rank's tasks; its rollout holds their (hi - lo) * G sequences */
    Rollout r;
    int have_rollout;
    double *seq;       /* (n_tasks * G, SEQ_FIELDS + nv): every rank's sequences, in task order */
} Round;

static void round_free(Round *rd) {
    for (int i = 0; i < rd->n_tasks; i++) task_free(&rd->tasks[i]);
    free(rd->tasks);
    free(rd->ptr);
    free(rd->seq);
    if (rd->have_rollout) rollout_free(&rd->r);
    memset(rd, 0, sizeof *rd);
}

static double *seq_of(const Round *rd, int i) { return rd->seq + (size_t)i * (SEQ_FIELDS + rd->nv); }

/* The rollout index of global sequence i, or -1 when another rank sampled it. */
static int local_index(const Round *rd, int i) {
    int lo = rd->lo * rd->G, hi = rd->hi * rd->G;
    return i >= lo && i < hi ? i - lo : -1;
}

/* This rank's sequences as rows of SEQ_FIELDS + nv numbers, gathered from every rank. */
static int gather_round(Round *rd, char *err, size_t errlen) {
    int w = SEQ_FIELDS + rd->nv, n_mine = (rd->hi - rd->lo) * rd->G, n_all = rd->n_tasks * rd->G;
    double *mine = malloc((size_t)(n_mine ? n_mine : 1) * w * sizeof *mine);
    int *counts = malloc((size_t)dist_size() * sizeof *counts);
    rd->seq = malloc((size_t)(n_all ? n_all : 1) * w * sizeof *rd->seq);
    int rc = -1;
    if (!mine || !counts || !rd->seq) { snprintf(err, errlen, "out of memory"); goto done; }
    for (int i = 0; i < n_mine; i++) {
        const Completion *c = &rd->r.comp[i];
        double *row = mine + (size_t)i * w;
        row[SEQ_REWARD] = rd->r.reward[i];
        row[SEQ_LEN] = c->n;
        row[SEQ_POLICY_TOKENS] = c->n - c->n_tool;
        row[SEQ_TRUNCATED] = c->finish == FINISH_LENGTH || c->finish == FINISH_CONTEXT;
        for (int k = 0; k < rd->nv; k++) row[SEQ_FIELDS + k] = rd->r.vreward[(size_t)i * rd->nv + k];
    }
    rc = dist_allgather_f64(mine, n_mine * w, rd->seq, n_all * w, counts, err, errlen);
done:
    free(mine);
    free(counts);
    return rc;
}

/* Draw n prompts, sample G completions for this rank's share of them, score them, and
 * gather every share's scores. */
static int sample_round(Trainer *t, int si, int n, uint64_t stream, Round *rd, double *t_sample, double *t_verify,
                        char *err, size_t errlen) {
    const StageSettings *s = &t->set[si];
    memset(rd, 0, sizeof *rd);
    rd->G = (int)s->group_size;
    rd->nv = t->n_ver[si];
    rd->tasks = calloc((size_t)n, sizeof *rd->tasks);
    rd->ptr = calloc((size_t)n, sizeof *rd->ptr);
    if (!rd->tasks || !rd->ptr) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < n; i++) {
        if (trainer_draw_fitting(t, si, &rd->tasks[i], err, errlen)) return -1;
        rd->n_tasks++;
        rd->ptr[i] = &rd->tasks[i];
    }
    dist_share(n, &rd->lo, &rd->hi);
    double t0 = util_now(), t1 = t0;
    if (rd->hi > rd->lo) {
        SamplerConfig sc = { .temperature = (float)s->temperature, .top_k = 0, .top_p = (float)s->top_p,
                             .max_new_tokens = (int)s->max_new_tokens, .stop_token = TOKENIZER_EOT,
                             .seed = (uint64_t)t->run.seed };
        if (rollout_generate(&rd->r, &t->smp, &t->tok, &sc, rd->ptr + rd->lo, rd->hi - rd->lo, rd->G,
                             s->calculator && !t->calculator_off, stream, rd->lo, err, errlen))
            return -1;
        rd->have_rollout = 1;
        t1 = util_now();
        if (rollout_verify(&rd->r, rd->ptr + rd->lo, t->ver[si], t->n_ver[si], NULL, t->threads, err, errlen)) return -1;
        if (s->truncated == TRUNC_PENALIZE)
            for (int i = 0; i < rd->r.n; i++)
                if (rd->r.comp[i].finish == FINISH_LENGTH || rd->r.comp[i].finish == FINISH_CONTEXT) rd->r.reward[i] = 0.0;
    }
    *t_sample += t1 - t0;
    *t_verify += util_now() - t1;
    return gather_round(rd, err, errlen);
}

/* samples.jsonl (rank 0 only, of the sequences it sampled). */
static void write_sample(Trainer *t, int si, const Round *rd, int i) {
    int li = local_index(rd, i);
    if (!t->samples || li < 0) return;
    const Rollout *r = &rd->r;
    const Task *task = &rd->tasks[i / rd->G];
    cJSON *o = cJSON_CreateObject();
    char *prompt = util_utf8_clean(task->prompt, strlen(task->prompt));
    char *text = util_utf8_clean(r->comp[li].text, r->comp[li].text_len);
    if (o && prompt && text) {
        cJSON_AddNumberToObject(o, "step", (double)t->step + 1);
        cJSON_AddStringToObject(o, "stage", curriculum_stage(t->cur, si)->name);
        cJSON_AddStringToObject(o, "task", task->id);
        cJSON_AddStringToObject(o, "prompt", prompt);
        cJSON_AddStringToObject(o, "completion", text);
        cJSON_AddNumberToObject(o, "reward", r->reward[li]);
        cJSON_AddStringToObject(o, "status", r->status[li]);
        cJSON_AddStringToObject(o, "finish", sampler_finish_name(r->comp[li].finish));
        if (r->detail[li]) cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(r->detail[li], 1));
        char *line = cJSON_PrintUnformatted(o);
        /* Flushed like metrics.jsonl: a killed run must not lose lines before its checkpoint. */
        if (line) { fprintf(t->samples, "%s\n", line); fflush(t->samples); }
        free(line);
    }
    free(prompt);
    free(text);
    cJSON_Delete(o);
}

/* ---------------------------------------------------------------- the update */

/* A kept sequence. r is NULL when another rank sampled it: this rank then only needs its
 * loss tokens, for the minibatch's denominator. */
typedef struct {
    const Rollout *r;
    int seq;           /* index in r */
    double adv;
    int loss_tokens, length;
} Row;

/* Rows per chunk of an update: the gradient of a minibatch accumulates over chunks. */
#define UPDATE_CHUNK 32

/* By length, ties by position, so the order is the same on every run. */
static int row_cmp_length(const void *a, const void *b) {
    const Row *x = a, *y = b;
    if (x->length != y->length) return x->length < y->length ? -1 : 1;
    if (x->r != y->r) return x->r < y->r ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lay the rows out as (rows, T) inputs/targets with the loss mask and old log-probs. */
static int build_rows(Trainer *t, const StageSettings *s, const Row *rows, int n, int *T_out, int *lens,
                      char *err, size_t errlen) {
    int T = 1;
    for (int i = 0; i < n; i++)
        if (rows[i].length - 1 > T) T = rows[i].length - 1;
    if (trainer_grow(t, (size_t)n * T, err, errlen)) return -1;
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

/* Sum of the entropy of the policy's distribution over the masked positions of the last
 * forward (*count += their number). */
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

/* What the update's passes add up, summed over the ranks at the end of the step. */
typedef struct {
    PolicyLossStats ls;
    double ent_sum;
    long ent_n, train_tokens;
} UpdateStats;

/* One minibatch's gradient from this rank's rows of it (sorted: a scratch copy). D is the
 * whole minibatch's denominator. *objective receives this rank's part; *finite 0 when a
 * chunk's objective was not finite. */
static int minibatch_grad(Trainer *t, const StageSettings *s, const Row *mine, int n, Row *sorted, double *chunk_adv,
                          int *lens, double D, int first_epoch, UpdateStats *us, double *objective, int *finite,
                          char *err, size_t errlen) {
    int use_ref = s->kl_beta > 0 && t->have_ref, T = 1;
    PolicyLossConfig pc = { s->clip_low, s->clip_high, s->kl_beta, s->loss_agg, (int)s->max_new_tokens };
    /* Chunks of rows of similar length, each padded only to its own longest (padding every
     * row to the batch's longest wasted about 40% of the work). */
    memcpy(sorted, mine, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, row_cmp_length);
    *objective = 0;
    *finite = 1;
    for (int c = 0; c < n; c += UPDATE_CHUNK) {
        int nc = n - c < UPDATE_CHUNK ? n - c : UPDATE_CHUNK;
        if (build_rows(t, s, sorted + c, nc, &T, lens, err, errlen)) return -1;
        if (use_ref) {
            if (model_forward(&t->ref, t->in, t->tg, NULL, 1.0f, nc, T, err, errlen)) return -1;
            memcpy(t->lp_ref, t->ref.acts.logprobs, (size_t)nc * T * sizeof(float));
        }
        if (model_forward(&t->m, t->in, t->tg, NULL, 1.0f, nc, T, err, errlen)) return -1;
        if (first_epoch) us->ent_sum += masked_entropy(&t->m, t->mask, nc, T, &us->ent_n);
        for (int i = 0; i < nc; i++) chunk_adv[i] = sorted[c + i].adv;
        PolicyLossStats before = us->ls;
        float Dc = rl_policy_weights(&pc, t->m.acts.logprobs, t->lp_old, use_ref ? t->lp_ref : NULL, t->mask, chunk_adv,
                                     lens, nc, T, t->w, &us->ls);
        /* The chunk's objective was normalised by its own denominator. */
        double part = (us->ls.objective - before.objective) * Dc / D;
        us->ls.objective = before.objective;
        if (!isfinite(part)) { *finite = 0; us->ls = before; return 0; }
        *objective += part;
        model_backward(&t->m, t->in, t->w, (float)D);
        us->train_tokens += (long)nc * T;
    }
    return 0;
}

/* epochs x minibatches updates over the kept rows. *passes counts the minibatches whose
 * gradient was finite, *updates those applied; *skipped is set when any was not. */
static int run_updates(Trainer *t, const StageSettings *s, const Row *rows, int n_rows, UpdateStats *us,
                       double *objective, double *gnorm, float *lr, int *passes, int *updates, int *skipped,
                       char *err, size_t errlen) {
    int mbs = (int)s->minibatches < n_rows ? (int)s->minibatches : n_rows, rc = -1;
    Row *mine = malloc((size_t)n_rows * sizeof *mine), *sorted = malloc((size_t)n_rows * sizeof *sorted);
    double *chunk_adv = malloc(UPDATE_CHUNK * sizeof *chunk_adv);
    int *lens = malloc(UPDATE_CHUNK * sizeof *lens);
    if (!mine || !sorted || !chunk_adv || !lens) { snprintf(err, errlen, "out of memory"); goto done; }
    for (int ep = 0; ep < s->epochs; ep++)
        for (int mb = 0; mb < mbs; mb++) {
            int lo = n_rows * mb / mbs, hi = n_rows * (mb + 1) / mbs, B = hi - lo, n = 0;
            double D = 0;
            for (int i = lo; i < hi; i++) {
                D += rows[i].loss_tokens;
                if (rows[i].r) mine[n++] = rows[i];
            }
            if (s->loss_agg == AGG_SEQ_MEAN) D = B;
            else if (s->loss_agg == AGG_CONSTANT) D = (double)B * s->max_new_tokens;
            if (D <= 0) D = 1;
            model_zero_grad(&t->m);
            UpdateStats before = *us;
            double part = 0;
            int finite = 1;
            if (n > 0 && minibatch_grad(t, s, mine, n, sorted, chunk_adv, lens, D, ep == 0, us, &part, &finite, err, errlen))
                goto done;
            double total;   /* NaN when any share's objective was not finite: all skip */
            if (trainer_sum_parts(finite ? part : NAN, &total, err, errlen)) goto done;
            if (isnan(total)) { *us = before; *skipped = 1; continue; }
            *objective += total;
            (*passes)++;
            if (trainer_sync_grads(t, err, errlen)) goto done;
            if (trainer_update(t, gnorm, lr) == STEP_SKIPPED_NONFINITE) *skipped = 1;
            else (*updates)++;
        }
    rc = 0;
done:
    free(mine); free(sorted); free(chunk_adv); free(lens);
    return rc;
}

/* The update's counters, summed over the ranks. */
static int sum_update_stats(UpdateStats *us, char *err, size_t errlen) {
    double v[7] = { us->ls.kl_sum, (double)us->ls.tokens, (double)us->ls.clipped_low, (double)us->ls.clipped_high,
                    us->ent_sum, (double)us->ent_n, (double)us->train_tokens };
    if (dist_allreduce_sum_f64(v, 7, err, errlen)) return -1;
    us->ls.kl_sum = v[0];
    us->ls.tokens = (long)v[1];
    us->ls.clipped_low = (long)v[2];
    us->ls.clipped_high = (long)v[3];
    us->ent_sum = v[4];
    us->ent_n = (long)v[5];
    us->train_tokens = (long)v[6];
    return 0;
}

int trainer_snapshot_reference(Trainer *t, char *err, size_t errlen) {
    if (!t->have_ref) {
        if (model_create(&t->ref, &t->m.cfg, err, errlen)) return -1;
        t->have_ref = 1;
    }
    memcpy(t->ref.params_memory, t->m.params_memory, t->m.num_params * sizeof(float));
    return 0;
}

/* ---------------------------------------------------------------- the step */

int trainer_rl_step(Trainer *t, int si, cJSON *metrics, char *err, size_t errlen) {
    long too_long0 = t->too_long;
    const StageSettings *s = &t->set[si];
    int P = (int)s->prompts, G = (int)s->group_size, nv = t->n_ver[si];
    int max_rounds = 1 + (s->dynamic_sampling ? (int)s->refill_budget : 0);
    Round *rounds = calloc((size_t)max_rounds, sizeof *rounds);
    Row *rows = calloc((size_t)P * G, sizeof *rows);
    double *adv = malloc((size_t)G * sizeof *adv), *rw = malloc((size_t)G * sizeof *rw);
    int n_rounds = 0, kept = 0, rc = -1;
    double t_sample = 0, t_verify = 0, t_update = 0;
    if (!rounds || !rows || !adv || !rw) { snprintf(err, errlen, "out of memory"); goto done; }

    /* Sampling: one round, then refills of the groups that carried no signal. */
    long n_seq = 0, n_trunc = 0, gen_tokens = 0, len_max = 0, groups = 0, zero_right = 0, zero_wrong = 0;
    double rsum = 0, rsq = 0, pass = 0, vsum[ROLLOUT_MAX_VERIFIERS] = { 0 };
    while (kept < P && n_rounds < max_rounds) {
        Round *rd = &rounds[n_rounds];
        /* Streams 0 and 1 are evaluation's; a step's rounds get their own 256. */
        uint64_t stream = 2 + ((uint64_t)t->step << 8) + (uint64_t)n_rounds;
        int rrc = sample_round(t, si, P - kept, stream, rd, &t_sample, &t_verify, err, errlen);
        n_rounds++;
        if (rrc) goto done;
        int n = rd->n_tasks * G;
        for (int i = 0; i < n; i++) {
            const double *q = seq_of(rd, i);
            rsum += q[SEQ_REWARD];
            rsq += q[SEQ_REWARD] * q[SEQ_REWARD];
            pass += q[SEQ_REWARD] == 1.0;
            for (int k = 0; k < nv; k++) vsum[k] += q[SEQ_FIELDS + k];
            n_trunc += q[SEQ_TRUNCATED] != 0;
            gen_tokens += (long)q[SEQ_LEN];
            if ((long)q[SEQ_LEN] > len_max) len_max = (long)q[SEQ_LEN];
        }
        n_seq += n;
        for (int g = 0; g < rd->n_tasks; g++) {
            for (int i = 0; i < G; i++) rw[i] = seq_of(rd, g * G + i)[SEQ_REWARD];
            curriculum_record(t->cur, rw, G);   /* the window takes rewards one by one, in order */
            int same = 1;
            for (int i = 1; i < G; i++) same &= rw[i] == rw[0];
            groups++;
            zero_right += same && rw[0] == 1.0;
            zero_wrong += same && rw[0] != 1.0;
            if (same && s->dynamic_sampling) continue;
            if (kept >= P) continue;
            rl_advantages(s->advantage, rw, 1, G, adv);
            for (int i = 0; i < G; i++) {
                int gi = g * G + i, li = local_index(rd, gi);
                const double *q = seq_of(rd, gi);
                int truncated = q[SEQ_TRUNCATED] != 0;
                int masked = s->truncated == TRUNC_MASK && truncated;
                int length = li >= 0 ? rd->r.prompt_len[li] + rd->r.comp[li].n : 0;
                rows[kept * G + i] = (Row){ li >= 0 ? &rd->r : NULL, li, adv[i], masked ? 0 : (int)q[SEQ_POLICY_TOKENS], length };
            }
            kept++;
        }
        if (n_rounds == 1 && dist_rank() == 0)
            for (int g = 0; g < 2 && g < rd->n_tasks; g++) write_sample(t, si, rd, g * G);
    }
    double mean = rsum / n_seq;
    trainer_add_num(metrics, "reward", mean);
    trainer_add_num(metrics, "reward_std", sqrt(fmax(0.0, rsq / n_seq - mean * mean)));
    for (int k = 0; k < nv; k++) {
        char key[200];
        snprintf(key, sizeof key, "rewards/%s", t->ver[si][k].v->name);
        trainer_add_num(metrics, key, vsum[k] / n_seq);
    }
    trainer_add_num(metrics, "pass_rate", pass / n_seq);
    trainer_add_num(metrics, "frac_zero_std", (double)(zero_right + zero_wrong) / groups);
    trainer_add_num(metrics, "frac_all_correct", (double)zero_right / groups);
    trainer_add_num(metrics, "frac_all_wrong", (double)zero_wrong / groups);
    trainer_add_num(metrics, "completion_length", (double)gen_tokens / n_seq);
    trainer_add_num(metrics, "completion_length_max", (double)len_max);
    trainer_add_num(metrics, "truncated_frac", (double)n_trunc / n_seq);
    trainer_add_num(metrics, "groups_kept", kept);
    trainer_add_num(metrics, "sample_rounds", n_rounds);
    trainer_add_num(metrics, "tokens_per_s_sample", gen_tokens / (t_sample > 0 ? t_sample : 1e-9));

    /* The update: epochs x minibatches over the kept rows. */
    trainer_set_optimizer(t, s);
    float lr = t->opt.cfg.lr;
    double gnorm = NAN, objective = 0;
    UpdateStats us = { 0 };
    int n_rows = kept * G, skipped = 0, updates = 0, passes = 0;
    rc = 0;
    if (n_rows > 0) {
        double t0 = util_now();
        rc = run_updates(t, s, rows, n_rows, &us, &objective, &gnorm, &lr, &passes, &updates, &skipped, err, errlen);
        t_update = util_now() - t0;
        if (rc) goto done;
        if (skipped) rc = STEP_SKIPPED_NONFINITE;
    }
    if (sum_update_stats(&us, err, errlen)) { rc = -1; goto done; }
    trainer_add_num(metrics, "loss", passes ? -objective / passes : NAN);   /* mean over minibatch passes */
    trainer_add_num(metrics, "clip_frac_low", us.ls.tokens ? (double)us.ls.clipped_low / us.ls.tokens : 0.0);
    trainer_add_num(metrics, "clip_frac_high", us.ls.tokens ? (double)us.ls.clipped_high / us.ls.tokens : 0.0);
    trainer_add_num(metrics, "kl", us.ls.tokens && s->kl_beta > 0 ? us.ls.kl_sum / us.ls.tokens : 0.0);
    trainer_add_num(metrics, "entropy", us.ent_n ? us.ent_sum / us.ent_n : NAN);
    trainer_add_num(metrics, "grad_norm", gnorm);
    trainer_add_num(metrics, "learning_rate", lr);
    trainer_add_num(metrics, "updates", updates);
    trainer_add_num(metrics, "tokens_per_s_train", t_update > 0 ? us.train_tokens / t_update : 0.0);
    trainer_add_num(metrics, "time_sample_s", t_sample);
    trainer_add_num(metrics, "time_verify_s", t_verify);
    trainer_add_num(metrics, "time_update_s", t_update);
    if (t->too_long > too_long0) trainer_add_num(metrics, "tasks_too_long", (double)(t->too_long - too_long0));
done:
    for (int i = 0; i < n_rounds; i++) round_free(&rounds[i]);
    free(rounds); free(rows); free(adv); free(rw);
    return rc;
}

/* rlvr sft: supervised warm start on prompt/completion pairs.
 *
 * Each example becomes  prompt <|sep|> completion <|endoftext|>  and the loss covers the
 * completion and the end-of-text token only (a 0/1 weight per token, the mean over the
 * batch's completion tokens). Examples are shuffled with the run's seed; a held-out split
 * drawn with the same seed reports its loss at every evaluation. Checkpoints carry the
 * tokenizer, so `rlvr sample --ckpt` needs nothing else. */
#include "engine/commands.h"
#include "engine/policy_io.h"
#include "engine/progress.h"
#include "engine/util.h"
#include "policy/adamw.h"
#include "policy/rng.h"
#include "tasks/dataset.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *SFT_USAGE =
    "usage: rlvr sft --data FILE.jsonl --out DIR [options]\n"
    "\n"
    "Supervised warm start: trains on prompt/completion pairs (\"question\"/\"answer\" as in\n"
    "GSM8K, or \"prompt\"/\"completion\"), loss on the completion tokens only.\n"
    "\n"
    "  --preset P         tiny | small | base (default tiny; ignored with --init)\n"
    "  --steps N          optimizer steps (default 1000)\n"
    "  --batch B          examples per step (default 8)\n"
    "  --lr X             peak learning rate (default 1e-3), warm-up then cosine to 10%\n"
    "  --warmup N         warm-up steps (default 5% of --steps)\n"
    "  --context T        context length in tokens (default 1024: all of GSM8K fits)\n"
    "  --tokenizer FILE   tokenizer to use; default: train one on the data (--vocab, 1024)\n"
    "  --init CKPT        start from a checkpoint (its model and tokenizer)\n"
    "  --heldout N        held-out examples (default 5% of the data, at most 200)\n"
    "  --eval-every N     held-out loss and a checkpoint every N steps (default 200)\n"
    "  --seed N           one seed for data order and initialisation (default 1)\n"
    "  --skip-bad         skip malformed lines and over-long examples, counting them,\n"
    "                     instead of stopping at the first with its file and line\n"
    "\n"
    "Writes DIR/latest.ckpt (at every evaluation, and on Ctrl-C before exiting),\n"
    "DIR/final.ckpt, DIR/tokenizer.json and DIR/metrics.jsonl (one line per evaluation).\n"
    "Progress: one live line on a terminal, plain lines otherwise.\n";

typedef struct {
    const char *data, *out, *preset, *tokenizer, *init;
    long steps, batch, warmup, context, vocab, heldout, eval_every, seed;
    float lr;
    int skip_bad;
} SftOptions;

typedef struct { int *tok; int n, n_prompt, line; } Example;

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

static int parse_options(int argc, char **argv, SftOptions *o) {
    *o = (SftOptions){ .preset = "tiny", .steps = 1000, .batch = 8, .warmup = -1, .context = 1024,
                       .vocab = 1024, .heldout = -1, .eval_every = 200, .seed = 1, .lr = 1e-3f };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(SFT_USAGE, stdout); return 1; }
        if (!strcmp(a, "--skip-bad")) { o->skip_bad = 1; continue; }
        if (!v) { fprintf(stderr, "rlvr sft: %s needs a value\n", a); return 2; }
        int ok = 1;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--preset")) o->preset = v;
        else if (!strcmp(a, "--tokenizer")) o->tokenizer = v;
        else if (!strcmp(a, "--init")) o->init = v;
        else if (!strcmp(a, "--steps")) ok = !util_parse_int(v, 1, 100000000, &o->steps);
        else if (!strcmp(a, "--batch")) ok = !util_parse_int(v, 1, 4096, &o->batch);
        else if (!strcmp(a, "--warmup")) ok = !util_parse_int(v, 0, 100000000, &o->warmup);
        else if (!strcmp(a, "--context")) ok = !util_parse_int(v, 8, 65536, &o->context);
        else if (!strcmp(a, "--vocab")) ok = !util_parse_int(v, 259, 65536, &o->vocab);
        else if (!strcmp(a, "--heldout")) ok = !util_parse_int(v, 0, 100000000, &o->heldout);
        else if (!strcmp(a, "--eval-every")) ok = !util_parse_int(v, 1, 100000000, &o->eval_every);
        else if (!strcmp(a, "--seed")) ok = !util_parse_int(v, 0, 1L << 62, &o->seed);
        else if (!strcmp(a, "--lr")) ok = !util_parse_float(v, &o->lr) && o->lr > 0;
        else { fprintf(stderr, "rlvr sft: unknown option '%s' (see rlvr sft --help)\n", a); return 2; }
        if (!ok) { fprintf(stderr, "rlvr sft: bad value '%s' for %s\n", v, a); return 2; }
        i++;
    }
    if (!o->data || !o->out) { fprintf(stderr, "rlvr sft: --data and --out are required (see rlvr sft --help)\n"); return 2; }
    if (o->warmup < 0) o->warmup = o->steps / 20;
    return 0;
}

/* Tokenize every pair as  prompt <|sep|> completion <|endoftext|> ; an example longer
 * than the context (it needs n - 1 <= context positions) is an error naming its line, or
 * skipped and counted with --skip-bad. */
static int tokenize_pairs(const PairSet *ps, const Tokenizer *tok, const SftOptions *o, Example **out,
                          size_t *n_out, size_t *skipped, char *err, size_t errlen) {
    Example *ex = calloc(ps->n, sizeof *ex);
    if (!ex) { snprintf(err, errlen, "out of memory"); return -1; }
    int oom = 0;
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t i = 0; i < ps->n; i++) {
        const Pair *p = &ps->items[i];
        size_t lp = strlen(p->prompt), lc = strlen(p->completion);
        int *t = malloc((lp + lc + 2) * sizeof(int));
        if (!t) { oom = 1; continue; }
        int np = (int)tokenizer_encode(tok, (const unsigned char *)p->prompt, lp, t);
        t[np] = TOKENIZER_SEP;
        int nc = (int)tokenizer_encode(tok, (const unsigned char *)p->completion, lc, t + np + 1);
        t[np + 1 + nc] = TOKENIZER_EOT;
        ex[i] = (Example){ t, np + nc + 2, np, p->line };
    }
    size_t n = 0;
    *skipped = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (oom || ex[i].n - 1 <= o->context) { ex[n++] = ex[i]; continue; }
        if (!o->skip_bad) {
            snprintf(err, errlen, "%s:%d: example is %d tokens, longer than the context of %ld (use --context or --skip-bad)",
                     o->data, ex[i].line, ex[i].n, o->context);
            for (size_t j = 0; j < ps->n; j++) free(ex[j].tok);
            free(ex);
            return -1;
        }
        free(ex[i].tok);
        (*skipped)++;
    }
    if (oom) {
        for (size_t j = 0; j < n; j++) free(ex[j].tok);
        free(ex);
        snprintf(err, errlen, "out of memory while tokenizing");
        return -1;
    }
    *out = ex;
    *n_out = n;
    return 0;
}

/* A batch: rows padded to the longest, weight 1 where the target is a completion token. */
typedef struct { int *in, *tg; float *w; int B, T; float denom; long tokens; } Batch;

static void make_batch(Batch *b, const Example *ex, const size_t *idx, int B) {
    int T = 1;
    for (int r = 0; r < B; r++) if (ex[idx[r]].n - 1 > T) T = ex[idx[r]].n - 1;
    b->B = B;
    b->T = T;
    b->denom = 0.0f;
    b->tokens = 0;
    for (int r = 0; r < B; r++) {
        const Example *e = &ex[idx[r]];
        for (int t = 0; t < T; t++) {
            int k = r * T + t, real = t < e->n - 1;
            b->in[k] = real ? e->tok[t] : TOKENIZER_PAD;
            b->tg[k] = real ? e->tok[t + 1] : TOKENIZER_PAD;
            b->w[k] = real && t >= e->n_prompt ? 1.0f : 0.0f;
            b->denom += b->w[k];
        }
        b->tokens += e->n - 1;
    }
}

/* Mean loss per completion token over the held-out examples. */
static double heldout_loss(Model *m, const Example *ex, const size_t *idx, size_t n, Batch *b, int B) {
    double sum = 0.0, count = 0.0;
    char err[256];
    for (size_t i = 0; i < n; i += B) {
        int k = (int)(n - i < (size_t)B ? n - i : (size_t)B);
        make_batch(b, ex, idx + i, k);
        if (b->denom == 0.0f) continue;
        if (model_forward(m, b->in, b->tg, b->w, b->denom, b->B, b->T, err, sizeof err)) return NAN;
        sum += m->loss * b->denom;
        count += b->denom;
    }
    return count > 0 ? sum / count : NAN;
}

static void shuffle(size_t *a, size_t n, Rng *r) {
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_next(r) % i, t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int ensure_dir(const char *dir, char *err, size_t errlen) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
    return -1;
}

/* Load or train the tokenizer, and create or load the model. */
static int setup_policy(const SftOptions *o, const PairSet *ps, Model *m, Tokenizer *tok, char *err, size_t errlen) {
    if (o->init) return policy_load(o->init, m, tok, NULL, NULL, NULL, err, errlen);
    if (o->tokenizer) {
        if (tokenizer_load(tok, o->tokenizer, err, errlen)) return -1;
    } else {
        size_t n = 2 * ps->n;
        const char **texts = malloc(n * sizeof *texts);
        size_t *lens = malloc(n * sizeof *lens);
        if (!texts || !lens) { free(texts); free(lens); snprintf(err, errlen, "out of memory"); return -1; }
        for (size_t i = 0; i < ps->n; i++) {
            texts[2 * i] = ps->items[i].prompt;
            texts[2 * i + 1] = ps->items[i].completion;
            lens[2 * i] = strlen(texts[2 * i]);
            lens[2 * i + 1] = strlen(texts[2 * i + 1]);
        }
        int rc = tokenizer_train(tok, (const char *const *)texts, lens, n, (int)o->vocab, err, errlen);
        free(texts);
        free(lens);
        if (rc) return -1;
        fprintf(stderr, "sft: trained a tokenizer on %s: %d tokens%s\n", o->data, tok->vocab_size,
                tok->vocab_size < o->vocab ? " (the data ran out of pairs to merge)" : "");
    }
    ModelConfig cfg;
    if (model_config_preset(&cfg, o->preset, tok->vocab_size, (int)o->context)) {
        snprintf(err, errlen, "unknown preset '%s' (tiny, small, base)", o->preset);
        tokenizer_free(tok);
        return -1;
    }
    if (model_create(m, &cfg, err, errlen)) { tokenizer_free(tok); return -1; }
    model_init(m, (uint64_t)o->seed);
    return 0;
}

static int save(const char *dir, const char *name, const Model *m, const AdamW *opt, const Tokenizer *tok,
                long step, const Rng *r, const SftOptions *o, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cJSON *state = cJSON_CreateObject();
    cJSON_AddStringToObject(state, "kind", "sft");
    cJSON_AddStringToObject(state, "data", o->data);
    cJSON_AddNumberToObject(state, "seed", (double)o->seed);
    int rc = policy_save(path, m, opt, tok, step, r->state, state, err, errlen);
    cJSON_Delete(state);
    return rc;
}

int cmd_sft(int argc, char **argv) {
    SftOptions o;
    int prc = parse_options(argc, argv, &o);
    if (prc) return prc == 1 ? 0 : prc;
    char err[4608], path[4200];
    PairSet ps;
    Model m;
    Tokenizer tok;
    AdamW opt;
    memset(&opt, 0, sizeof opt);
    Example *ex = NULL;
    size_t n_ex = 0, too_long = 0, *order = NULL, *bidx = NULL;
    Batch b = {0};
    FILE *metrics = NULL;
    int rc = 1, have_model = 0;

    if (ensure_dir(o.out, err, sizeof err)) { fprintf(stderr, "rlvr sft: %s\n", err); return 1; }
    if (dataset_load_pairs(o.data, o.skip_bad, &ps, err, sizeof err)) { fprintf(stderr, "rlvr sft: %s\n", err); return 1; }
    if (setup_policy(&o, &ps, &m, &tok, err, sizeof err)) goto fail;
    have_model = 1;
    if (o.init && m.cfg.max_seq < o.context) o.context = m.cfg.max_seq;
    snprintf(path, sizeof path, "%s/tokenizer.json", o.out);
    if (tokenizer_save(&tok, path, err, sizeof err)) goto fail;
    if (tokenize_pairs(&ps, &tok, &o, &ex, &n_ex, &too_long, err, sizeof err)) goto fail;
    if (n_ex < 2) { snprintf(err, sizeof err, "%s: fewer than 2 usable examples", o.data); goto fail; }

    size_t n_held = o.heldout >= 0 ? (size_t)o.heldout : (n_ex / 20 < 200 ? n_ex / 20 : 200);
    if (n_held >= n_ex) n_held = n_ex - 1;
    order = malloc(n_ex * sizeof(size_t));
    if (!order) { snprintf(err, sizeof err, "out of memory"); goto fail; }
    int maxT = 1;
    for (size_t i = 0; i < n_ex; i++) { order[i] = i; if (ex[i].n - 1 > maxT) maxT = ex[i].n - 1; }
    Rng rng;
    rng_seed(&rng, (uint64_t)o.seed);
    shuffle(order, n_ex, &rng);  /* order[0 .. n_held) is the held-out split */
    size_t *held = order, *train = order + n_held, n_train = n_ex - n_held;
    b.in = malloc((size_t)o.batch * maxT * sizeof(int));
    b.tg = malloc((size_t)o.batch * maxT * sizeof(int));
    b.w = malloc((size_t)o.batch * maxT * sizeof(float));
    bidx = malloc((size_t)o.batch * sizeof(size_t));
    AdamWConfig ac = adamw_default_config();
    ac.lr = o.lr;
    ac.warmup_steps = o.warmup;
    ac.total_steps = o.steps;
    if (!b.in || !b.tg || !b.w || !bidx) { snprintf(err, sizeof err, "out of memory"); goto fail; }
    if (adamw_create(&opt, &ac, m.num_params, err, sizeof err)) goto fail;
    snprintf(path, sizeof path, "%s/metrics.jsonl", o.out);
    if (!(metrics = fopen(path, "w"))) { snprintf(err, sizeof err, "%s: cannot create: %s", path, strerror(errno)); goto fail; }

    fprintf(stderr, "sft: %zu examples from %s (%zu held out), %s policy of %zu parameters, vocab %d, "
                    "context %d, %ld steps of %ld\n",
            n_ex, o.data, n_held, o.init ? o.init : o.preset, m.num_params, m.cfg.vocab, m.cfg.max_seq,
            o.steps, o.batch);
    if (ps.skipped || too_long)
        fprintf(stderr, "sft: skipped %zu malformed lines and %zu over-long examples\n", ps.skipped, too_long);

    signal(SIGINT, on_sigint);
    Progress pg;
    progress_start(&pg, "sft", o.steps);
    size_t cursor = n_train; /* forces a shuffle before the first batch */
    double loss_ema = NAN, t0 = util_now();
    long tokens = 0;
    for (long step = 1; step <= o.steps; step++) {
        for (int r = 0; r < o.batch; r++) {
            if (cursor == n_train) { shuffle(train, n_train, &rng); cursor = 0; }
            bidx[r] = train[cursor++];
        }
        make_batch(&b, ex, bidx, (int)o.batch);
        if (b.denom == 0.0f) continue; /* only empty completions: nothing to learn */
        if (model_forward(&m, b.in, b.tg, b.w, b.denom, b.B, b.T, err, sizeof err)) goto fail;
        model_zero_grad(&m);
        model_backward(&m, b.in, b.w, b.denom);
        double gnorm;
        float lr;
        if (adamw_update(&opt, &m, &gnorm, &lr, err, sizeof err)) goto fail;
        tokens += b.tokens;
        loss_ema = isnan(loss_ema) ? m.loss : 0.95 * loss_ema + 0.05 * m.loss;
        double tps = tokens / (util_now() - t0);
        int stop = interrupted; /* read once: the same value decides evaluation and exit */
        int eval = step % o.eval_every == 0 || step == o.steps || stop;
        double held_loss = eval && n_held ? heldout_loss(&m, ex, held, n_held, &b, (int)o.batch) : NAN;
        progress_update(&pg, step, "loss %.3f  %.0f tok/s", loss_ema, tps);
        if (eval) {
            char held[32] = "null"; /* JSON has no NaN: no held-out split gives null */
            if (!isnan(held_loss)) snprintf(held, sizeof held, "%.5f", held_loss);
            fprintf(metrics, "{\"step\":%ld,\"loss\":%.5f,\"heldout_loss\":%s,\"grad_norm\":%.4f,"
                             "\"learning_rate\":%.3e,\"tokens_per_s_train\":%.0f,\"time_s\":%.1f}\n",
                    step, loss_ema, held, gnorm, lr, tps, util_now() - t0);
            fflush(metrics);
            progress_note(&pg, "step %ld  loss %.4f  held-out loss %.4f  lr %.2e  %.0f tok/s", step, loss_ema,
                          held_loss, lr, tps);
            if (save(o.out, "latest.ckpt", &m, &opt, &tok, step, &rng, &o, err, sizeof err)) goto fail;
        }
        if (stop) {
            progress_done(&pg);
            fprintf(stderr, "sft: interrupted at step %ld; saved %s/latest.ckpt\n", step, o.out);
            rc = 130;
            goto done;
        }
    }
    progress_done(&pg);
    if (save(o.out, "final.ckpt", &m, &opt, &tok, o.steps, &rng, &o, err, sizeof err)) goto fail;
    fprintf(stderr, "sft: done; %s/final.ckpt\n", o.out);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "rlvr sft: %s\n", err);
done:
    signal(SIGINT, SIG_DFL);
    if (metrics) fclose(metrics);
    for (size_t i = 0; i < n_ex; i++) free(ex[i].tok);
    free(ex);
    free(order);
    free(b.in); free(b.tg); free(b.w); free(bidx);
    adamw_free(&opt);
    if (have_model) { model_free(&m); tokenizer_free(&tok); }
    dataset_free_pairs(&ps);
    return rc;
}

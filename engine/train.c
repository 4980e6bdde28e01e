/* rlvr train: run a curriculum's stages, SFT and RL, with evaluation, checkpoints,
 * resume and a run directory.
 *
 * runs/<run-id>/ holds config.json (the resolved settings and how the run was started),
 * curriculum.lua (the script as run), metrics.jsonl (one line per step), samples.jsonl
 * (completions with verdicts), checkpoints/ (latest.ckpt, one per finished stage, and
 * reference.ckpt when a KL reference is in use) and summary.json. A checkpoint's state
 * holds the step, the curriculum state and the summary: with the model and optimizer
 * that is all a resumed run needs to continue exactly where the stopped one was.
 *
 * Under mpirun every rank runs this loop in step (train_step.c and train_rl.c split each
 * step's work); only rank 0 writes the run's folder, records and checkpoints, and every
 * rank reads the same inputs. After every step the ranks check that their parameters are
 * still identical, and they agree on signals, so that all stop at the same step. */
#include "engine/commands.h"
#include "engine/dist.h"
#include "engine/policy_io.h"
#include "engine/progress.h"
#include "engine/run_files.h"
#include "engine/run_record.h"
#include "engine/runs.h"
#include "engine/trainer.h"
#include "engine/util.h"
#include "lua/verifier_lua.h"
#include "policy/atomicfile.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define NAN_STREAK_LIMIT 5    /* skipped updates in a row before the run stops */

static const char *TRAIN_USAGE =
    "usage: rlvr train CURRICULUM.lua [options]\n"
    "       rlvr train --resume RUN [--max-steps N]\n"
    "\n"
    "Runs the curriculum's stages in order (SFT and RL), evaluates on its held-out set,\n"
    "and records everything in a run directory.\n"
    "\n"
    "options:\n"
    "  --seed N          the run's seed (default: the curriculum's `seed` setting, else 1)\n"
    "  --max-steps N     stop after N optimisation steps in all (for smoke tests and CI)\n"
    "  --init CKPT       start from a checkpoint (its model and tokenizer) instead of nothing\n"
    "  --config FILE     a JSON object of settings applied over the curriculum's\n"
    "                    (e.g. {\"lr\": 5e-5, \"eval_every\": 20})\n"
    "  --no-calculator   no calculator tool in rollouts and evaluation\n"
    "  --resume RUN      continue a stopped run (a run id under the runs folder, or its path)\n"
    "  --runs-dir DIR    where runs live (default $RLVR_RUNS_DIR, else ./runs)\n"
    "  --run-id ID       the run's name (default <curriculum>-<date>-<time>-<pid>)\n"
    "  --threads N       threads for BLAS, sampling and verification (default: all cores)\n"
    "  -h, --help        this text\n"
    "\n"
    "Progress: one live line on a terminal (stage, step, reward, held-out pass@1, tok/s,\n"
    "ETA of a bounded stage), plain lines otherwise. Ctrl-C or SIGTERM (or SIGUSR1) saves a\n"
    "checkpoint and exits (130 / 143); `--resume` continues with identical results. A loss\n"
    "or gradient that is not finite skips the update; 5 in a row stop the run (exit 1) with\n"
    "the last good weights saved.\n"
    "\n"
    "Data-parallel: `mpirun -np N rlvr train ...` splits every step across N ranks (see the\n"
    "README). mpirun follows SIGTERM with SIGKILL after 1 s; to stop such a job with a\n"
    "checkpoint send SIGUSR1 to mpirun, which passes it on to every rank.\n";

typedef struct {
    const char *curriculum, *config, *init, *resume, *runs_dir, *run_id;
    long seed, max_steps, threads;
    int seed_given, no_calculator;
} TrainOptions;

static volatile sig_atomic_t g_signal = 0;
/* SIGUSR1 means what SIGTERM means: mpirun passes SIGUSR1 on to every rank, whereas it
 * follows SIGTERM with SIGKILL after a second, too soon to finish a step and save. */
static void on_signal(int sig) { g_signal = sig == SIGUSR1 ? SIGTERM : sig; }

static int parse_options(int argc, char **argv, TrainOptions *o) {
    *o = (TrainOptions){ .runs_dir = getenv("RLVR_RUNS_DIR") ? getenv("RLVR_RUNS_DIR") : "runs", .seed = 1 };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(TRAIN_USAGE, stdout); return 1; }
        if (!strcmp(a, "--no-calculator")) { o->no_calculator = 1; continue; }
        if (a[0] != '-') {
            if (o->curriculum) { fprintf(stderr, "rlvr train: unexpected argument '%s' (see --help)\n", a); return 2; }
            o->curriculum = a;
            continue;
        }
        if (!v) { fprintf(stderr, "rlvr train: %s needs a value (see --help)\n", a); return 2; }
        int ok = 1;
        if (!strcmp(a, "--seed")) { ok = !util_parse_int(v, 0, 1L << 53, &o->seed); o->seed_given = 1; }
        else if (!strcmp(a, "--max-steps")) ok = !util_parse_int(v, 1, 1000000000, &o->max_steps);
        else if (!strcmp(a, "--threads")) ok = !util_parse_int(v, 1, 1024, &o->threads);
        else if (!strcmp(a, "--init")) o->init = v;
        else if (!strcmp(a, "--config")) o->config = v;
        else if (!strcmp(a, "--resume")) o->resume = v;
        else if (!strcmp(a, "--runs-dir")) o->runs_dir = v;
        else if (!strcmp(a, "--run-id")) o->run_id = v;
        else { fprintf(stderr, "rlvr train: unknown option '%s' (see --help)\n", a); return 2; }
        if (!ok) { fprintf(stderr, "rlvr train: %s: bad value '%s'\n", a, v); return 2; }
        i++;
    }
    if (!o->curriculum == !o->resume) {
        fprintf(stderr, "rlvr train: give a CURRICULUM.lua, or --resume RUN (see --help)\n");
        return 2;
    }
    if (o->resume && (o->init || o->config || o->run_id || o->no_calculator)) {
        fprintf(stderr, "rlvr train: --resume takes its settings from the run; only --max-steps and --threads apply\n");
        return 2;
    }
    return 0;
}

/* ---------------------------------------------------------------- the policy */

/* A tokenizer for a run from nothing: trained on sample tasks (prompts and references)
 * from every stage's sources, drawn with seeds of their own (never the eval set). */
static int train_tokenizer(Trainer *t, char *err, size_t errlen) {
    enum { PER_SOURCE = 200 };
    size_t cap = 0, n = 0;
    for (int i = 0; i < curriculum_n_stages(t->cur); i++) cap += (size_t)curriculum_stage(t->cur, i)->n_sources * PER_SOURCE * 2;
    char **texts = calloc(cap, sizeof *texts);
    size_t *lens = calloc(cap, sizeof *lens);
    int rc = -1;
    if (!texts || !lens) { snprintf(err, errlen, "out of memory"); goto done; }
    for (int i = 0; i < curriculum_n_stages(t->cur); i++)
        for (int k = 0; k < curriculum_stage(t->cur, i)->n_sources; k++)
            for (int j = 0; j < PER_SOURCE; j++) {
                Task task;
                uint64_t seed = (uint64_t)t->run.seed * 7919u + (uint64_t)i * 1000003u + (uint64_t)k * 10007u + (uint64_t)j;
                if (curriculum_sample(t->cur, i, k, seed, &task, err, errlen)) goto done;
                texts[n] = strdup(task.prompt);
                lens[n] = strlen(task.prompt);
                n++;
                texts[n] = strdup(task.reference);
                lens[n] = strlen(task.reference);
                n++;
                task_free(&task);
                if (!texts[n - 1] || !texts[n - 2]) { snprintf(err, errlen, "out of memory"); goto done; }
            }
    rc = tokenizer_train(&t->tok, (const char *const *)texts, lens, n, (int)t->run.vocab, err, errlen);
done:
    for (size_t i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
    return rc;
}

static int new_policy(Trainer *t, const char *init, char *err, size_t errlen) {
    if (init) {
        if (policy_load(init, &t->m, &t->tok, NULL, NULL, NULL, err, errlen)) return -1;
        t->have_model = 1;
        return 0;
    }
    if (train_tokenizer(t, err, errlen)) return -1;
    ModelConfig cfg;
    if (model_config_preset(&cfg, t->run.preset, t->tok.vocab_size, (int)t->run.context)) {
        snprintf(err, errlen, "unknown preset '%s' (tiny, small, base)", t->run.preset);
        tokenizer_free(&t->tok);
        return -1;
    }
    if (model_create(&t->m, &cfg, err, errlen)) { tokenizer_free(&t->tok); return -1; }
    model_init(&t->m, (uint64_t)t->run.seed);
    t->have_model = 1;
    return 0;
}

/* Verifiers of every stage and of every eval task, resolved once at start-up. */
static int resolve_verifiers(Trainer *t, char *err, size_t errlen) {
    int ns = curriculum_n_stages(t->cur), ne = curriculum_n_eval(t->cur);
    t->ver = calloc((size_t)ns, sizeof *t->ver);
    t->n_ver = calloc((size_t)ns, sizeof *t->n_ver);
    t->eval_ver = calloc((size_t)(ne ? ne : 1), sizeof *t->eval_ver);
    if (!t->ver || !t->n_ver || !t->eval_ver) { snprintf(err, errlen, "out of memory"); return -1; }
    char why[1024];
    for (int i = 0; i < ns; i++) {
        const Stage *st = curriculum_stage(t->cur, i);
        for (int k = 0; k < st->n_verifiers && k < ROLLOUT_MAX_VERIFIERS; k++) {
            const Verifier *v = luaverifier_resolve(st->verifiers[k].name, NULL, why, sizeof why);
            if (!v) { snprintf(err, errlen, "stage %s: %s", st->name, why); return -1; }
            t->ver[i][k] = (WeightedVerifier){ v, st->verifiers[k].weight };
            t->n_ver[i]++;
        }
    }
    for (int i = 0; i < ne; i++) {
        const Task *task = curriculum_eval_task(t->cur, i);
        if (!task->verifier[0]) { snprintf(err, errlen, "eval task %s names no verifier (give eval.verifier)", task->id); return -1; }
        if (!(t->eval_ver[i] = luaverifier_resolve(task->verifier, NULL, why, sizeof why))) {
            snprintf(err, errlen, "eval task %s: %s", task->id, why);
            return -1;
        }
    }
    return 0;
}

static int max_batch(const Trainer *t) {
    long b = 64;
    for (int i = 0; i < curriculum_n_stages(t->cur); i++)
        if (curriculum_stage(t->cur, i)->mode == STAGE_RL && t->set[i].prompts * t->set[i].group_size > b)
            b = t->set[i].prompts * t->set[i].group_size;
    return b > 512 ? 512 : (int)b;
}

static void trainer_free(Trainer *t) {
    if (t->have_smp) sampler_free(&t->smp);
    if (t->have_opt) adamw_free(&t->opt);
    if (t->have_model) { model_free(&t->m); tokenizer_free(&t->tok); }
    if (t->have_ref) model_free(&t->ref);
    curriculum_free(t->cur);
    free(t->set); free(t->ver); free(t->n_ver); free(t->eval_ver);
    free(t->in); free(t->tg); free(t->w); free(t->mask); free(t->lp_old); free(t->lp_ref);
    if (t->samples) fclose(t->samples);
    verifier_registry_free();
}

/* ---------------------------------------------------------------- the run */

typedef struct {
    char dir[4096];
    char id[256];
    cJSON *config;     /* config.json */
    cJSON *summary;    /* summary.json, also in every checkpoint */
    FILE *metrics;
    double t_start, elapsed_before;
    Records *rec;      /* <runs-dir>/records.git */
    char runs_dir[4200];
} Run;

/* Every key of the summary exists from the start (null until known) and is replaced in
 * place, so its key order never depends on when a run was stopped and resumed. */
static void set_num(cJSON *o, const char *k, double v) {
    cJSON *n = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
    if (!n) return;
    if (cJSON_GetObjectItemCaseSensitive(o, k)) cJSON_ReplaceItemInObjectCaseSensitive(o, k, n);
    else cJSON_AddItemToObject(o, k, n);
}

/* In place, so that the summary's key order does not depend on when the run was stopped. */
static void set_str(cJSON *o, const char *k, const char *v) {
    cJSON *s = cJSON_CreateString(v);
    if (!s) return;
    if (cJSON_GetObjectItemCaseSensitive(o, k)) cJSON_ReplaceItemInObjectCaseSensitive(o, k, s);
    else cJSON_AddItemToObject(o, k, s);
}

/* The summary's step, stage and time as of now (checkpoints carry the summary too). */
static void refresh_summary(Run *run, const Trainer *t) {
    set_num(run->summary, "steps", (double)t->step);
    int si = curriculum_stage_index(t->cur);
    set_str(run->summary, "stage", si < curriculum_n_stages(t->cur) ? curriculum_stage(t->cur, si)->name : "(finished)");
    set_num(run->summary, "time_s", run->elapsed_before + util_now() - run->t_start);
}

/* summary.json, then a snapshot of the run's files in the records. A record that cannot
 * be written is a warning: training goes on and the next snapshot tries again. */
static int write_summary(Run *run, const Trainer *t, const char *status, char *err, size_t errlen) {
    set_str(run->summary, "status", status);
    refresh_summary(run, t);
    if (dist_rank() != 0) return 0;   /* rank 0 alone writes the run's files */
    if (run_write_json(run->dir, "summary.json", run->summary, err, errlen)) return -1;
    if (!run->rec) return 0;
    char msg[512], why[1024], r[32] = "-", p[32] = "-";
    double reward = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run->summary, "last_reward"));
    double p1 = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run->summary, "last_eval_pass_at_1"));
    if (!isnan(reward)) snprintf(r, sizeof r, "%.4f", reward);
    if (!isnan(p1)) snprintf(p, sizeof p, "%.4f", p1);
    snprintf(msg, sizeof msg, "step %ld (%.200s, %s): reward %s, held-out pass@1 %s\n", t->step,
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(run->summary, "stage")), status, r, p);
    if (run_record_commit(run->rec, run->dir, run->id, msg, why, sizeof why))
        fprintf(stderr, "rlvr train: warning: the run record was not written: %s\n", why);
    /* The runs folder's HTML report follows every snapshot (so every evaluation). */
    else if (runs_refresh_report(run->runs_dir, why, sizeof why))
        fprintf(stderr, "rlvr train: warning: the report was not refreshed: %s\n", why);
    return 0;
}

static int save_checkpoint(Run *run, Trainer *t, const char *name, char *err, size_t errlen) {
    if (dist_rank() != 0) return 0;
    cJSON *state = cJSON_CreateObject(), *cs = curriculum_save(t->cur);
    if (!state || !cs) { cJSON_Delete(state); cJSON_Delete(cs); snprintf(err, errlen, "out of memory"); return -1; }
    cJSON_AddStringToObject(state, "kind", "train");
    cJSON_AddStringToObject(state, "run_id", run->id);
    cJSON_AddNumberToObject(state, "step", (double)t->step);
    cJSON_AddNumberToObject(state, "nan_streak", t->nan_streak);
    cJSON_AddBoolToObject(state, "have_ref", t->have_ref);
    cJSON_AddNumberToObject(state, "elapsed_s", run->elapsed_before + util_now() - run->t_start);
    cJSON_AddItemToObject(state, "curriculum", cs);
    refresh_summary(run, t);
    cJSON_AddItemToObject(state, "summary", cJSON_Duplicate(run->summary, 1));
    char path[4400];
    snprintf(path, sizeof path, "%s/checkpoints/%s", run->dir, name);
    int rc = policy_save(path, &t->m, &t->opt, &t->tok, t->step, (uint64_t)t->run.seed, state, err, errlen);
    cJSON_Delete(state);
    if (!rc && t->have_ref && strcmp(name, "latest.ckpt") == 0) {
        snprintf(path, sizeof path, "%s/checkpoints/reference.ckpt", run->dir);
        rc = policy_save(path, &t->ref, NULL, &t->tok, t->step, 0, NULL, err, errlen);
    }
    return rc;
}

/* Evaluate on the held-out set, with the calculator as the stage uses it; at the end of
 * a stage also the other way, so the summary can report both. */
static int run_eval(Run *run, Trainer *t, int si, int stage_end, cJSON *metrics, Progress *pg, char *err, size_t errlen) {
    int calc = t->set[si].calculator && !t->calculator_off;
    double p1, len;
    if (trainer_eval(t, calc, &p1, &len, metrics, err, errlen)) return -1;
    cJSON_AddNumberToObject(metrics, "eval_pass_at_1", p1);
    cJSON_AddNumberToObject(metrics, "eval_completion_length", len);
    /* stage_end 2: the run stops early. That evaluation a resumed run will not repeat, so
     * it may not set the best (a resumed run's summary must equal an unstopped one's). */
    double best = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run->summary, "best_eval_pass_at_1"));
    if (stage_end != 2 && (isnan(best) || p1 > best)) set_num(run->summary, "best_eval_pass_at_1", p1);
    set_num(run->summary, "last_eval_pass_at_1", p1);
    double other = NAN;
    if (stage_end && calc) {
        if (trainer_eval(t, 0, &other, &len, NULL, err, errlen)) return -1;
        cJSON_AddNumberToObject(metrics, "eval_pass_at_1_no_calculator", other);
    }
    const Stage *st = curriculum_stage(t->cur, si);
    if (stage_end) {
        const char *k = st->mode == STAGE_SFT ? "sft_pass_at_1" : "rl_pass_at_1";
        char k2[64];
        snprintf(k2, sizeof k2, "%s_no_calculator", k);
        set_num(run->summary, k, p1);
        set_num(run->summary, k2, other);
    }
    if (isnan(other)) progress_note(pg, "step %ld  held-out pass@1 %.3f", t->step, p1);
    else progress_note(pg, "step %ld  held-out pass@1 %.3f (without the calculator %.3f)", t->step, p1, other);
    return 0;
}

/* ---------------------------------------------------------------- the ranks in step */

/* The signal every rank acts on: SIGTERM if any rank got one, else SIGINT if any did
 * (mpirun passes a signal on to every rank, but not at the same instant). */
static int agree_signal(int *sig, char *err, size_t errlen) {
    double got[2] = { g_signal == SIGTERM, g_signal == SIGINT };
    if (dist_allreduce_sum_f64(got, 2, err, errlen)) return -1;
    *sig = got[0] > 0 ? SIGTERM : got[1] > 0 ? SIGINT : 0;
    return 0;
}

/* zlib's CRC-32 of the parameters' bits (its length argument is a uInt: in pieces). */
static uint64_t params_hash(const Model *m) {
    const unsigned char *b = (const unsigned char *)m->params_memory;
    size_t n = m->num_params * sizeof(float);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n;) {
        size_t k = n - off > (1u << 30) ? (1u << 30) : n - off;
        crc = crc32(crc, b + off, (uInt)k);
        off += k;
    }
    return crc;
}

/* Every rank applied the same update to the same weights: the parameters must be
 * bitwise identical. Checked after every step, so a divergence (a reduction that was not
 * the same everywhere, a rank that read other data) stops the run where it happened.
 * Two test hooks (tests/cli_mpi.sh): RLVR_TEST_DIVERGE_RANK=R makes rank R perturb one
 * weight after step 1; RLVR_TEST_FAIL_RANK=R makes rank R alone fail after step 2, as a
 * rank that cannot read its data would, while the others wait for it. Returns 0, 1 when
 * the ranks differ (all of them see it) or -1 on an error of this rank's. */
static int check_in_step(Trainer *t, char *err, size_t errlen) {
    if (dist_size() == 1) return 0;
    const char *hook = getenv("RLVR_TEST_DIVERGE_RANK");
    if (hook && atoi(hook) == dist_rank() && t->step == 1) t->m.params_memory[0] += 1e-3f;
    hook = getenv("RLVR_TEST_FAIL_RANK");
    if (hook && atoi(hook) == dist_rank() && t->step == 2) {
        snprintf(err, errlen, "RLVR_TEST_FAIL_RANK: rank %d fails alone after step %ld", dist_rank(), t->step);
        return -1;
    }
    int same;
    if (dist_same_u64(params_hash(&t->m), &same, err, errlen)) return -1;
    if (!same) {
        snprintf(err, errlen, "after step %ld the ranks' parameters differ; the run cannot go on", t->step);
        return 1;   /* every rank knows */
    }
    return 0;
}

/* The step loop. Returns the exit code. */
static int train_loop(Run *run, Trainer *t, long max_steps) {
    char err[4096];
    Progress pg;
    int shown_stage = -1, rc = 0;
    const char *status = "running";
    int sig = 0;      /* the signal all ranks stop for */
    int agreed = 0;   /* the failure is every rank's (not one rank's alone) */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal);
    if (write_summary(run, t, status, err, sizeof err) || (agreed = check_in_step(t, err, sizeof err)) != 0) goto fail;
    while (curriculum_stage_index(t->cur) < curriculum_n_stages(t->cur)) {
        if (max_steps && t->step >= max_steps) { status = "stopped"; break; }
        if (agree_signal(&sig, err, sizeof err)) goto fail;
        if (sig) break;
        int si = curriculum_stage_index(t->cur);
        const Stage *st = curriculum_stage(t->cur, si);
        if (si != shown_stage) {
            if (shown_stage >= 0) progress_done(&pg);
            long total = st->steps ? st->steps : st->max_steps;
            progress_start(&pg, st->name, total);
            shown_stage = si;
            if (curriculum_stage_step(t->cur) == 0 && st->mode == STAGE_RL && t->set[si].kl_beta > 0 &&
                trainer_snapshot_reference(t, err, sizeof err))
                goto fail;
        }
        cJSON *m = cJSON_CreateObject();
        if (!m) { snprintf(err, sizeof err, "out of memory"); goto fail; }
        cJSON_AddNumberToObject(m, "step", (double)t->step + 1);
        cJSON_AddStringToObject(m, "stage", st->name);
        cJSON_AddNumberToObject(m, "stage_index", si);
        cJSON_AddNumberToObject(m, "stage_step", (double)curriculum_stage_step(t->cur) + 1);
        cJSON_AddStringToObject(m, "mode", st->mode == STAGE_SFT ? "sft" : "rl");
        uint64_t bytes0 = dist_bytes();
        double comm0 = dist_seconds();
        int src = st->mode == STAGE_SFT ? trainer_sft_step(t, si, m, err, sizeof err) : trainer_rl_step(t, si, m, err, sizeof err);
        if (src < 0) { cJSON_Delete(m); goto fail; }
        t->step++;
        if ((agreed = check_in_step(t, err, sizeof err)) != 0) { cJSON_Delete(m); goto fail; }
        if (dist_size() > 1) {   /* what this rank passed through the collectives in the step */
            cJSON_AddNumberToObject(m, "comm_bytes", (double)(dist_bytes() - bytes0));
            cJSON_AddNumberToObject(m, "time_comm_s", dist_seconds() - comm0);
        }
        if (src == STEP_SKIPPED_NONFINITE) {
            t->nan_streak++;
            cJSON_AddBoolToObject(m, "skipped_nonfinite", 1);
            progress_note(&pg, "step %ld: the loss or gradient is not finite; update skipped (%d in a row)", t->step, t->nan_streak);
        } else t->nan_streak = 0;
        int cnt;
        double wm = curriculum_window_mean(t->cur, &cnt);
        long stage_done = curriculum_stage_step(t->cur) + 1;   /* this stage's steps, this one included */
        int ended = curriculum_end_step(t->cur);
        if (st->window) {
            if (cnt) cJSON_AddNumberToObject(m, "window_reward", wm);
            else cJSON_AddNullToObject(m, "window_reward");
        }
        /* Scheduled evaluations go into the step's metrics line. One where the run stops
         * early (--max-steps, a signal) only updates the summary, so that a stopped and
         * resumed run writes the same metrics as one never stopped. */
        int scheduled = ended || (t->run.eval_every && t->step % t->run.eval_every == 0);
        if (agree_signal(&sig, err, sizeof err)) { cJSON_Delete(m); goto fail; }
        int stopping = (max_steps && t->step >= max_steps) || sig;
        cJSON *scratch = stopping && !ended ? cJSON_CreateObject() : NULL;
        if ((scheduled && run_eval(run, t, si, ended != 0, m, &pg, err, sizeof err)) ||
            (scratch && run_eval(run, t, si, 2, scratch, &pg, err, sizeof err))) {
            cJSON_Delete(scratch);
            cJSON_Delete(m);
            goto fail;
        }
        cJSON_Delete(scratch);
        cJSON_AddNumberToObject(m, "time_s", run->elapsed_before + util_now() - run->t_start);
        double reward = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "reward"));
        if (!isnan(reward)) set_num(run->summary, "last_reward", reward);
        if (run->metrics && run_append_line(run->metrics, m, err, sizeof err)) { cJSON_Delete(m); goto fail; }
        double tps = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, st->mode == STAGE_SFT ? "tokens_per_s_train" : "tokens_per_s_sample"));
        double loss = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "loss"));
        double last_eval = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run->summary, "last_eval_pass_at_1"));
        cJSON_Delete(m);
        char p1[16] = "-";
        if (!isnan(last_eval)) snprintf(p1, sizeof p1, "%.2f", last_eval);
        /* After the stage's last step the curriculum has moved on: show the stage as done. */
        long done = ended ? stage_done : curriculum_stage_step(t->cur);
        if (st->mode == STAGE_SFT)
            progress_update(&pg, done, "step %ld  loss %.3f  pass@1 %s  %.0f tok/s", t->step, loss, p1, tps);
        else
            progress_update(&pg, done, "step %ld  reward %.3f  pass@1 %s  %.0f tok/s", t->step, reward, p1, tps);
        if (t->nan_streak >= NAN_STREAK_LIMIT) {
            progress_done(&pg);
            status = "failed";
            /* Skipped updates left the weights as they were: the checkpoint is from before. */
            if (save_checkpoint(run, t, "latest.ckpt", err, sizeof err)) goto fail;
            snprintf(err, sizeof err, "%d updates in a row had a non-finite loss or gradient; stopped (the checkpoint "
                                      "holds the weights from before the skipped updates)", t->nan_streak);
            agreed = 1;   /* the skips are decided together */
            goto fail;
        }
        if (ended) {
            char name[300];
            snprintf(name, sizeof name, "stage-%d-%s.ckpt", si + 1, st->name);
            if (save_checkpoint(run, t, name, err, sizeof err) || save_checkpoint(run, t, "latest.ckpt", err, sizeof err) ||
                write_summary(run, t, status, err, sizeof err))
                goto fail;
            progress_note(&pg, "stage %s ended at step %ld; checkpoint %s", st->name, t->step, name);
        } else if (t->run.checkpoint_every && t->step % t->run.checkpoint_every == 0) {
            if (save_checkpoint(run, t, "latest.ckpt", err, sizeof err) || write_summary(run, t, status, err, sizeof err)) goto fail;
        } else if (scheduled) {   /* every evaluation is recorded */
            if (write_summary(run, t, status, err, sizeof err)) goto fail;
        }
    }
    if (shown_stage >= 0) progress_done(&pg);
    if (sig) status = "interrupted";
    else if (curriculum_stage_index(t->cur) >= curriculum_n_stages(t->cur)) status = "finished";
    if (save_checkpoint(run, t, "latest.ckpt", err, sizeof err) || write_summary(run, t, status, err, sizeof err)) goto fail;
    rc = sig == SIGINT ? 130 : sig == SIGTERM ? 143 : 0;
    if (sig && dist_rank() == 0)
        fprintf(stderr, "rlvr train: interrupted at step %ld; resume with: rlvr train --resume %s\n", t->step, run->dir);
    goto out;
fail:
    agreed = agreed > 0;
    if (dist_size() > 1 && !agreed) fprintf(stderr, "rlvr train: rank %d of %d: %s\n", dist_rank(), dist_size(), err);
    else if (dist_rank() == 0) fprintf(stderr, "rlvr train: %s\n", err);
    {
        char e2[512];
        if (write_summary(run, t, strcmp(status, "running") ? status : "failed", e2, sizeof e2)) fprintf(stderr, "rlvr train: %s\n", e2);
    }
    /* A failure all ranks reached together: the others wait until rank 0 has written the
     * summary, since the exit that follows aborts the job. */
    if (agreed) dist_barrier();
    rc = 1;
out:
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    return rc;
}

/* ---------------------------------------------------------------- start and resume */

static void report_start(const Run *run, const Trainer *t, const char *how) {
    char ranks[64] = "";
    if (dist_size() > 1) snprintf(ranks, sizeof ranks, " per rank, %d ranks (data-parallel)", dist_size());
    fprintf(stderr, "rlvr train: %s %s: curriculum %s (%d stages, %d eval tasks), %s policy of %zu parameters, "
                    "vocab %d, context %d, %d threads%s\n",
            how, run->dir, curriculum_name(t->cur), curriculum_n_stages(t->cur), curriculum_n_eval(t->cur), t->run.preset,
            t->m.num_params, t->m.cfg.vocab, t->m.cfg.max_seq, t->threads, ranks);
}

static int setup_common(Trainer *t, char *err, size_t errlen) {
    if (resolve_verifiers(t, err, errlen)) return -1;
    if (sampler_create(&t->smp, &t->m, max_batch(t), err, errlen)) return -1;
    t->have_smp = 1;
    return trainer_check_eval(t, err, errlen);
}

static int start_new(const TrainOptions *o, Run *run, Trainer *t, char *err, size_t errlen) {
    cJSON *cli = NULL;
    if (o->config && !(cli = run_read_json(o->config, err, errlen))) return -1;
    if (cli && !cJSON_IsObject(cli)) { cJSON_Delete(cli); snprintf(err, errlen, "%s: must hold a JSON object of settings", o->config); return -1; }
    /* The seed: --seed, else the curriculum's `seed` default, else 1. */
    long seed = o->seed;
    t->cur = curriculum_load(o->curriculum, (uint64_t)seed, NULL, err, errlen);
    if (!t->cur) { cJSON_Delete(cli); return -1; }
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(curriculum_defaults(t->cur), "seed");
    if (!o->seed_given && cJSON_IsNumber(ds) && (long)ds->valuedouble != seed) {
        seed = (long)ds->valuedouble;
        curriculum_free(t->cur);
        if (!(t->cur = curriculum_load(o->curriculum, (uint64_t)seed, NULL, err, errlen))) { cJSON_Delete(cli); return -1; }
    }
    int ns = curriculum_n_stages(t->cur);
    if (!(t->set = calloc((size_t)ns, sizeof *t->set))) { cJSON_Delete(cli); snprintf(err, errlen, "out of memory"); return -1; }
    if (settings_resolve(t->cur, cli, &t->run, t->set, err, errlen)) { cJSON_Delete(cli); return -1; }
    t->run.seed = seed;
    t->calculator_off = o->no_calculator;
    /* The records first: a runs folder whose records.git is damaged stops the run before
     * anything is written next to it. Rank 0 alone writes (the others keep no folder). */
    int root = dist_rank() == 0;
    snprintf(run->runs_dir, sizeof run->runs_dir, "%s", o->runs_dir);
    if (root && !(run->rec = run_record_open(o->runs_dir, err, errlen))) { cJSON_Delete(cli); return -1; }
    if (root && run_create_dir(o->runs_dir, o->run_id, curriculum_name(t->cur), run->dir, sizeof run->dir, run->id,
                               sizeof run->id, err, errlen)) { cJSON_Delete(cli); return -1; }
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "run_id", run->id);
    cJSON_AddStringToObject(cfg, "curriculum", o->curriculum);
    char abs[4096];
    cJSON_AddStringToObject(cfg, "curriculum_path", realpath(o->curriculum, abs) ? abs : o->curriculum);
    cJSON_AddNumberToObject(cfg, "seed", (double)seed);
    if (o->init) cJSON_AddStringToObject(cfg, "init", o->init);
    cJSON_AddItemToObject(cfg, "cli_config", cli ? cli : cJSON_CreateNull());
    cJSON_AddBoolToObject(cfg, "calculator_off", o->no_calculator);
    cJSON_AddStringToObject(cfg, "rlvr_commit", RLVR_COMMIT_STRING);
    cJSON_AddNumberToObject(cfg, "ranks", dist_size());
    cJSON_AddItemToObject(cfg, "settings", settings_to_json(t->cur, &t->run, t->set));
    run->config = cfg;
    if (root && (run_record_provenance(o->curriculum, run->dir, cfg, err, errlen) || run_record_process(run->dir, err, errlen) ||
                 run_write_json(run->dir, "config.json", cfg, err, errlen) ||
                 run_copy_file(o->curriculum, run->dir, "curriculum.lua", err, errlen)))
        return -1;
    if (new_policy(t, o->init, err, errlen)) return -1;
    if (o->init && t->m.cfg.max_seq < t->run.context) t->run.context = t->m.cfg.max_seq;
    AdamWConfig ac = adamw_default_config();
    if (adamw_create(&t->opt, &ac, t->m.num_params, err, errlen)) return -1;
    t->have_opt = 1;
    if (setup_common(t, err, errlen)) return -1;
    run->summary = cJSON_CreateObject();
    cJSON_AddStringToObject(run->summary, "run_id", run->id);
    cJSON_AddStringToObject(run->summary, "curriculum", curriculum_name(t->cur));
    static const char *const keys[] = { "status", "steps", "stage", "time_s", "sft_pass_at_1", "rl_pass_at_1",
                                        "sft_pass_at_1_no_calculator", "rl_pass_at_1_no_calculator",
                                        "best_eval_pass_at_1", "last_eval_pass_at_1", "last_reward" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) cJSON_AddNullToObject(run->summary, keys[i]);
    if (!root) return 0;
    if (!(run->metrics = run_open_append(run->dir, "metrics.jsonl", err, errlen))) return -1;
    if (!(t->samples = run_open_append(run->dir, "samples.jsonl", err, errlen))) return -1;
    report_start(run, t, "new run");
    return 0;
}

int trainer_open(Trainer *t, const char *dir, const char *ckpt, cJSON **config_out, cJSON **state_out, char *err,
                 size_t errlen) {
    char path[4400];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *cfg = run_read_json(path, err, errlen);
    if (!cfg) return -1;
    *config_out = cfg;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(cfg, "run_id"), *sd = cJSON_GetObjectItemCaseSensitive(cfg, "seed"),
                *cli = cJSON_GetObjectItemCaseSensitive(cfg, "cli_config");
    if (!cJSON_IsString(id) || !cJSON_IsNumber(sd)) {
        snprintf(err, errlen, "%s: not a run's config (run_id or seed missing)", path);
        return -1;
    }
    /* The script as run: the run's own copy, so edits to the original after the start
     * cannot change a resumed run (relative JSONL paths still resolve from the working
     * directory first). */
    char script[4400];
    snprintf(script, sizeof script, "%s/curriculum.lua", dir);
    if (!(t->cur = curriculum_load(script, (uint64_t)sd->valuedouble, NULL, err, errlen))) return -1;
    int ns = curriculum_n_stages(t->cur);
    if (!(t->set = calloc((size_t)ns, sizeof *t->set))) { snprintf(err, errlen, "out of memory"); return -1; }
    if (settings_resolve(t->cur, cJSON_IsObject(cli) ? cli : NULL, &t->run, t->set, err, errlen)) return -1;
    t->run.seed = (long)sd->valuedouble;
    t->calculator_off = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "calculator_off"));
    snprintf(path, sizeof path, "%s/checkpoints/%s", dir, ckpt);
    char *state_json = NULL;
    if (policy_load(path, &t->m, &t->tok, &t->opt, NULL, &state_json, err, errlen)) return -1;
    t->have_model = t->have_opt = 1;
    cJSON *state = state_json ? cJSON_Parse(state_json) : NULL;
    free(state_json);
    *state_out = state;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(state, "step"), *cs = cJSON_GetObjectItemCaseSensitive(state, "curriculum"),
                *sum = cJSON_GetObjectItemCaseSensitive(state, "summary");
    if (!cJSON_IsNumber(step) || !cs || !cJSON_IsObject(sum)) {
        snprintf(err, errlen, "%s: not a training checkpoint (no step, curriculum state or summary)", path);
        return -1;
    }
    if (curriculum_restore(t->cur, cs, err, errlen)) return -1;
    t->step = (long)step->valuedouble;
    t->nan_streak = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(state, "nan_streak"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "have_ref"))) {
        Tokenizer rt;
        snprintf(path, sizeof path, "%s/checkpoints/reference.ckpt", dir);
        if (policy_load(path, &t->ref, &rt, NULL, NULL, NULL, err, errlen)) return -1;
        tokenizer_free(&rt);
        t->have_ref = 1;
    }
    return setup_common(t, err, errlen);
}

void trainer_close(Trainer *t) { trainer_free(t); }

static int resume(const TrainOptions *o, Run *run, Trainer *t, char *err, size_t errlen) {
    if (run_find_dir(o->runs_dir, o->resume, run->dir, sizeof run->dir, err, errlen)) return -1;
    char runs_dir[4200];   /* the run's folder's parent holds its records */
    snprintf(runs_dir, sizeof runs_dir, "%s", run->dir);
    char *slash = strrchr(runs_dir, '/');
    if (slash) *slash = 0;
    else strcpy(runs_dir, ".");
    /* Every rank reads the run (on a shared filesystem, or a copy at the same path on each
     * machine); rank 0 alone writes it. */
    int root = dist_rank() == 0;
    if (root && !(run->rec = run_record_open(runs_dir, err, errlen))) return -1;
    snprintf(run->runs_dir, sizeof run->runs_dir, "%s", runs_dir);
    cJSON *state = NULL;
    int rc = trainer_open(t, run->dir, "latest.ckpt", &run->config, &state, err, errlen);
    if (!rc) {
        snprintf(run->id, sizeof run->id, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(run->config, "run_id")));
        run->elapsed_before = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(state, "elapsed_s"));
        if (isnan(run->elapsed_before)) run->elapsed_before = 0;
        run->summary = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(state, "summary"), 1);
    }
    cJSON_Delete(state);
    if (rc) return -1;
    if (!root) return 0;
    if (run_record_process(run->dir, err, errlen)) return -1;   /* nothing changes before the checkpoint loads */
    /* Lines written after the checkpoint are redone by this run. */
    if (run_truncate_jsonl(run->dir, "metrics.jsonl", t->step, err, errlen) ||
        run_truncate_jsonl(run->dir, "samples.jsonl", t->step, err, errlen))
        return -1;
    if (!(run->metrics = run_open_append(run->dir, "metrics.jsonl", err, errlen))) return -1;
    if (!(t->samples = run_open_append(run->dir, "samples.jsonl", err, errlen))) return -1;
    report_start(run, t, "resuming");
    int ns = curriculum_n_stages(t->cur);
    fprintf(stderr, "rlvr train: from step %ld, stage %s\n", t->step,
            curriculum_stage_index(t->cur) < ns ? curriculum_stage(t->cur, curriculum_stage_index(t->cur))->name : "(finished)");
    return 0;
}

int cmd_train(int argc, char **argv) {
    TrainOptions o;
    int prc = parse_options(argc, argv, &o);
    if (prc) return prc == 1 ? 0 : prc;
    if (o.threads) util_set_threads((int)o.threads);
    Trainer t;
    memset(&t, 0, sizeof t);
    t.threads = util_get_threads();
    Run run;
    memset(&run, 0, sizeof run);
    run.t_start = util_now();
    char err[4608];
    int rc;
    if (verifiers_register_builtins(err, sizeof err)) { fprintf(stderr, "rlvr train: %s\n", err); return 1; }
    if ((o.resume ? resume(&o, &run, &t, err, sizeof err) : start_new(&o, &run, &t, err, sizeof err))) {
        if (dist_size() > 1) fprintf(stderr, "rlvr train: rank %d of %d: %s\n", dist_rank(), dist_size(), err);
        else fprintf(stderr, "rlvr train: %s\n", err);
        rc = 1;
    } else {
        rc = train_loop(&run, &t, o.max_steps);
        if (rc == 0 && dist_rank() == 0) {
            double sft = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run.summary, "sft_pass_at_1"));
            double rl = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run.summary, "rl_pass_at_1"));
            char a[32] = "-", b[32] = "-";
            if (!isnan(sft)) snprintf(a, sizeof a, "%.3f", sft);
            if (!isnan(rl)) snprintf(b, sizeof b, "%.3f", rl);
            fprintf(stderr, "rlvr train: %s after %ld steps; held-out pass@1 after SFT %s, after RL %s; files in %s\n",
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(run.summary, "status")), t.step, a, b, run.dir);
        }
    }
    if (run.metrics) fclose(run.metrics);
    records_close(run.rec);
    cJSON_Delete(run.config);
    cJSON_Delete(run.summary);
    trainer_free(&t);
    return rc;
}

/* rlvr bench learn: the control for RL's gain. From a finished run's SFT checkpoint it
 * continues SFT on the worked-solution problems for as long as the run's RL stages
 * computed, then evaluates that policy on the same held-out set: if RL is ahead of
 * this control, the gain is RL's and not just more training. */
#include "engine/bench.h"
#include "engine/run_files.h"
#include "engine/trainer.h"
#include "engine/util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *LEARN_USAGE =
    "usage: rlvr bench learn --run RUN [--runs-dir DIR] [--seconds S] [--threads N]\n"
    "\n"
    "RUN is a finished `rlvr train` or `rlvr demo` run whose curriculum has SFT stages\n"
    "followed by RL stages. From the checkpoint of its last SFT stage, continues SFT on\n"
    "that stage's sources for the seconds the RL stages spent sampling, verifying and\n"
    "updating (their time_sample_s + time_verify_s + time_update_s; --seconds overrides),\n"
    "then evaluates greedy held-out pass@1 as the run's evaluations do. Prints JSON lines:\n"
    "the run's sft_pass_at_1 and rl_pass_at_1, the control's pass@1 and steps, and the\n"
    "difference rl - control (in points).\n";

/* The last SFT stage before the first RL stage, or -1. */
static int last_sft_stage(const Curriculum *c) {
    int last = -1;
    for (int i = 0; i < curriculum_n_stages(c); i++) {
        if (curriculum_stage(c, i)->mode == STAGE_RL) break;
        last = i;
    }
    return last;
}

/* Seconds of RL compute in the run's metrics. */
static double rl_seconds(const char *dir, char *err, size_t errlen) {
    char path[4400];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: cannot read", path); return -1; }
    char *line = NULL;
    size_t cap = 0;
    double sum = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *m = cJSON_Parse(line);
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(m, "mode");
        if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "rl")) {
            static const char *const keys[] = { "time_sample_s", "time_verify_s", "time_update_s" };
            for (int k = 0; k < 3; k++) {
                double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, keys[k]));
                if (!isnan(v)) sum += v;
            }
        }
        cJSON_Delete(m);
    }
    free(line);
    fclose(f);
    return sum;
}

int bench_learn(int argc, char **argv) {
    const char *run = NULL, *runs_dir = getenv("RLVR_RUNS_DIR") ? getenv("RLVR_RUNS_DIR") : "runs";
    long threads = 0;
    double seconds = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(LEARN_USAGE, stdout); return 0; }
        if (!v) { fprintf(stderr, "rlvr bench learn: %s needs a value (see --help)\n", a); return 2; }
        float f;
        if (!strcmp(a, "--run")) run = v;
        else if (!strcmp(a, "--runs-dir")) runs_dir = v;
        else if (!strcmp(a, "--threads") && !util_parse_int(v, 1, 1024, &threads)) {}
        else if (!strcmp(a, "--seconds") && !util_parse_float(v, &f) && f > 0) seconds = f;
        else { fprintf(stderr, "rlvr bench learn: bad option '%s %s' (see --help)\n", a, v); return 2; }
        i++;
    }
    if (!run) { fprintf(stderr, "rlvr bench learn: --run RUN is required (see --help)\n"); return 2; }
    if (threads) util_set_threads((int)threads);
    char dir[4096], err[4608];
    if (run_find_dir(runs_dir, run, dir, sizeof dir, err, sizeof err)) { fprintf(stderr, "rlvr bench learn: %s\n", err); return 1; }
    char path[4400];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    cJSON *summary = run_read_json(path, err, sizeof err);
    if (!summary) { fprintf(stderr, "rlvr bench learn: %s\n", err); return 1; }
    double sft_p = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(summary, "sft_pass_at_1"));
    double rl_p = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(summary, "rl_pass_at_1"));
    cJSON_Delete(summary);
    if (seconds < 0 && (seconds = rl_seconds(dir, err, sizeof err)) < 0) { fprintf(stderr, "rlvr bench learn: %s\n", err); return 1; }

    /* Find the SFT stage's checkpoint name through the run's curriculum. */
    Trainer t;
    memset(&t, 0, sizeof t);
    t.threads = util_get_threads();
    cJSON *config = NULL, *state = NULL;
    char ckpt[512] = "latest.ckpt";
    int rc = 1;
    {
        Trainer probe;
        memset(&probe, 0, sizeof probe);
        probe.threads = t.threads;
        if (trainer_open(&probe, dir, "latest.ckpt", &config, &state, err, sizeof err)) {
            cJSON_Delete(config); cJSON_Delete(state); trainer_close(&probe);
            fprintf(stderr, "rlvr bench learn: %s\n", err);
            return 1;
        }
        int si = last_sft_stage(probe.cur);
        if (si >= 0) snprintf(ckpt, sizeof ckpt, "stage-%d-%s.ckpt", si + 1, curriculum_stage(probe.cur, si)->name);
        cJSON_Delete(config); cJSON_Delete(state);
        config = state = NULL;
        trainer_close(&probe);
        if (si < 0) { fprintf(stderr, "rlvr bench learn: %s: the curriculum has no SFT stage before its RL stages\n", dir); return 2; }
    }
    if (trainer_open(&t, dir, ckpt, &config, &state, err, sizeof err)) goto fail;
    int si = last_sft_stage(t.cur);
    curriculum_goto_stage(t.cur, si);
    t.set[si].warmup = 0;    /* the stage warmed up in the run already */
    fprintf(stderr, "rlvr bench learn: continuing SFT stage %s from %s/checkpoints/%s for %.0f s (the RL stages' compute)\n",
            curriculum_stage(t.cur, si)->name, dir, ckpt, seconds);
    double t0 = util_now();
    long steps = 0;
    while (util_now() - t0 < seconds) {
        cJSON *m = cJSON_CreateObject();
        int src = trainer_sft_step(&t, si, m, err, sizeof err);
        cJSON_Delete(m);
        if (src < 0) goto fail;
        steps++;
    }
    double used = util_now() - t0, p1, len;
    int calc = t.set[si].calculator && !t.calculator_off;
    for (int i = si + 1; i < curriculum_n_stages(t.cur); i++) calc = t.set[i].calculator && !t.calculator_off;
    if (trainer_eval(&t, calc, &p1, &len, NULL, err, sizeof err)) goto fail;
    printf("{\"bench\":\"learn\",\"run\":\"%s\",\"sft_pass_at_1\":%.4f,\"rl_pass_at_1\":%.4f,\"control_pass_at_1\":%.4f,"
           "\"control_sft_steps\":%ld,\"control_seconds\":%.1f,\"rl_seconds\":%.1f,\"rl_minus_control_points\":%.1f}\n",
           dir, sft_p, rl_p, p1, steps, used, seconds, 100 * (rl_p - p1));
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "rlvr bench learn: %s\n", err);
done:
    cJSON_Delete(config);
    cJSON_Delete(state);
    trainer_close(&t);
    return rc;
}

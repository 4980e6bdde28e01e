/* rlvr demo: what `make demo` runs. It trains the default curriculum,
 * lua/curricula/gsm_synth.lua, from nothing: a tokenizer, SFT on GSM8K-style problems
 * that come with worked solutions, then RL stages on problems that come with final
 * answers only. Then it prints held-out pass@1 on the answer-only problems after SFT and
 * after RL, with and without the calculator, and where the run's files are. */
#include "engine/commands.h"
#include "engine/run_files.h"
#include "engine/util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *DEMO_USAGE =
    "usage: rlvr demo [--curriculum FILE] [--runs-dir DIR] [--seed N] [--max-steps N] [--threads N]\n"
    "\n"
    "Trains lua/curricula/gsm_synth.lua (next to the rlvr binary) from nothing: SFT on\n"
    "worked solutions, then RL on answer-only problems, promoted by the rolling reward.\n"
    "Then prints held-out pass@1 after SFT and after RL. The run is an ordinary `rlvr train`\n"
    "run (default folder ./runs, id demo-<date>-<time>): `rlvr train --resume ID` continues it.\n";

static double num(const cJSON *o, const char *k) {
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void cell(char *buf, size_t n, double v) {
    if (isnan(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.1f%%", 100 * v);
}

static void change(char *buf, size_t n, double a, double b) {
    if (isnan(a) || isnan(b)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%+.1f points", 100 * (b - a));
}

int cmd_demo(int argc, char **argv) {
    char curriculum[4200], id[128], seed[32] = "1", steps[32] = "", threads[32] = "";
    const char *runs = getenv("RLVR_RUNS_DIR") ? getenv("RLVR_RUNS_DIR") : "runs";
    snprintf(curriculum, sizeof curriculum, "%s/lua/curricula/gsm_synth.lua", util_exe_dir());
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(DEMO_USAGE, stdout); return 0; }
        if (!v) { fprintf(stderr, "rlvr demo: unknown or incomplete option '%s' (see --help)\n", a); return 2; }
        if (!strcmp(a, "--curriculum")) snprintf(curriculum, sizeof curriculum, "%s", v);
        else if (!strcmp(a, "--runs-dir")) runs = v;
        else if (!strcmp(a, "--seed")) snprintf(seed, sizeof seed, "%s", v);
        else if (!strcmp(a, "--max-steps")) snprintf(steps, sizeof steps, "%s", v);
        else if (!strcmp(a, "--threads")) snprintf(threads, sizeof threads, "%s", v);
        else { fprintf(stderr, "rlvr demo: unknown option '%s' (see --help)\n", a); return 2; }
        i++;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(id, sizeof id, "demo-%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    char *targv[16];
    int n = 0;
    targv[n++] = curriculum;
    targv[n++] = "--runs-dir"; targv[n++] = (char *)runs;
    targv[n++] = "--run-id"; targv[n++] = id;
    targv[n++] = "--seed"; targv[n++] = seed;
    if (steps[0]) { targv[n++] = "--max-steps"; targv[n++] = steps; }
    if (threads[0]) { targv[n++] = "--threads"; targv[n++] = threads; }
    targv[n] = NULL;
    double t0 = util_now();
    int rc = cmd_train(n, targv);
    if (rc) return rc;
    char path[4400], err[4608];
    snprintf(path, sizeof path, "%s/%s/summary.json", runs, id);
    cJSON *s = run_read_json(path, err, sizeof err);
    if (!s) { fprintf(stderr, "rlvr demo: %s\n", err); return 1; }
    double sft = num(s, "sft_pass_at_1"), rl = num(s, "rl_pass_at_1");
    double sft0 = num(s, "sft_pass_at_1_no_calculator"), rl0 = num(s, "rl_pass_at_1_no_calculator");
    char a[32], b[32], c[32], d[32], e[32], f[32];
    cell(a, sizeof a, sft); cell(b, sizeof b, sft0); cell(c, sizeof c, rl); cell(d, sizeof d, rl0);
    change(e, sizeof e, sft, rl); change(f, sizeof f, sft0, rl0);
    printf("\nheld-out pass@1 (greedy) on the RL stages' answer-only problems:\n\n");
    printf("  %-12s %-18s %s\n", "", "with calculator", "without");
    printf("  %-12s %-18s %s\n", "after SFT", a, b);
    printf("  %-12s %-18s %s\n", "after RL", c, d);
    printf("  %-12s %-18s %s\n", "RL's gain", e, f);
    printf("\n%s in %.0f s; the run's files (config.json, metrics.jsonl, samples.jsonl, summary.json,\n"
           "checkpoints/) are in %s/%s\n",
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "status")), util_now() - t0, runs, id);
    cJSON_Delete(s);
    return 0;
}

/* rlvr bench mpi: data-parallel scaling. The same small curriculum (an SFT stage, then an
 * RL stage without dynamic sampling, so every step does the same work) is trained by
 * `mpirun -np 1` and `mpirun -np 2` (one BLAS thread per rank, each rank bound to a core),
 * with the same seed and global batch; each run's metrics.jsonl gives the steps' wall
 * times. One JSON line per mode and rank count (steps per second, payload bytes through
 * the collectives per step), then one per mode with the scaling efficiency: 2-rank
 * throughput over twice the 1-rank throughput (1.0 is perfect scaling). */
#include "engine/bench.h"
#include "engine/dist.h"
#include "engine/util.h"
#include "policy/model.h"
#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *USAGE =
    "usage: rlvr bench mpi [--preset tiny|small|base] [--sft-steps N] [--rl-steps N] [--timeout S]\n"
    "\n"
    "Trains one curriculum under `mpirun -np 1` and `mpirun -np 2` (one thread per rank)\n"
    "and prints JSON lines: SFT and RL steps per second at 1 and 2 ranks, the payload bytes\n"
    "each rank passes through the collectives per step, and scaling_efficiency (2-rank\n"
    "throughput / (2 x 1-rank throughput)). SFT: batch 32; RL: 8 prompts x 8 completions,\n"
    "48 new tokens. Defaults: tiny, 40 SFT steps, 12 RL steps, 600 s per run. The first and\n"
    "last step of each stage (warm-up; evaluation and checkpoint) are not timed. Needs\n"
    "mpirun and an MPI build.\n";

static const char *CURRICULUM =
    "local rlvr = require(\"rlvr\")\n"
    "local gsm = require(\"generators.gsm_word\")\n"
    "local function worked() return gsm.problem{ steps = { 1, 2 }, digits = 1 } end\n"
    "local function q() return gsm.problem{ steps = { 1, 2 }, digits = 1, answer_only = true } end\n"
    "return rlvr.curriculum{\n"
    "  name = \"bench-mpi\",\n"
    "  defaults = { preset = \"%s\", vocab = 512, context = 256, max_new_tokens = 48, eval_every = 0,\n"
    "               checkpoint_every = 0 },\n"
    "  stages = {\n"
    "    { name = \"sft\", mode = \"sft\", steps = %ld, batch_size = 32, sources = { worked } },\n"
    "    { name = \"rl\", mode = \"rl\", verifier = \"arith\", steps = %ld, prompts = 8, group_size = 8,\n"
    "      dynamic_sampling = false, sources = { q } },\n"
    "  },\n"
    "  eval = { n = 2, seed = 7, sources = { q }, verifier = \"arith\" },\n"
    "}\n";

typedef struct {
    double steps_per_s[2];   /* [sft, rl] */
    double bytes[2];         /* mean comm_bytes per timed step (0 on one rank) */
    double comm_s[2];        /* mean seconds in collectives per timed step */
    long timed[2];
} RunTimes;

/* Run argv, killing it after timeout_s; 0 when it exited 0. */
static int run_with_timeout(char *const *argv, const char *log, double timeout_s, char *err, size_t errlen) {
    pid_t pid = fork();
    if (pid < 0) { snprintf(err, errlen, "fork: %m"); return -1; }
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        if (f && dup2(fileno(f), 1) < 0) _exit(127);
        setpgid(0, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    double t0 = util_now();
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0) { snprintf(err, errlen, "waitpid: %m"); return -1; }
        if (util_now() - t0 > timeout_s) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(err, errlen, "%s ran past %.0f s and was killed (its output: %s)", argv[0], timeout_s, log);
            return -1;
        }
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "mpirun failed (exit %d); its output is in %s", WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
        return -1;
    }
    return 0;
}

/* Steps' wall times from metrics.jsonl (time_s is cumulative), per mode, without each
 * stage's first and last step. */
static int read_times(const char *path, RunTimes *rt, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: %m", path); return -1; }
    memset(rt, 0, sizeof *rt);
    typedef struct { double dur, bytes, comm; int rl, stage; } Step;
    Step *st = NULL;
    int n = 0, cap = 0;
    char line[65536];
    double prev_t = NAN, secs[2] = { 0, 0 };
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        if (!j) continue;
        if (n == cap) {
            Step *g = realloc(st, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *st);
            if (!g) { cJSON_Delete(j); free(st); fclose(f); snprintf(err, errlen, "out of memory"); return -1; }
            st = g;
        }
        double t = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "time_s"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "mode"));
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "comm_bytes"), *c = cJSON_GetObjectItemCaseSensitive(j, "time_comm_s");
        st[n] = (Step){ isnan(prev_t) ? NAN : t - prev_t, cJSON_IsNumber(b) ? b->valuedouble : 0,
                        cJSON_IsNumber(c) ? c->valuedouble : 0, m && strcmp(m, "rl") == 0,
                        (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "stage_index")) };
        prev_t = t;
        n++;
        cJSON_Delete(j);
    }
    fclose(f);
    for (int i = 0; i < n; i++) {
        int first = i == 0 || st[i - 1].stage != st[i].stage, last = i == n - 1 || st[i + 1].stage != st[i].stage;
        if (first || last || isnan(st[i].dur)) continue;
        secs[st[i].rl] += st[i].dur;
        rt->bytes[st[i].rl] += st[i].bytes;
        rt->comm_s[st[i].rl] += st[i].comm;
        rt->timed[st[i].rl]++;
    }
    free(st);
    for (int k = 0; k < 2; k++) {
        if (!rt->timed[k]) { snprintf(err, errlen, "%s: too few steps to time (raise --sft-steps / --rl-steps)", path); return -1; }
        rt->steps_per_s[k] = rt->timed[k] / secs[k];
        rt->bytes[k] /= rt->timed[k];
        rt->comm_s[k] /= rt->timed[k];
    }
    return 0;
}

int bench_mpi(int argc, char **argv) {
    const char *preset = "tiny";
    long sft_steps = 40, rl_steps = 12, timeout = 600;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); return 0; }
        if (!v) { fprintf(stderr, "rlvr bench mpi: %s needs a value (see --help)\n", a); return 2; }
        int ok = 1;
        if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "--sft-steps")) ok = !util_parse_int(v, 3, 100000, &sft_steps);
        else if (!strcmp(a, "--rl-steps")) ok = !util_parse_int(v, 3, 100000, &rl_steps);
        else if (!strcmp(a, "--timeout")) ok = !util_parse_int(v, 1, 86400, &timeout);
        else { fprintf(stderr, "rlvr bench mpi: unknown option '%s' (see --help)\n", a); return 2; }
        if (!ok) { fprintf(stderr, "rlvr bench mpi: %s: bad value '%s'\n", a, v); return 2; }
        i++;
    }
    ModelConfig cfg;
    if (model_config_preset(&cfg, preset, 512, 256)) {
        fprintf(stderr, "rlvr bench mpi: unknown preset '%s' (tiny, small, base)\n", preset);
        return 2;
    }
    if (!dist_built_with_mpi()) { fprintf(stderr, "rlvr bench mpi: this rlvr was built without MPI (make MPI=1)\n"); return 1; }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        fprintf(stderr, "rlvr bench mpi: mpirun not found (apt-get install openmpi-bin)\n");
        return 1;
    }
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) { fprintf(stderr, "rlvr bench mpi: cannot find this executable: %m\n"); return 1; }
    exe[el] = 0;
    char dir[] = "/tmp/rlvr-bench-mpi-XXXXXX";
    if (!mkdtemp(dir)) { fprintf(stderr, "rlvr bench mpi: mkdtemp: %m\n"); return 1; }
    char cur[4200], runs[4200], err[8192];
    snprintf(cur, sizeof cur, "%s/bench.lua", dir);
    snprintf(runs, sizeof runs, "%s/runs", dir);
    FILE *f = fopen(cur, "w");
    if (!f) { fprintf(stderr, "rlvr bench mpi: %s: %m\n", cur); return 1; }
    fprintf(f, CURRICULUM, preset, sft_steps, rl_steps);
    fclose(f);
    RunTimes rt[2];
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        char np[16], id[32], log[4300], metrics[4300];
        snprintf(np, sizeof np, "%d", k + 1);
        snprintf(id, sizeof id, "np%d", k + 1);
        snprintf(log, sizeof log, "%s/%s.log", dir, id);
        snprintf(metrics, sizeof metrics, "%s/%s/metrics.jsonl", runs, id);
        /* One BLAS/OpenMP thread per rank, each rank on its own core: the ranks are the
         * parallelism being measured. */
        char *av[] = { "mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "core", "-x", "OMP_NUM_THREADS=1",
                       "-np", np, exe, "train", cur, "--threads", "1", "--runs-dir", runs, "--run-id", id, NULL };
        fprintf(stderr, "rlvr bench mpi: %s ranks, %ld SFT + %ld RL steps of %s ...\n", np, sft_steps, rl_steps, preset);
        if (run_with_timeout(av, log, (double)timeout, err, sizeof err) || read_times(metrics, &rt[k], err, sizeof err)) {
            fprintf(stderr, "rlvr bench mpi: %s\n", err);
            rc = 1;
            break;
        }
        static const char *const modes[] = { "sft", "rl" };
        for (int m = 0; m < 2; m++)
            printf("{\"bench\":\"mpi\",\"preset\":\"%s\",\"mode\":\"%s\",\"ranks\":%d,\"threads_per_rank\":1,"
                   "\"steps_per_s\":%.4g,\"timed_steps\":%ld,\"comm_bytes_per_step\":%.0f,\"comm_s_per_step\":%.4g}\n",
                   preset, modes[m], k + 1, rt[k].steps_per_s[m], rt[k].timed[m], rt[k].bytes[m], rt[k].comm_s[m]);
        fflush(stdout);
    }
    if (!rc) {
        static const char *const modes[] = { "sft", "rl" };
        size_t params = model_config_num_params(&cfg);
        for (int m = 0; m < 2; m++)
            printf("{\"bench\":\"mpi\",\"preset\":\"%s\",\"mode\":\"%s\",\"scaling_efficiency\":%.3f,\"speedup_2_ranks\":%.3f,"
                   "\"params\":%zu,\"gradient_bytes_per_update\":%zu,\"comm_bytes_per_step_2_ranks\":%.0f}\n",
                   preset, modes[m], rt[1].steps_per_s[m] / (2 * rt[0].steps_per_s[m]), rt[1].steps_per_s[m] / rt[0].steps_per_s[m],
                   params, params * sizeof(float), rt[1].bytes[m]);
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "rlvr bench mpi: could not remove %s\n", dir);
    } else fprintf(stderr, "rlvr bench mpi: the runs are kept in %s\n", dir);
    return rc;
}

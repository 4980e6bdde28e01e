/* rlvr bench verify: how fast the verifiers score. One JSON line per measurement:
 * arith verdicts per second on GSM8K test's gold answers (each scored as a completion
 * against itself), with 1 and N threads; then ccrun programs per second (engine/bench_ccrun.c),
 * sandboxed against bare fork/exec and against bubblewrap. */
#include "engine/bench.h"
#include "engine/util.h"
#include "tasks/dataset.h"
#include "tasks/task.h"
#include "verifiers/verifier.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: rlvr bench verify [--data FILE.jsonl] [--threads N]\n"
    "\n"
    "Scores every gold answer of FILE (default: GSM8K test, from $RLVR_GSM8K or\n"
    "../shared/data/gsm8k) against itself with the arith verifier, repeatedly for about\n"
    "2 seconds, at 1 and N threads (default all cores), and prints verdicts/s as JSON lines.\n"
    "Then compiles and runs a small C program (gcc, and tcc when installed; 1 and 2 workers;\n"
    "with 1 test, then with 6: one compile and 6 runs) through the ccrun verifier's sandbox,\n"
    "bare (fork/exec) and in bubblewrap (when /usr/bin/bwrap works), each for about 2\n"
    "seconds, interleaved, and prints programs/s and the time ratios sandbox/bare and\n"
    "sandbox/bwrap.\n";

static const char *default_data(void) {
    static char path[4200];
    const char *env = getenv("RLVR_GSM8K");
    snprintf(path, sizeof path, "%s/test.jsonl", env ? env : "");
    if (!env) snprintf(path, sizeof path, "%s/../shared/data/gsm8k/test.jsonl", util_exe_dir());
    return path;
}

int bench_verify(int argc, char **argv) {
    const char *data = default_data();
    long threads = util_get_threads();
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(USAGE, stdout); return 0; }
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && !util_parse_int(argv[i + 1], 1, 1024, &threads)) i++;
        else { fprintf(stderr, "rlvr bench verify: bad argument '%s' (see rlvr bench verify --help)\n", argv[i]); return 2; }
    }
    char err[4400];
    PairSet ps;
    if (verifiers_register_builtins(err, sizeof err) || dataset_load_pairs(data, 0, &ps, err, sizeof err)) {
        fprintf(stderr, "rlvr bench verify: %s\n", err);
        return 1;
    }
    const Verifier *v = verifier_find("arith");
    Task *tasks = calloc(ps.n, sizeof *tasks);
    int rc = 1;
    if (!tasks || !v) { fprintf(stderr, "rlvr bench verify: out of memory\n"); goto out; }
    for (size_t i = 0; i < ps.n; i++) {
        tasks[i].prompt = ps.items[i].prompt;
        tasks[i].reference = ps.items[i].completion;
        tasks[i].id = tasks[i].verifier = "";
        tasks[i].meta = NULL;
    }
    for (int th = 1; th <= threads; th = th == 1 && threads > 1 ? (int)threads : th + (int)threads) {
        long verdicts = 0, correct = 0;
        double t0 = util_now();
        while (util_now() - t0 < 2.0) {
#pragma omp parallel for schedule(dynamic, 16) num_threads(th) reduction(+ : correct)
            for (size_t i = 0; i < ps.n; i++) {
                Verdict vd;
                if (verdict_init(&vd)) continue;
                v->score(v, &tasks[i], ps.items[i].completion, strlen(ps.items[i].completion), &vd);
                correct += vd.reward == 1.0;
                verdict_free(&vd);
            }
            verdicts += (long)ps.n;
        }
        double dt = util_now() - t0;
        printf("{\"bench\":\"verify\",\"verifier\":\"arith\",\"data\":\"%s\",\"threads\":%d,\"verdicts\":%ld,"
               "\"correct\":%ld,\"verdicts_per_s\":%.0f}\n", data, th, verdicts, correct, verdicts / dt);
        fflush(stdout);
    }
    rc = bench_ccrun(2.0);
out:
    free(tasks);
    dataset_free_pairs(&ps);
    return rc;
}

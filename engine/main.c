/* rlvr: the command line. Dispatches to the subcommands and, before anything else,
 * makes sure OpenBLAS runs the kernel this CPU deserves (see policy/blas.h). */
#include "engine/commands.h"
#include "engine/dist.h"
#include "engine/util.h"
#include "policy/blas.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RLVR_COMMIT
#define RLVR_COMMIT "unknown"
#endif

static const char *USAGE =
    "usage: rlvr <command> [options]   (rlvr <command> --help for each)\n"
    "\n"
    "commands:\n"
    "  bench train     training-step speed per preset vs PyTorch, as JSON lines\n"
    "  curriculum check validate a Lua curriculum and show sample tasks per stage\n"
    "  demo            the demonstration run behind `make demo`\n"
    "  eval            pass@1 (greedy, sampled), pass@k and maj@k of a checkpoint on tasks\n"
    "  export          a checkpoint as llama2.c's model file (--llama2c CKPT OUT.bin)\n"
    "  info            build, BLAS kernel and thread settings, as JSON\n"
    "  runs            list, show, compare, plot and report the recorded runs\n"
    "  sample          generate completions from a checkpoint, streamed to the terminal\n"
    "  sft             supervised warm start on prompt/completion pairs (JSONL)\n"
    "  train           run a curriculum (SFT and RL stages) in a tracked run directory\n"
    "  tokenizer train learn the byte-level BPE vocabulary from text or JSONL files\n"
    "  verify          score completions (JSONL on stdin) with a verifier, one verdict per line\n"
    "  help            this text\n"
    "\n"
    "environment: OPENBLAS_CORETYPE overrides the BLAS kernel choice;\n"
    "             OMP_NUM_THREADS sets the thread count (default: all cores).\n";

/* OpenBLAS reads OPENBLAS_CORETYPE when the library loads, so a better kernel can only
 * be had by starting again with the variable set. The variable being set afterwards
 * also guarantees this happens at most once. The restart is silent, because every
 * command's stderr is its one-line error or progress; `rlvr info` reports it through
 * RLVR_BLAS_RESTARTED_FROM (the generic kernel OpenBLAS chose first). */
static void blas_fix_kernel(char **argv) {
    const char *core = blas_preferred_coretype();
    if (!core) return;
    setenv("RLVR_BLAS_RESTARTED_FROM", blas_corename(), 1);
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "rlvr: could not restart (%m); continuing with the %s kernel\n", blas_corename());
}

static int cmd_info(int argc, char **argv) {
    (void)argv;
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: rlvr info\n\nPrints the build commit, the OpenBLAS kernel and threading, and the\n"
               "thread count as one JSON line, with \"mpi\" (built with MPI), and this process's\n"
               "\"rank\" and the job's \"size\" (1 unless started by mpirun).\n"
               "\"blas_restarted_from\" names the generic kernel OpenBLAS chose by itself when rlvr\n"
               "restarted with OPENBLAS_CORETYPE set (empty when it did not).\n");
        return 0;
    }
    printf("{\"commit\":\"%s\",\"blas_core\":\"%s\",\"blas_threading\":\"%s\",\"threads\":%d,"
           "\"openblas_coretype_env\":\"%s\",\"blas_restarted_from\":\"%s\",\"mpi\":%s,\"rank\":%d,\"size\":%d}\n",
           RLVR_COMMIT, blas_corename(), blas_threading(), util_get_threads(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "",
           getenv("RLVR_BLAS_RESTARTED_FROM") ? getenv("RLVR_BLAS_RESTARTED_FROM") : "",
           dist_built_with_mpi() ? "true" : "false", dist_rank(), dist_size());
    return 0;
}

int main(int argc, char **argv) {
    blas_fix_kernel(argv);   /* may exec: before MPI_Init */
    if (dist_init(&argc, &argv) != 0) exit(1);
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        dist_finalize();
        exit(argc < 2 ? 2 : 0);
    }
    const char *cmd = argv[1];
    int rc;
    /* Under mpirun with several ranks only `train` splits its work; any other command
     * would run once per rank, each writing the same files and output. */
    if (dist_size() > 1 && strcmp(cmd, "train") != 0 && strcmp(cmd, "info") != 0) {
        if (dist_rank() == 0)
            fprintf(stderr, "rlvr %s: runs as a single process; under mpirun with several ranks only `rlvr train` "
                            "is data-parallel (run `rlvr %s` without mpirun)\n", cmd, cmd);
        dist_finalize();
        exit(2);
    }
    if (strcmp(cmd, "bench") == 0) rc = cmd_bench(argc - 2, argv + 2);
    else if (strcmp(cmd, "demo") == 0) rc = cmd_demo(argc - 2, argv + 2);
    else if (strcmp(cmd, "eval") == 0) rc = cmd_eval(argc - 2, argv + 2);
    else if (strcmp(cmd, "export") == 0) rc = cmd_export(argc - 2, argv + 2);
    else if (strcmp(cmd, "info") == 0) rc = cmd_info(argc - 2, argv + 2);
    else if (strcmp(cmd, "runs") == 0) rc = cmd_runs(argc - 2, argv + 2);
    else if (strcmp(cmd, "sample") == 0) rc = cmd_sample(argc - 2, argv + 2);
    else if (strcmp(cmd, "sft") == 0) rc = cmd_sft(argc - 2, argv + 2);
    else if (strcmp(cmd, "tokenizer") == 0) rc = cmd_tokenizer(argc - 2, argv + 2);
    else if (strcmp(cmd, "train") == 0) rc = cmd_train(argc - 2, argv + 2);
    else if (strcmp(cmd, "curriculum") == 0) rc = cmd_curriculum(argc - 2, argv + 2);
    else if (strcmp(cmd, "verify") == 0) rc = cmd_verify(argc - 2, argv + 2);
    else {
        fprintf(stderr, "rlvr: unknown command '%s' (try rlvr help)\n", cmd);
        rc = 2;
    }
    /* An error may be this rank's alone while the others wait for it in a collective:
     * abort the job. 0 and the signal exits (130, 143) the ranks reach together. */
    if (rc == 0 || rc == 130 || rc == 143) dist_finalize();
    else dist_abort(rc);
    exit(rc);
}

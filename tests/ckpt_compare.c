/* ckpt_compare: how far apart the parameters of two checkpoints are, for the MPI tests
 * (tests/cli_mpi.sh: 2 ranks against 1 process, ranks among themselves).
 *
 * usage: ckpt_compare A.ckpt B.ckpt [--tol T]
 * Prints one JSON line: {"params":N,"differ":K,"max_abs":X,"max_rel":Y}: K parameters
 * differ in their bits, X = max |a-b|, Y = max |a-b| / max(|a|, |b|, 1e-3). Exits 0 when
 * X <= T (default 0: bitwise equal), 1 when not, 2 when a checkpoint cannot be read or
 * the shapes differ. */
#include "engine/policy_io.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--tol") == 0)) {
        fprintf(stderr, "usage: ckpt_compare A.ckpt B.ckpt [--tol T]\n");
        return 2;
    }
    double tol = argc == 5 ? atof(argv[4]) : 0.0;
    Model a, b;
    Tokenizer ta, tb;
    char err[1024];
    if (policy_load(argv[1], &a, &ta, NULL, NULL, NULL, err, sizeof err)) { fprintf(stderr, "ckpt_compare: %s\n", err); return 2; }
    if (policy_load(argv[2], &b, &tb, NULL, NULL, NULL, err, sizeof err)) { fprintf(stderr, "ckpt_compare: %s\n", err); return 2; }
    if (a.num_params != b.num_params || memcmp(&a.cfg, &b.cfg, sizeof a.cfg) != 0) {
        fprintf(stderr, "ckpt_compare: %s and %s are models of different shapes\n", argv[1], argv[2]);
        return 2;
    }
    size_t differ = 0;
    double max_abs = 0, max_rel = 0;
    for (size_t i = 0; i < a.num_params; i++) {
        double x = a.params_memory[i], y = b.params_memory[i], d = fabs(x - y);
        if (memcmp(&a.params_memory[i], &b.params_memory[i], sizeof(float)) != 0) differ++;
        if (!(d <= max_abs)) max_abs = d;   /* NaN counts as the largest */
        double r = d / fmax(fmax(fabs(x), fabs(y)), 1e-3);
        if (!(r <= max_rel)) max_rel = r;
    }
    printf("{\"params\":%zu,\"differ\":%zu,\"max_abs\":%.3g,\"max_rel\":%.3g}\n", a.num_params, differ, max_abs, max_rel);
    model_free(&a); model_free(&b); tokenizer_free(&ta); tokenizer_free(&tb);
    return max_abs <= tol && (tol > 0 || differ == 0) ? 0 : 1;
}

/* mpi_allreduce_check: engine/dist's collectives across the ranks of an mpirun job
 * (run by tests/cli_mpi.sh; also correct as one process). Each rank checks the results
 * it receives and prints "ok rank R of S", or the first mismatch and exits 1.
 *
 * usage: mpi_allreduce_check [--size N]      check the collectives (expect N ranks)
 *        mpi_allreduce_check --crash R       rank R dies of SIGSEGV; the others wait in
 *                                            an allreduce that never completes
 *        mpi_allreduce_check --exit R        rank R exits 3 without dist_finalize */
#include "engine/dist.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_bad = 0;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "rank %d: ", dist_rank()); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); g_bad = 1; } } while (0)
#define MUST(call) do { if ((call) != 0) { fprintf(stderr, "rank %d: %s: %s\n", dist_rank(), #call, err); \
    dist_finalize(); return 1; } } while (0)

int main(int argc, char **argv) {
    if (dist_init(&argc, &argv) != 0) return 1;
    int rank = dist_rank(), size = dist_size();
    char err[512] = "";
    if (argc == 3 && (strcmp(argv[1], "--crash") == 0 || strcmp(argv[1], "--exit") == 0)) {
        float x = 1.0f;
        if (rank == atoi(argv[2])) {
            if (argv[1][2] == 'c') raise(SIGSEGV);
            exit(3);
        }
        dist_allreduce_sum_f32(&x, 1, err, sizeof err);   /* waits for the dead rank */
        fprintf(stderr, "rank %d: the allreduce returned without the dead rank (%s)\n", rank, err);
        dist_finalize();
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--size") == 0)
        CHECK(size == atoi(argv[2]), "size %d, expected %s", size, argv[2]);
    const char *env_rank = getenv("OMPI_COMM_WORLD_RANK");
    if (env_rank) CHECK(rank == atoi(env_rank), "rank %d, OMPI_COMM_WORLD_RANK=%s", rank, env_rank);

    /* allreduce: rank r holds (r+1) + i/2 (exact in float): the sum is
     * size(size+1)/2 + size*i/2 on every rank. */
    enum { N = 100003 };
    float *f = malloc(N * sizeof *f);
    double *d = malloc(N * sizeof *d);
    if (!f || !d) return 1;
    for (int i = 0; i < N; i++) f[i] = (float)(rank + 1) + 0.5f * (float)(i % 1000), d[i] = rank + 1 + 0.5 * i;
    MUST(dist_allreduce_sum_f32(f, N, err, sizeof err));
    MUST(dist_allreduce_sum_f64(d, N, err, sizeof err));
    for (int i = 0; i < N && !g_bad; i++) {
        double base = size * (size + 1) / 2.0;
        CHECK(f[i] == (float)(base + size * 0.5 * (i % 1000)), "f32 sum [%d] = %g", i, f[i]);
        CHECK(d[i] == base + size * 0.5 * i, "f64 sum [%d] = %g", i, d[i]);
    }
    MUST(dist_allreduce_sum_f32(f, 0, err, sizeof err));

    /* allgather: rank r sends r+1 values 100r + j; all arrive in rank order. */
    int total = size * (size + 1) / 2, *counts = calloc((size_t)size, sizeof *counts);
    double mine[64], *all = calloc((size_t)total, sizeof *all);
    if (!counts || !all || size > 64) return 1;
    for (int j = 0; j <= rank; j++) mine[j] = 100.0 * rank + j;
    MUST(dist_allgather_f64(mine, rank + 1, all, total, counts, err, sizeof err));
    for (int r = 0, k = 0; r < size; r++) {
        CHECK(counts[r] == r + 1, "counts[%d] = %d", r, counts[r]);
        for (int j = 0; j <= r; j++, k++) CHECK(all[k] == 100.0 * r + j, "all[%d] = %g", k, all[k]);
    }
    /* Too little room: every rank fails (the counts are gathered first), none hangs. */
    CHECK(dist_allgather_f64(mine, rank + 1, all, total - 1, counts, err, sizeof err) == -1,
          "allgather into too small a buffer succeeded");

    /* bcast from the last rank, 3 MB (more than one eager message). */
    size_t nb = 3u << 20;
    unsigned char *b = malloc(nb);
    if (!b) return 1;
    int root = size - 1;
    for (size_t i = 0; i < nb; i++) b[i] = rank == root ? (unsigned char)(i * 31 + 7) : 0;
    MUST(dist_bcast(b, nb, root, err, sizeof err));
    for (size_t i = 0; i < nb && !g_bad; i++) CHECK(b[i] == (unsigned char)(i * 31 + 7), "bcast byte %zu", i);
    CHECK(dist_bcast(b, 1, size, err, sizeof err) == -1, "bcast from rank %d succeeded", size);

    dist_barrier();
    if (!g_bad) printf("ok rank %d of %d\n", rank, size);
    free(f), free(d), free(counts), free(all), free(b);
    dist_finalize();
    return g_bad;
}

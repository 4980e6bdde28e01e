/* dist: see dist.h. One process unless built with MPI and started by mpirun. */
#include "engine/dist.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef RLVR_MPI
#include <mpi.h>
#endif

static int g_active = 0, g_rank = 0, g_size = 1;

int dist_built_with_mpi(void) {
#ifdef RLVR_MPI
    return 1;
#else
    return 0;
#endif
}
int dist_active(void) { return g_active; }
int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

#ifdef RLVR_MPI
/* Started by a process manager: Open MPI's mpirun, or a PMI/PMIx launcher (srun, hydra). */
static int launched_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static int mpi_fail(int rc, const char *what, char *err, size_t errlen) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", rc);
    if (err && errlen) snprintf(err, errlen, "%s on rank %d of %d: %s", what, g_rank, g_size, msg);
    return -1;
}
#endif

int dist_init(int *argc, char ***argv) {
#ifdef RLVR_MPI
    if (g_active || !launched_by_mpirun()) return 0;
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "rlvr: MPI_Init failed (error %d)\n", rc);
        return -1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_active = 1;
#else
    (void)argc;
    (void)argv;
#endif
    return 0;
}

void dist_finalize(void) {
#ifdef RLVR_MPI
    if (!g_active) return;
    MPI_Finalize();
    g_active = 0;
#endif
}

void dist_barrier(void) {
#ifdef RLVR_MPI
    if (g_active) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

#ifdef RLVR_MPI
/* In-place sum of n elements of `size` bytes, in pieces of at most INT_MAX elements
 * (one MPI_Allreduce call when n <= INT_MAX, as MPI counts are ints). */
static int allreduce_sum(void *buf, size_t n, size_t size, MPI_Datatype type, char *err, size_t errlen) {
    for (size_t off = 0; off < n;) {
        size_t k = n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * size, (int)k, type, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce", err, errlen);
        off += k;
    }
    return 0;
}
#endif

int dist_allreduce_sum_f32(float *buf, size_t n, char *err, size_t errlen) {
#ifdef RLVR_MPI
    if (g_active) return allreduce_sum(buf, n, sizeof *buf, MPI_FLOAT, err, errlen);
#endif
    (void)buf, (void)n, (void)err, (void)errlen;
    return 0;
}

int dist_allreduce_sum_f64(double *buf, size_t n, char *err, size_t errlen) {
#ifdef RLVR_MPI
    if (g_active) return allreduce_sum(buf, n, sizeof *buf, MPI_DOUBLE, err, errlen);
#endif
    (void)buf, (void)n, (void)err, (void)errlen;
    return 0;
}

int dist_allgather_f64(const double *mine, int n_mine, double *all, int all_cap, int *counts,
                       char *err, size_t errlen) {
#ifdef RLVR_MPI
    if (g_active) {
        /* The counts first, so that every rank sees the same sizes and fails together. */
        int rc = MPI_Allgather(&n_mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allgather", err, errlen);
        long long total = 0;
        for (int r = 0; r < g_size; r++) {
            if (counts[r] < 0) {
                snprintf(err, errlen, "allgather: rank %d sent %d values", r, counts[r]);
                return -1;
            }
            total += counts[r];
        }
        if (total > all_cap) {
            snprintf(err, errlen, "allgather: %lld values from %d ranks, room for %d", total, g_size, all_cap);
            return -1;
        }
        int *displs = malloc((size_t)g_size * sizeof *displs);
        if (!displs) {
            snprintf(err, errlen, "allgather: out of memory");
            return -1;
        }
        for (int r = 0, d = 0; r < g_size; d += counts[r], r++) displs[r] = d;
        rc = MPI_Allgatherv(mine, n_mine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, MPI_COMM_WORLD);
        free(displs);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allgatherv", err, errlen);
        return 0;
    }
#endif
    if (n_mine < 0 || n_mine > all_cap) {
        snprintf(err, errlen, "allgather: %d values, room for %d", n_mine, all_cap);
        return -1;
    }
    if (n_mine > 0) memmove(all, mine, (size_t)n_mine * sizeof *all);
    counts[0] = n_mine;
    return 0;
}

int dist_bcast(void *buf, size_t bytes, int root, char *err, size_t errlen) {
    if (root < 0 || root >= g_size) {
        snprintf(err, errlen, "bcast: root %d, but %d ranks", root, g_size);
        return -1;
    }
#ifdef RLVR_MPI
    if (g_active) {
        for (size_t off = 0; off < bytes;) {
            size_t k = bytes - off < (size_t)INT_MAX ? bytes - off : (size_t)INT_MAX;
            int rc = MPI_Bcast((char *)buf + off, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast", err, errlen);
            off += k;
        }
        return 0;
    }
#endif
    (void)buf;
    return 0;
}

/* dist: see dist.h. One process unless built with MPI and started by mpirun. */
#include "engine/dist.h"
#include "engine/util.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef RLVR_MPI
#include <mpi.h>
#endif

static int g_active = 0, g_rank = 0, g_size = 1;
static uint64_t g_bytes = 0;
static double g_seconds = 0;

uint64_t dist_bytes(void) { return g_bytes; }
double dist_seconds(void) { return g_seconds; }


void dist_share(int n, int *lo, int *hi) {
    if (n < 0) n = 0;
    *lo = (int)((long long)n * g_rank / g_size);
    *hi = (int)((long long)n * (g_rank + 1) / g_size);
}

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
    /* mpirun started several copies of a build without MPI: each would train alone and
     * write a run of its own. */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE") : getenv("PMI_SIZE");
    if (n && atoi(n) > 1) {
        if (!getenv("OMPI_COMM_WORLD_RANK") || atoi(getenv("OMPI_COMM_WORLD_RANK")) == 0)
            fprintf(stderr, "rlvr: started by mpirun as %d ranks, but this rlvr was built without MPI "
                            "(install libopenmpi-dev and rebuild, or run it without mpirun)\n", atoi(n));
        return -1;
    }
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

void dist_abort(int code) {
#ifdef RLVR_MPI
    if (g_active && g_size > 1) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    }
#endif
    (void)code;
    dist_finalize();
}

int dist_same_u64(uint64_t v, int *same, char *err, size_t errlen) {
    *same = 1;
#ifdef RLVR_MPI
    if (g_active) {
        uint64_t lo = v, hi = v;
        double t0 = util_now();
        int rc = MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
        if (rc == MPI_SUCCESS) rc = MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
        g_seconds += util_now() - t0;
        g_bytes += 2 * sizeof v;
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce", err, errlen);
        *same = lo == hi;
    }
#endif
    (void)v, (void)err, (void)errlen;
    return 0;
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
    double t0 = util_now();
    g_bytes += n * size;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * size, (int)k, type, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce", err, errlen);
        off += k;
    }
    g_seconds += util_now() - t0;
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
        double t0 = util_now();
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
        g_seconds += util_now() - t0;
        g_bytes += (uint64_t)n_mine * sizeof *mine;
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
        g_bytes += bytes;
        double t0 = util_now();
        for (size_t off = 0; off < bytes;) {
            size_t k = bytes - off < (size_t)INT_MAX ? bytes - off : (size_t)INT_MAX;
            int rc = MPI_Bcast((char *)buf + off, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast", err, errlen);
            off += k;
        }
        g_seconds += util_now() - t0;
        return 0;
    }
#endif
    (void)buf, (void)bytes;
    return 0;
}

/* dist: the processes of a data-parallel job, and the few collectives the trainer needs.
 *
 * Built with MPI (-DRLVR_MPI, which the Makefile adds when mpicc is on PATH) and started
 * by mpirun, rlvr is one of dist_size() processes, numbered 0 .. size-1 by dist_rank().
 * Otherwise (built without MPI, or started without mpirun) it is a single process:
 * rank 0 of 1, MPI is never initialised (so a plain `./rlvr` needs no MPI runtime), and
 * every collective below is what it is on one process: the identity (allreduce, bcast,
 * barrier) or a copy (allgather). These are the same semantics, not stubs.
 *
 * Contract:
 *  - dist_init before anything else that uses dist (and after any exec() restart: an
 *    MPI process must not exec), dist_finalize once before a normal exit. Both are
 *    called by main(); the other functions work before dist_init, as one process.
 *  - Collectives are called by every rank, in the same order, with the same sizes
 *    (allgather: each rank its own n_mine). They return 0, or -1 with a one-line
 *    message in err (MPI_COMM_WORLD uses MPI_ERRORS_RETURN, so MPI errors come back
 *    here instead of aborting).
 *  - Failure of a rank stops the job: mpirun kills every process of the job and exits
 *    non-zero when one of them dies on a signal or exits without dist_finalize (for
 *    example exit(1) after an error). A rank that meets an error it cannot recover from
 *    exits non-zero; the others must not wait for it (tests/cli_mpi.sh checks both).
 *  - Sums are in the ranks' order, with MPI's reduction order: for a given number of
 *    ranks the result is the same on every rank and from run to run.
 */
#ifndef RLVR_DIST_H
#define RLVR_DIST_H
#include <stddef.h>
#include <stdint.h>

/* Join the job if started by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK in the
 * environment): MPI_Init. Returns 0, or -1 with a message on stderr; built without MPI,
 * -1 when mpirun started more than one copy (each would run alone). */
int dist_init(int *argc, char ***argv);
void dist_finalize(void);
/* Leave the job after an error that may be this rank's alone: with more than one rank
 * MPI_Abort (mpirun then stops every rank, so none waits forever in a collective for
 * this one); otherwise dist_finalize. main() calls it for every exit code but 0, 130 and
 * 143, which the ranks reach together. */
void dist_abort(int code);
int dist_rank(void);
int dist_size(void);
/* 1 when MPI was initialised (launched by mpirun in an MPI build). */
int dist_active(void);
/* 1 when built with MPI. */
int dist_built_with_mpi(void);

/* buf[i] = sum over ranks of buf[i], in place, on every rank. n may exceed INT_MAX. */
int dist_allreduce_sum_f32(float *buf, size_t n, char *err, size_t errlen);
int dist_allreduce_sum_f64(double *buf, size_t n, char *err, size_t errlen);
/* Every rank's `mine` (n_mine values, which may differ by rank), concatenated in rank
 * order into `all` (room for all_cap values) on every rank; counts[r] (dist_size()
 * entries) is rank r's n_mine. Fails on every rank if the total exceeds all_cap. */
int dist_allgather_f64(const double *mine, int n_mine, double *all, int all_cap, int *counts,
                       char *err, size_t errlen);
/* root's `bytes` bytes of buf into buf on every rank. */
int dist_bcast(void *buf, size_t bytes, int root, char *err, size_t errlen);
void dist_barrier(void);
/* 1 when v is the same on every rank (an allreduce of its minimum and maximum). */
int dist_same_u64(uint64_t v, int *same, char *err, size_t errlen);

/* This rank's share [*lo, *hi) of n items numbered 0 .. n-1: contiguous, in rank order,
 * sizes differing by at most one (a share may be empty when n < size). */
void dist_share(int n, int *lo, int *hi);

/* What this process has passed through the collectives so far: payload bytes (what it
 * handed to MPI, not what the wire carried) and seconds spent inside them. */
uint64_t dist_bytes(void);
double dist_seconds(void);

#endif

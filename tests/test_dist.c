/* test_dist: engine/dist on one process (not started by mpirun): rank 0 of 1, MPI not
 * initialised, and every collective what it is on one process (identity or copy).
 * The multi-process behaviour is checked by tests/cli_mpi.sh with mpi_allreduce_check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/dist.h"
#include <stdlib.h>
#include <string.h>

static void test_single_process(void **state) {
    (void)state;
    assert_int_equal(dist_rank(), 0);
    assert_int_equal(dist_size(), 1);
    assert_int_equal(dist_active(), 0);
#ifdef RLVR_MPI
    assert_int_equal(dist_built_with_mpi(), 1);
#else
    assert_int_equal(dist_built_with_mpi(), 0);
#endif
    dist_barrier();
}

static void test_allreduce_is_identity(void **state) {
    (void)state;
    char err[256] = "";
    float f[5] = {1.5f, -2.0f, 0.0f, 3e30f, -0.0f};
    double d[3] = {1e-300, -7.25, 42.0};
    float f0[5];
    double d0[3];
    memcpy(f0, f, sizeof f);
    memcpy(d0, d, sizeof d);
    assert_int_equal(dist_allreduce_sum_f32(f, 5, err, sizeof err), 0);
    assert_int_equal(dist_allreduce_sum_f64(d, 3, err, sizeof err), 0);
    assert_memory_equal(f, f0, sizeof f);
    assert_memory_equal(d, d0, sizeof d);
    assert_int_equal(dist_allreduce_sum_f32(NULL, 0, err, sizeof err), 0);
    assert_int_equal(dist_allreduce_sum_f64(NULL, 0, err, sizeof err), 0);
}

static void test_allgather_copies(void **state) {
    (void)state;
    char err[256] = "";
    double mine[4] = {1, 2, 3, 4}, all[8];
    int counts[1] = {-1};
    for (int i = 0; i < 8; i++) all[i] = -1;
    assert_int_equal(dist_allgather_f64(mine, 4, all, 8, counts, err, sizeof err), 0);
    assert_int_equal(counts[0], 4);
    assert_memory_equal(all, mine, sizeof mine);
    assert_true(all[4] == -1.0);   /* nothing written past the gathered values */
    assert_int_equal(dist_allgather_f64(mine, 0, all, 0, counts, err, sizeof err), 0);
    assert_int_equal(counts[0], 0);
    /* Too little room, or a negative count: an error, with a message. */
    assert_int_equal(dist_allgather_f64(mine, 4, all, 3, counts, err, sizeof err), -1);
    assert_non_null(strstr(err, "room for 3"));
    assert_int_equal(dist_allgather_f64(mine, -1, all, 8, counts, err, sizeof err), -1);
}

static void test_bcast(void **state) {
    (void)state;
    char err[256] = "";
    unsigned char buf[64], copy[64];
    for (int i = 0; i < 64; i++) buf[i] = (unsigned char)(i * 7);
    memcpy(copy, buf, sizeof buf);
    assert_int_equal(dist_bcast(buf, sizeof buf, 0, err, sizeof err), 0);
    assert_memory_equal(buf, copy, sizeof buf);
    assert_int_equal(dist_bcast(buf, sizeof buf, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "root 1"));
    assert_int_equal(dist_bcast(buf, sizeof buf, -1, err, sizeof err), -1);
}

int main(int argc, char **argv) {
    /* Not under mpirun (whatever launched this test): stay one process. */
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMI_SIZE");
    unsetenv("PMIX_RANK");
    if (dist_init(&argc, &argv) != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_process),
        cmocka_unit_test(test_allreduce_is_identity),
        cmocka_unit_test(test_allgather_copies),
        cmocka_unit_test(test_bcast),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dist_finalize();
    return rc;
}

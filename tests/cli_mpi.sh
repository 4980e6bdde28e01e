#!/bin/sh
# cli_mpi.sh: rlvr as an MPI job (engine/dist.h). `rlvr info` alone is rank 0 of 1;
# under `mpirun -np 2` it prints one line per rank, ranks 0 and 1 of size 2. The
# collectives (allreduce, allgather, bcast) agree across 2 ranks (mpi_allreduce_check).
# A rank that dies on SIGSEGV, or exits without finishing, stops the whole job: mpirun
# exits non-zero, well within a 60 s timeout, without hanging.
#
# Skipped (exit 0 with a "skip:" line) when mpirun is missing or rlvr was built
# without MPI (`make MPI=0`, or no mpicc).
#
# usage: tests/cli_mpi.sh [path/to/rlvr] [path/to/mpi_allreduce_check]
#        (defaults ./rlvr and build/tests/mpi_allreduce_check)

RLVR=${1:-./rlvr}
CHECKER=${2:-build/tests/mpi_allreduce_check}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli-mpi
unset OMPI_COMM_WORLD_SIZE PMI_SIZE PMIX_RANK
# Under mpirun, LeakSanitizer (make test-asan) reports Open MPI's own allocations from
# MPI_Init (in plugins it has unloaded, so no suppression can name them): leak checks off.
MPIRUN="timeout 60 env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 mpirun --oversubscribe --allow-run-as-root -np 2"

check "rlvr info alone: rank 0 of size 1"
run "$RLVR" info; expect_rc 0; expect_lines 1
expect_out '"rank":0,"size":1}'

if ! command -v mpirun >/dev/null 2>&1; then skip "mpirun is not installed"; exit 0; fi
if ! grep -q '"mpi":true' "$OUT"; then skip "$RLVR was built without MPI"; exit 0; fi
[ -x "$CHECKER" ] || fail "$CHECKER is not an executable (make $CHECKER)"

check "mpirun -np 2 rlvr info: ranks 0 and 1 of size 2"
T0=$(date +%s%N)
run $MPIRUN "$RLVR" info; expect_rc 0; expect_lines 2
T1=$(date +%s%N)
[ "$(grep -c '"mpi":true,"rank":0,"size":2}$' "$OUT")" -eq 1 ] || fail "no single line for rank 0 of 2"
[ "$(grep -c '"mpi":true,"rank":1,"size":2}$' "$OUT")" -eq 1 ] || fail "no single line for rank 1 of 2"
echo "    (mpirun -np 2 rlvr info: $(( (T1 - T0) / 1000000 )) ms)"

check "the collectives on one process: identity and copy"
run "$CHECKER" --size 1; expect_rc 0; expect_out "ok rank 0 of 1"

check "the collectives across 2 ranks: allreduce f32/f64, allgather, bcast"
run $MPIRUN "$CHECKER" --size 2; expect_rc 0; expect_lines 2
expect_out "ok rank 0 of 2"; expect_out "ok rank 1 of 2"

for how in crash exit; do
    check "a rank that dies ($how) stops the job: mpirun exits non-zero, no hang"
    T0=$(date +%s)
    run $MPIRUN "$CHECKER" --$how 1
    T1=$(date +%s)
    [ "$RC" -ne 0 ] || fail "mpirun exited 0 after rank 1 died"
    [ "$RC" -ne 124 ] || fail "mpirun hung (killed by the 60 s timeout)"
    grep -q "returned without the dead rank" "$ERR" && fail "a rank went on past the dead rank"
    echo "    (mpirun exit $RC after $((T1 - T0)) s)"
done
echo "cli_mpi.sh: all checks passed"

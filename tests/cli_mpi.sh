#!/bin/sh
# cli_mpi.sh: rlvr as an MPI job (engine/dist.h). `rlvr info` alone is rank 0 of 1;
# under `mpirun -np 2` it prints one line per rank, ranks 0 and 1 of size 2. The
# collectives (allreduce, allgather, bcast) agree across 2 ranks (mpi_allreduce_check).
# A rank that dies on SIGSEGV, or exits without finishing, stops the whole job: mpirun
# exits non-zero, well within a 60 s timeout, without hanging.
#
# Data-parallel training (engine/train*.c): with the same seed and global batch, 2 ranks
# sample the same completions, reach the same rewards, evaluations and promotions as 1
# process, and end with parameters within PARAM_TOL of it (float summation order is all
# that differs); the ranks' parameters are checked identical after every step (and a rank
# made to diverge stops the job); rank 0 alone writes the run; a run resumes with another
# number of ranks; a rank that fails alone or is killed stops the job with a message,
# without hanging, and the last checkpoint still loads; SIGTERM saves and stops every rank;
# commands other than train refuse to run on several ranks; `rlvr bench mpi` runs (a smoke run).
#
# Skipped (exit 0 with a "skip:" line) when mpirun is missing or rlvr was built
# without MPI (`make MPI=0`, or no mpicc).
#
# usage: tests/cli_mpi.sh [path/to/rlvr] [path/to/mpi_allreduce_check] [path/to/ckpt_compare]
#        (defaults ./rlvr, build/tests/mpi_allreduce_check and build/tests/ckpt_compare)

RLVR=${1:-./rlvr}
CHECKER=${2:-build/tests/mpi_allreduce_check}
COMPARE=${3:-build/tests/ckpt_compare}
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
if ! grep -q '"mpi":true' "$OUT"; then
    check "built without MPI, several copies under mpirun refuse to start (each would train alone)"
    run $MPIRUN "$RLVR" info
    [ "$RC" -ne 0 ] || fail "mpirun -np 2 of a build without MPI exited 0"
    expect_err "built without MPI"
    skip "$RLVR was built without MPI: the rest needs MPI"
    exit 0
fi
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

# ---------------------------------------------------------------- data-parallel training

[ -x "$COMPARE" ] || fail "$COMPARE is not an executable (make $COMPARE)"
RUNS=$TMP/runs
BG=""
CLEANUP='for p in $BG; do kill -KILL $p 2>/dev/null; done'
# Largest parameter difference allowed between 1 process and 2 ranks after the 10-step
# run below (observed: about 2e-6; AdamW steps are 1e-3 and 1e-4 at most).
PARAM_TOL=1e-4

# "What is a + b?" (tests/curricula/tiny_add.lua): a 6-step SFT stage at batch 15, then an
# RL stage (5 prompts, dynamic sampling, KL) of 4 steps, 21 eval tasks; odd sizes, so the
# shares of 2 ranks differ.
sed 's/steps = 20, batch_size = 16/steps = 6, batch_size = 15/; s/prompts = 4/prompts = 5/;
     s/max_steps = 10/max_steps = 4/; s/eval_every = 10/eval_every = 5/; s/n = 20, seed = 9/n = 21, seed = 9/' \
    "$(dirname "$0")/curricula/tiny_add.lua" >"$TMP/t.lua" || exit 1
sed 's/steps = 6, batch_size = 15/steps = 2000, batch_size = 15/; s/eval_every = 5/eval_every = 0, checkpoint_every = 5/' \
    "$TMP/t.lua" >"$TMP/long.lua"

train1() { run "$RLVR" train "$@" --threads 1 --runs-dir "$RUNS"; }
train2() { run $MPIRUN "$RLVR" train "$@" --threads 1 --runs-dir "$RUNS"; }
# What must be equal between 1 process and 2 ranks: every metric but the wall clock,
# the communication and the float sums whose order differs (loss, norms, KL, entropy).
exact_metrics() { sed -E 's/,"(time_[A-Za-z0-9_]*|tokens_per_s_[A-Za-z0-9_]*|comm_bytes|loss|grad_norm|kl|entropy)":[^,}]*//g' "$1"; }
same_as_one() {   # RUN WHAT
    exact_metrics "$RUNS/one/metrics.jsonl" >"$TMP/m1"
    exact_metrics "$RUNS/$1/metrics.jsonl" >"$TMP/m2"
    cmp -s "$TMP/m1" "$TMP/m2" || fail "$2: metrics differ from 1 process: $(diff "$TMP/m1" "$TMP/m2" | head -3 | cut -c 1-300)"
    "$COMPARE" "$RUNS/one/checkpoints/latest.ckpt" "$RUNS/$1/checkpoints/latest.ckpt" --tol $PARAM_TOL >"$TMP/cmp" ||
        fail "$2: parameters differ from 1 process by more than $PARAM_TOL: $(cat "$TMP/cmp")"
    echo "    ($2 vs 1 process: $(cat "$TMP/cmp"))"
}

check "train on 1 process (the reference run)"
train1 "$TMP/t.lua" --run-id one; expect_rc 0
[ "$(wc -l <"$RUNS/one/metrics.jsonl")" -eq 10 ] || fail "expected 10 steps in metrics.jsonl"

check "train on 2 ranks: the same rewards, evaluations and promotion, parameters within $PARAM_TOL"
train2 "$TMP/t.lua" --run-id two; expect_rc 0
expect_err "2 ranks (data-parallel)"
same_as_one two "2 ranks"
grep -q '"comm_bytes":[1-9]' "$RUNS/two/metrics.jsonl" || fail "no comm_bytes in the 2-rank metrics"
grep -q '"ranks":2' "$RUNS/two/config.json" || grep -q '"ranks":[[:space:]]*2' "$RUNS/two/config.json" ||
    fail "config.json does not record 2 ranks"

check "rank 0 alone writes: one run folder, one progress, one record branch"
[ "$(ls "$RUNS" | grep -c -v -e '^records.git$' -e '^report$')" -eq 2 ] || fail "runs folder holds $(ls "$RUNS")"
[ "$(grep -c "new run" "$ERR")" -eq 1 ] || fail "the start line was printed $(grep -c "new run" "$ERR") times"
[ "$(grep -c "finished after" "$ERR")" -eq 1 ] || fail "the end line was printed $(grep -c "finished after" "$ERR") times"
[ "$(git --git-dir="$RUNS/records.git" branch --list 'runs/two' | wc -l)" -eq 1 ] || fail "no record branch runs/two"

check "2 ranks twice with one seed: identical metrics and parameters"
train2 "$TMP/t.lua" --run-id two-again; expect_rc 0
exact_metrics "$RUNS/two/metrics.jsonl" >"$TMP/a"; exact_metrics "$RUNS/two-again/metrics.jsonl" >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "two 2-rank runs differ"
"$COMPARE" "$RUNS/two/checkpoints/latest.ckpt" "$RUNS/two-again/checkpoints/latest.ckpt" >"$TMP/cmp" ||
    fail "two 2-rank runs with one seed end with different parameters: $(cat "$TMP/cmp")"

check "resume with another number of ranks: 2 ranks stopped in SFT, resumed on 1 process"
train2 "$TMP/t.lua" --run-id two-one --max-steps 4; expect_rc 0
train1 --resume two-one; expect_rc 0
same_as_one two-one "2 ranks then 1"

check "resume with another number of ranks: 1 process stopped in RL, resumed on 2 ranks"
train1 "$TMP/t.lua" --run-id one-two --max-steps 8; expect_rc 0
train2 --resume one-two; expect_rc 0
same_as_one one-two "1 process then 2 ranks"

check "resume with the same number of ranks: 2 ranks stopped in RL, resumed on 2 ranks"
train2 "$TMP/t.lua" --run-id two-two --max-steps 7; expect_rc 0
train2 --resume two-two; expect_rc 0
same_as_one two-two "2 ranks then 2"

check "fewer SFT rows, RL prompts and eval tasks than ranks: rank 1's empty shares, results bitwise equal to 1 process"
sed 's/batch_size = 15/batch_size = 1/; s/prompts = 5/prompts = 1/; s/n = 21, seed = 9/n = 1, seed = 9/' "$TMP/t.lua" >"$TMP/edge.lua"
train1 "$TMP/edge.lua" --run-id edge1; expect_rc 0
train2 "$TMP/edge.lua" --run-id edge2; expect_rc 0
exact_metrics "$RUNS/edge1/metrics.jsonl" >"$TMP/a"; exact_metrics "$RUNS/edge2/metrics.jsonl" >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "metrics differ: $(diff "$TMP/a" "$TMP/b" | head -3 | cut -c 1-300)"
"$COMPARE" "$RUNS/edge1/checkpoints/latest.ckpt" "$RUNS/edge2/checkpoints/latest.ckpt" >"$TMP/cmp" ||
    fail "with all the work on rank 0 the parameters should be bitwise equal: $(cat "$TMP/cmp")"

check "a rank whose parameters diverge stops the job with a message naming the step"
RLVR_TEST_DIVERGE_RANK=1 train2 "$TMP/t.lua" --run-id diverge
[ "$RC" -ne 0 ] || fail "the job went on with diverged parameters"
[ "$RC" -ne 124 ] || fail "the job hung (killed by the timeout)"
expect_err "after step 1 the ranks' parameters differ"
grep -q '"status":[[:space:]]*"failed"' "$RUNS/diverge/summary.json" || fail "the diverged run's summary.json does not say failed"

check "a rank that fails alone stops the job (no rank waits for it forever)"
T0=$(date +%s)
RLVR_TEST_FAIL_RANK=1 train2 "$TMP/t.lua" --run-id fail1
T1=$(date +%s)
[ "$RC" -ne 0 ] || fail "mpirun exited 0"
[ "$RC" -ne 124 ] || fail "the job hung (killed by the timeout)"
expect_err "rank 1 of 2: RLVR_TEST_FAIL_RANK"
echo "    (stopped after $((T1 - T0)) s, exit $RC)"

# start_long ID: a long 2-rank run in the background; waits for its first checkpoint.
start_long() {
    $MPIRUN "$RLVR" train "$TMP/long.lua" --threads 1 --runs-dir "$RUNS" --run-id "$1" >"$TMP/$1.out" 2>"$TMP/$1.err" &
    PID=$!       # timeout's: signals for the job go to mpirun itself, its child ($MPI_PID)
    BG="$BG $PID"
    i=0
    while [ ! -f "$RUNS/$1/checkpoints/latest.ckpt" ]; do
        i=$((i + 1)); [ $i -le 300 ] || fail "no checkpoint from the long run $1 after 30 s"
        sleep 0.1
    done
    MPI_PID=$(pgrep -P "$PID" -x mpirun)
    [ -n "$MPI_PID" ] || fail "no mpirun under the test's timeout (pid $PID)"
    BG="$BG $MPI_PID"
    sleep 0.5
}

check "a rank killed with SIGKILL stops the whole job; the last checkpoint loads and resumes"
start_long killed
P0=$(sed -n 's/.*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$RUNS/killed/process.json")
[ -n "$P0" ] || fail "no pid in process.json"
KIDS=$(pgrep -P "$MPI_PID")
VICTIM=
for k in $KIDS; do [ "$k" != "$P0" ] && VICTIM=$k; done
[ -n "$VICTIM" ] || fail "found no rank but rank 0 (pid $P0) among: $KIDS"
T0=$(date +%s)
kill -KILL "$VICTIM"
wait $PID; RC=$?
T1=$(date +%s)
[ "$RC" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ "$RC" -ne 124 ] || fail "the job hung after a rank was killed"
grep -q "exited on signal 9" "$TMP/killed.err" || fail "mpirun did not say a rank was killed: $(tail -3 "$TMP/killed.err")"
i=0   # rank 0 may take a moment to be reaped after mpirun exits
while kill -0 "$P0" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$P0/stat" 2>/dev/null)" != Z ]; do
    i=$((i + 1)); [ $i -le 50 ] || fail "rank 0 (pid $P0) still runs 5 s after mpirun exited"
    sleep 0.1
done
echo "    (the job stopped $((T1 - T0)) s after the kill, exit $RC)"
train1 --resume killed --max-steps 40; expect_rc 0
expect_err "from step "

# mpirun passes SIGTERM on to the ranks but follows it with SIGKILL after 1 s (raising
# odls_base_sigkill_timeout stops it passing SIGTERM at all, in Open MPI 4.1); SIGUSR1 it
# passes on alone, and rlvr takes it as SIGTERM.
check "SIGUSR1 to mpirun: every rank stops at the same step, the checkpoint is saved, status interrupted"
start_long usr1
kill -USR1 "$MPI_PID"
wait $PID
grep -q '"status":[[:space:]]*"interrupted"' "$RUNS/usr1/summary.json" || fail "summary.json: $(cat "$RUNS/usr1/summary.json")"
grep -q "interrupted at step" "$TMP/usr1.err" || fail "no 'interrupted at step' line: $(tail -3 "$TMP/usr1.err")"
N=$(wc -l <"$RUNS/usr1/metrics.jsonl")
train2 --resume usr1 --max-steps $((N + 2)); expect_rc 0
expect_err "from step $N,"

check "SIGTERM to mpirun: the job stops (no hang) and resumes from a checkpoint it kept"
start_long term
T0=$(date +%s)
kill -TERM "$MPI_PID"
wait $PID; RC=$?
T1=$(date +%s)
[ "$RC" -ne 124 ] || fail "the job hung after SIGTERM (killed by the timeout)"
echo "    (stopped $((T1 - T0)) s after SIGTERM, exit $RC, status $(sed -n 's/.*"status":[[:space:]]*"\([a-z]*\)".*/\1/p' "$RUNS/term/summary.json"))"
N=$(wc -l <"$RUNS/term/metrics.jsonl")   # at least the checkpoint's step
train1 --resume term --max-steps $((N + 2)); expect_rc 0
expect_err "from step "

check "rlvr bench mpi (smoke run): JSON lines at 1 and 2 ranks, the scaling efficiency, the gradient's bytes"
run timeout 120 "$RLVR" bench mpi --sft-steps 3 --rl-steps 3; expect_rc 0; expect_lines 6
[ "$(grep -c '^{"bench":"mpi",.*"steps_per_s":[0-9.e+-]*,' "$OUT")" -eq 4 ] || fail "expected 4 steps_per_s lines"
[ "$(grep -c '"scaling_efficiency":[0-9.]*,' "$OUT")" -eq 2 ] || fail "expected 2 scaling_efficiency lines"
PARAMS=$(sed -n 's/.*"mode":"sft","scaling_efficiency".*"params":\([0-9]*\).*/\1/p' "$OUT")
BYTES=$(sed -n 's/.*"mode":"sft","ranks":2,.*"comm_bytes_per_step":\([0-9]*\).*/\1/p' "$OUT")
[ -n "$PARAMS" ] && [ -n "$BYTES" ] || fail "no params or 2-rank comm_bytes_per_step"
[ "$BYTES" -ge $((4 * PARAMS)) ] && [ "$BYTES" -le $((4 * PARAMS + 1000)) ] ||
    fail "an SFT step passed $BYTES bytes; the gradient is $((4 * PARAMS))"

check "commands other than train refuse several ranks with a message"
run $MPIRUN "$RLVR" sample --ckpt "$RUNS/one/checkpoints/latest.ckpt" --prompt "1+1"
[ "$RC" -ne 0 ] || fail "sample ran on 2 ranks"
expect_err "only \`rlvr train\` is data-parallel"
echo "cli_mpi.sh: all checks passed"

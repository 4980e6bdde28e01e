#!/bin/sh
# cli_train.sh: `rlvr train` end to end on a tiny curriculum (an SFT stage, then an RL
# stage with a KL reference): the run files and their fields; bitwise reproducibility
# for a seed and thread count; --max-steps then --resume (in the SFT stage, at the
# stage boundary, in the RL stage), SIGTERM, SIGINT and SIGKILL then --resume, each
# ending exactly as a run never stopped; bad input (a broken script, a missing run, a
# corrupted checkpoint, an existing run id, usage errors); --config.
#
# Every run uses --threads 1: results are reproducible for a given thread count (BLAS
# sums in another order with more threads), and one thread is also much the fastest
# for a model this small on a shared 2-core machine.
#
# Checkpoints: latest.ckpt is not byte-identical between two runs of the same seed,
# by design: its JSON header holds the run id and wall-clock times (state.elapsed_s,
# state.summary.time_s). same_ckpt compares everything else: the weights and AdamW
# moments byte for byte, and the header with exactly those three fields removed.
#
# usage: tests/cli_train.sh [path/to/rlvr]     (default ./rlvr; run from the repository root)

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli-train

RUNS=$TMP/runs
BG=""             # background runs still to reap on exit
CLEANUP='for p in $BG; do kill -KILL $p 2>/dev/null; done'

# The curriculum: "What is a + b?", a tiny policy, 20 SFT steps, at most 10 RL steps.
cp "$(dirname "$0")/curricula/tiny_add.lua" "$TMP/t.lua" || exit 1
# The same with a longer SFT stage, for the signal tests.
sed 's/steps = 20, batch_size = 16/steps = 40, batch_size = 16/' "$TMP/t.lua" >"$TMP/long.lua"
NSFT=20
NRL=10
NSTEPS=$((NSFT + NRL))

# train ARGS...: `rlvr train` with one thread and the test's runs folder.
train() { run "$RLVR" train "$@" --threads 1 --runs-dir "$RUNS"; }

# The metrics without wall-clock fields (time_*, tokens_per_s_*).
strip_timing() { sed -E 's/,"(time_[A-Za-z0-9_]*|tokens_per_s_[A-Za-z0-9_]*)":[^,}]*//g' "$1"; }

# same_run A B WHAT: run B wrote what run A wrote (metrics apart from timings, samples).
same_run() {
    strip_timing "$RUNS/$1/metrics.jsonl" >"$TMP/m1"
    strip_timing "$RUNS/$2/metrics.jsonl" >"$TMP/m2"
    cmp -s "$TMP/m1" "$TMP/m2" ||
        fail "$3: metrics.jsonl of $2 differs from $1 (timings aside): $(diff "$TMP/m1" "$TMP/m2" | head -3 | cut -c 1-300)"
    cmp -s "$RUNS/$1/samples.jsonl" "$RUNS/$2/samples.jsonl" ||
        fail "$3: samples.jsonl of $2 differs from $1: $(diff "$RUNS/$1/samples.jsonl" "$RUNS/$2/samples.jsonl" | head -3 | cut -c 1-300)"
}

# A checkpoint's JSON header (run_id, elapsed_s and time_s removed) and its tensors.
ckpt_hlen() { od -An -tu4 -j12 -N4 "$1" | tr -d ' '; }
ckpt_header() {
    tail -c +17 "$1" | head -c "$(ckpt_hlen "$1")" |
        sed -E 's/"run_id":"[^"]*",?//g; s/"(elapsed_s|time_s)":[^,}]*,?//g'
}
ckpt_tensors() { tail -c +$((17 + $(ckpt_hlen "$1"))) "$1" | head -c -4 | cksum; }
# same_ckpt A B FILE WHAT: checkpoints/FILE of runs A and B hold the same state.
same_ckpt() {
    a=$RUNS/$1/checkpoints/$3
    b=$RUNS/$2/checkpoints/$3
    [ -f "$a" ] && [ -f "$b" ] || fail "$4: $3 missing in $1 or $2"
    [ "$(ckpt_tensors "$a")" = "$(ckpt_tensors "$b")" ] || fail "$4: the weights or moments in $2's $3 differ from $1's"
    ckpt_header "$a" >"$TMP/h1"
    ckpt_header "$b" >"$TMP/h2"
    cmp -s "$TMP/h1" "$TMP/h2" || fail "$4: the header of $2's $3 differs from $1's beyond run_id and wall-clock times"
}

# json_num FILE KEY: the number KEY holds in a (pretty-printed) JSON file.
json_num() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\\([-0-9.eE+]*\\),\\{0,1\\}\$/\\1/p" "$1" | head -n 1; }
expect_status() {
    grep -q "\"status\":[[:space:]]*\"$2\"" "$RUNS/$1/summary.json" ||
        fail "summary.json of $1 does not say status \"$2\": $(grep '"status"' "$RUNS/$1/summary.json")"
}

# wait_lines FILE PATTERN N SECONDS: wait until N lines of FILE match PATTERN.
wait_lines() {
    i=0
    while [ $i -lt $(($4 * 20)) ]; do
        [ -f "$1" ] && [ "$(grep -c -- "$2" "$1")" -ge "$3" ] && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
# reap PID SECONDS: wait for a background run to exit (killing it if it will not); RC.
reap() {
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 20)) ]; do sleep 0.05; i=$((i + 1)); done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        fail "a run did not exit within $2 s of its signal"
    fi
    wait "$1"
    RC=$?
}

# ---------------------------------------------------------------- a run

check "usage: --help exits 0, no arguments exit 2"
run "$RLVR" train --help
expect_rc 0
expect_out 'usage: rlvr train'
run "$RLVR" train
expect_rc 2
expect_one_err_line
run "$RLVR" train "$TMP/t.lua" --seed
expect_rc 2
run "$RLVR" train --resume x --config "$TMP/none.json"
expect_rc 2

check "a run finishes: exit 0, the run files, one metrics line per step"
# Run b (the same seed) and c (another seed) alongside, for the next checks.
"$RLVR" train "$TMP/t.lua" --seed 1 --threads 1 --runs-dir "$RUNS" --run-id b >/dev/null 2>&1 &
PB=$!
BG="$BG $PB"
"$RLVR" train "$TMP/t.lua" --seed 2 --threads 1 --runs-dir "$RUNS" --run-id c >/dev/null 2>&1 &
PC=$!
BG="$BG $PC"
train "$TMP/t.lua" --seed 1 --run-id a
expect_rc 0
expect_err 'finished after'
A=$RUNS/a
for f in config.json curriculum.lua metrics.jsonl samples.jsonl summary.json checkpoints/latest.ckpt \
         checkpoints/stage-1-warm.ckpt checkpoints/stage-2-rl.ckpt checkpoints/reference.ckpt; do
    [ -s "$A/$f" ] || fail "the run has no $f"
done
cmp -s "$TMP/t.lua" "$A/curriculum.lua" || fail "curriculum.lua is not the script as run"
n=$(wc -l <"$A/metrics.jsonl")
[ "$n" -eq "$NSTEPS" ] || fail "metrics.jsonl has $n lines for $NSTEPS steps"
sed -n 's/^{"step":\([0-9]*\),.*/\1/p' "$A/metrics.jsonl" >"$TMP/steps"
seq 1 "$NSTEPS" | cmp -s - "$TMP/steps" || fail "metrics.jsonl's steps are not 1..$NSTEPS, one a line, first key"
[ "$(grep -c '"mode":"sft"' "$A/metrics.jsonl")" -eq "$NSFT" ] || fail "not $NSFT sft lines"
[ "$(grep -c '"mode":"rl"' "$A/metrics.jsonl")" -eq "$NRL" ] || fail "not $NRL rl lines"

check "metrics.jsonl: the documented fields on every line"
for k in step stage mode loss; do
    [ "$(grep -c "\"$k\":" "$A/metrics.jsonl")" -eq "$NSTEPS" ] || fail "a metrics line lacks \"$k\""
done
grep '"mode":"rl"' "$A/metrics.jsonl" >"$TMP/rl"
for k in reward reward_std rewards/arith pass_rate frac_zero_std completion_length truncated_frac clip_frac_low \
         clip_frac_high kl learning_rate tokens_per_s_sample time_sample_s time_verify_s time_update_s; do
    [ "$(grep -c "\"$k\":[-0-9]" "$TMP/rl")" -eq "$NRL" ] || fail "an rl metrics line lacks a number for \"$k\""
done
# A step whose groups all had equal rewards (dynamic sampling drops them) makes no
# update: its loss, entropy and gradient norm are null.
for k in loss entropy grad_norm; do
    [ "$(grep -c "\"$k\":\([-0-9]\|null\)" "$TMP/rl")" -eq "$NRL" ] || fail "an rl metrics line lacks \"$k\""
    grep -q "\"$k\":[-0-9]" "$TMP/rl" || fail "no rl step has a number for \"$k\""
done
grep -q '"eval_pass_at_1":' "$A/metrics.jsonl" || fail "no evaluation in metrics.jsonl (eval_every 10)"
grep -q '"kl":[-0-9.]*[1-9]' "$TMP/rl" || fail "kl is 0 on every rl line, with kl_beta 0.02"
[ "$(wc -l <"$A/samples.jsonl")" -gt 0 ] || fail "samples.jsonl is empty"
grep -v -c '^{"step":[0-9]*,"stage":"rl",.*"completion":.*"reward":' "$A/samples.jsonl" | grep -q '^0$' ||
    fail "a samples.jsonl line lacks step, stage, completion or reward"

check "summary.json: finished, pass@1 after SFT and after RL in [0, 1]"
expect_status a finished
for k in sft_pass_at_1 rl_pass_at_1; do
    v=$(json_num "$A/summary.json" "$k")
    [ -n "$v" ] || fail "summary.json has no number $k"
    awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 1) }' || fail "summary.json: $k is $v, not in [0, 1]"
done
[ "$(json_num "$A/summary.json" steps)" = "$NSTEPS" ] || fail "summary.json: steps is not $NSTEPS"

check "bench learn: the control continues SFT from the run's SFT checkpoint and reports both pass@1"
run "$RLVR" bench learn --run a --runs-dir "$RUNS" --seconds 1 --threads 1
expect_rc 0
expect_out '"control_pass_at_1":'
expect_out '"rl_pass_at_1":'
expect_err 'stage-1-'

check "reproducible: the same seed writes the same metrics (timings aside), samples and checkpoint"
reap "$PB" 60
[ "$RC" -eq 0 ] || fail "the second run of seed 1 exited $RC"
same_run a b "seed 1 twice"
same_ckpt a b latest.ckpt "seed 1 twice"
same_ckpt a b stage-1-warm.ckpt "seed 1 twice"
cmp -s "$A/checkpoints/reference.ckpt" "$RUNS/b/checkpoints/reference.ckpt" || fail "seed 1 twice: reference.ckpt differs"

check "another seed gives other metrics"
reap "$PC" 60
[ "$RC" -eq 0 ] || fail "the run of seed 2 exited $RC"
strip_timing "$A/metrics.jsonl" >"$TMP/m1"
strip_timing "$RUNS/c/metrics.jsonl" >"$TMP/m2"
cmp -s "$TMP/m1" "$TMP/m2" && fail "seeds 1 and 2 wrote the same metrics"

# ---------------------------------------------------------------- stop and resume

for at in 7 $NSFT 24; do
    check "--max-steps $at then --resume: the same run as one never stopped"
    train "$TMP/t.lua" --seed 1 --run-id stop$at --max-steps $at
    expect_rc 0
    expect_status stop$at stopped
    [ "$(wc -l <"$RUNS/stop$at/metrics.jsonl")" -eq "$at" ] || fail "a run stopped at step $at wrote $(wc -l <"$RUNS/stop$at/metrics.jsonl") metrics lines"
    train --resume stop$at
    expect_rc 0
    expect_err "resuming"
    expect_err "from step $at"
    expect_status stop$at finished
    same_run a stop$at "stopped at $at and resumed"
    same_ckpt a stop$at latest.ckpt "stopped at $at and resumed"
    same_ckpt a stop$at stage-2-rl.ckpt "stopped at $at and resumed"
done

check "--resume of a finished run changes no results"
cp "$A/metrics.jsonl" "$TMP/a.metrics"
train --resume "$A"
expect_rc 0
cmp -s "$TMP/a.metrics" "$A/metrics.jsonl" || fail "resuming a finished run changed metrics.jsonl"
expect_status a finished

# ---------------------------------------------------------------- signals

# The uninterrupted run of long.lua, alongside the interrupted ones.
"$RLVR" train "$TMP/long.lua" --seed 3 --threads 1 --runs-dir "$RUNS" --run-id long >/dev/null 2>&1 &
PL=$!
BG="$BG $PL"

# signal_test SIG RC ID PATTERN N: stop a run of long.lua with SIG once N metrics lines
# match PATTERN, expect exit RC and status interrupted, then resume it.
signal_test() {
    "$RLVR" train "$TMP/long.lua" --seed 3 --threads 1 --runs-dir "$RUNS" --run-id "$3" >"$OUT" 2>"$ERR" &
    p=$!
    BG="$BG $p"
    wait_lines "$RUNS/$3/metrics.jsonl" "$4" "$5" 60 || { kill -KILL $p; fail "the run made no progress in 60 s"; }
    kill -"$1" $p
    reap $p 30
    expect_rc "$2"
    expect_err "interrupted at step"
    expect_status "$3" interrupted
    n=$(wc -l <"$RUNS/$3/metrics.jsonl")
    [ "$n" -lt $((40 + NRL)) ] || fail "the run finished before $1 reached it ($n steps): nothing was tested"
    train --resume "$3"
    expect_rc 0
    expect_status "$3" finished
}

check "SIGTERM (in the SFT stage): exit 143, status interrupted; --resume finishes the same run"
signal_test TERM 143 sigterm '"step"' 5
check "SIGINT (in the RL stage): exit 130, status interrupted; --resume finishes the same run"
signal_test INT 130 sigint '"mode":"rl"' 2

# checkpoint_every changes when checkpoints are written, not what the run computes.
check "SIGKILL (in the RL stage, checkpoint every 3 steps): --resume finishes the same run"
echo '{"checkpoint_every": 3}' >"$TMP/ce.json"
"$RLVR" train "$TMP/long.lua" --seed 3 --threads 1 --runs-dir "$RUNS" --run-id killed --config "$TMP/ce.json" >/dev/null 2>&1 &
p=$!
BG="$BG $p"
wait_lines "$RUNS/killed/metrics.jsonl" '"mode":"rl"' 5 60 || { kill -KILL $p; fail "the run made no progress in 60 s"; }
kill -KILL $p
wait $p 2>/dev/null
if command -v git >/dev/null 2>&1; then
    check "SIGKILL: the run's record keeps its last snapshot, which still says running (so: interrupted)"
    git --git-dir="$RUNS/records.git" show runs/killed:summary.json >"$TMP/killed.summary" 2>/dev/null ||
        fail "the killed run has no record in $RUNS/records.git"
    grep -q '"status":[[:space:]]*"running"' "$TMP/killed.summary" || fail "the killed run's last record does not say running"
fi
train --resume killed
expect_rc 0
expect_status killed finished

reap "$PL" 60
[ "$RC" -eq 0 ] || fail "the uninterrupted run of long.lua exited $RC"
if command -v git >/dev/null 2>&1; then
    check "records: runs written at the same time each have every snapshot, in a linear history"
    for r in b c long sigterm sigint killed; do
        git --git-dir="$RUNS/records.git" rev-parse --verify -q "runs/$r" >/dev/null || fail "no record branch for run $r"
        git --git-dir="$RUNS/records.git" show "runs/$r:summary.json" | grep -q '"status":[[:space:]]*"finished"' ||
            fail "the last record of run $r does not say finished"
        [ "$(git --git-dir="$RUNS/records.git" rev-list --merges "runs/$r" | wc -l)" -eq 0 ] || fail "run $r's history is not linear"
    done
    nb=$(git --git-dir="$RUNS/records.git" rev-list --count runs/b)
    nc=$(git --git-dir="$RUNS/records.git" rev-list --count runs/c)
    [ "$nb" -eq "$nc" ] || fail "runs b and c (same length, written at once) have $nb and $nc snapshots"
    git --git-dir="$RUNS/records.git" fsck --strict >/dev/null 2>&1 || fail "git fsck finds the records repository damaged"
fi
check "SIGTERM, SIGINT, SIGKILL: the resumed runs match the run never interrupted"
for r in sigterm sigint killed; do
    same_run long $r "interrupted and resumed ($r)"
    same_ckpt long $r latest.ckpt "interrupted and resumed ($r)"
done

# ---------------------------------------------------------------- bad input

check "a broken curriculum: non-zero exit, one line naming file:line, no run directory"
printf 'local rlvr = require("rlvr")\nreturn rlvr.curriculum{\n  name = "broken",\n  stages = { { mode = "sft" steps = 3 } },\n}\n' >"$TMP/broken.lua"
run "$RLVR" train "$TMP/broken.lua" --runs-dir "$TMP/runs-broken"
[ "$RC" -ne 0 ] || fail "a curriculum with a syntax error was accepted"
expect_one_err_line
expect_err "broken.lua:4:"
[ -e "$TMP/runs-broken" ] && [ -n "$(ls "$TMP/runs-broken")" ] && fail "a broken curriculum left a run directory"

check "--resume of a run that does not exist: a clear error"
train --resume nosuch
expect_rc 1
expect_one_err_line
expect_err "no run 'nosuch'"

check "a corrupted latest.ckpt: --resume fails naming it, and changes none of the run's files"
cp -r "$RUNS/stop7" "$RUNS/corrupt"
ck=$RUNS/corrupt/checkpoints/latest.ckpt
size=$(wc -c <"$ck")
printf '\377\000\377\000' | dd of="$ck" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
(cd "$RUNS/corrupt" && find . -type f | sort | xargs cksum) >"$TMP/before"
train --resume corrupt
expect_rc 1
expect_one_err_line
expect_err "corrupt/checkpoints/latest.ckpt"
expect_err "checksum"
(cd "$RUNS/corrupt" && find . -type f | sort | xargs cksum) >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" || fail "a failed resume changed the run's files: $(diff "$TMP/before" "$TMP/after" | head -4)"

check "a damaged records.git: train refuses with one line naming it, creates no run, changes nothing"
mkdir -p "$TMP/runs-bad"
cp -r "$RUNS/records.git" "$TMP/runs-bad/records.git"
: >"$TMP/runs-bad/records.git/HEAD"
(cd "$TMP/runs-bad" && find . -type f | sort | xargs cksum) >"$TMP/before"
run "$RLVR" train "$TMP/t.lua" --seed 1 --threads 1 --runs-dir "$TMP/runs-bad" --run-id x
expect_rc 1
expect_one_err_line
expect_err "records.git"
[ -e "$TMP/runs-bad/x" ] && fail "a run directory was created next to a damaged records.git"
(cd "$TMP/runs-bad" && find . -type f | sort | xargs cksum) >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" || fail "the damaged records.git was changed"

check "records.git that is not a repository (a plain folder with files): refused, left alone"
mkdir -p "$TMP/runs-plain/records.git" && echo keep >"$TMP/runs-plain/records.git/notes.txt"
run "$RLVR" train "$TMP/t.lua" --seed 1 --threads 1 --runs-dir "$TMP/runs-plain" --run-id x
expect_rc 1
expect_err "records.git"
[ "$(cat "$TMP/runs-plain/records.git/notes.txt")" = keep ] || fail "the folder's file was changed"
[ "$(ls "$TMP/runs-plain/records.git")" = notes.txt ] || fail "files were added to a folder that is not a repository"

check "an existing --run-id is refused and the run left as it was"
(cd "$A" && find . -type f | sort | xargs cksum) >"$TMP/before"
train "$TMP/t.lua" --seed 1 --run-id a --max-steps 1
expect_rc 1
expect_one_err_line
expect_err "exists"
(cd "$A" && find . -type f | sort | xargs cksum) >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" || fail "starting a run with an existing id changed that run's files"

# ---------------------------------------------------------------- --config

check "non-finite losses: updates skipped and logged, 5 in a row stop the run (exit 1, status failed)"
printf '{"lr": 1e30, "grad_clip": 0}\n' >"$TMP/nan.json"
train "$TMP/t.lua" --seed 1 --run-id nan --config "$TMP/nan.json"
expect_rc 1
expect_err 'non-finite'
[ "$(grep -c '"skipped_nonfinite":true' "$RUNS/nan/metrics.jsonl")" -eq 5 ] || fail "expected 5 skipped steps in metrics.jsonl"
expect_status nan failed
[ -s "$RUNS/nan/checkpoints/latest.ckpt" ] || fail "no checkpoint saved when the run stopped"

check "tasks longer than the context are skipped and counted, not fatal"
long=$(seq -s ' ' 1 150)
{ for i in 1 2 3; do printf '{"question":"%s %d?","answer":"#### %d"}\n' "$long" "$i" "$i"; done
  for i in 4 5; do printf '{"question":"What is %d?","answer":"#### %d"}\n' "$i" "$i"; done; } >"$TMP/mixed.jsonl"
cat >"$TMP/mixed.lua" <<LUA
local rlvr = require("rlvr")
local function add()
  local a, b = math.random(1, 9), math.random(1, 9)
  return { prompt = ("What is %d + %d?"):format(a, b), reference = ("#### %d"):format(a + b) }
end
return rlvr.curriculum{ name = "mixed",
  defaults = { preset = "tiny", vocab = 300, context = 64, max_new_tokens = 16, eval_every = 0 },
  stages = { { name = "s", mode = "sft", steps = 3, batch_size = 4, sources = { { jsonl = "$TMP/mixed.jsonl" } } },
             { name = "r", mode = "rl", verifier = "arith", prompts = 2, group_size = 2, steps = 2,
               sources = { { jsonl = "$TMP/mixed.jsonl" } } } },
  eval = { n = 4, seed = 3, sources = { add }, verifier = "arith" } }
LUA
train "$TMP/mixed.lua" --seed 1 --run-id mixed
expect_rc 0
expect_err 'skipped'
grep -q '"tasks_too_long":' "$RUNS/mixed/metrics.jsonl" || fail "metrics.jsonl does not count the tasks that did not fit"

check "--config overrides a setting and config.json records it"
echo '{"lr": 0.0005}' >"$TMP/lr.json"
train "$TMP/t.lua" --seed 1 --run-id cfg --config "$TMP/lr.json" --max-steps 1
expect_rc 0
grep -q '"cli_config":[[:space:]]*{' "$RUNS/cfg/config.json" || fail "config.json has no cli_config object"
[ "$(grep -c '"lr":[[:space:]]*0.0005,\{0,1\}$' "$RUNS/cfg/config.json")" -eq 3 ] ||
    fail "config.json does not record lr 0.0005 (in cli_config and both stages' settings)"
grep -q '"learning_rate":0.0005' "$RUNS/cfg/metrics.jsonl" || fail "the step did not train at lr 0.0005"

check "--config with an unknown setting is refused, naming it, before a run directory exists"
echo '{"lr": 0.0005, "learnign_rate": 1}' >"$TMP/typo.json"
train "$TMP/t.lua" --run-id cfgtypo --config "$TMP/typo.json"
[ "$RC" -ne 0 ] || fail "an unknown --config setting was accepted"
expect_one_err_line
expect_err "learnign_rate"
[ -e "$RUNS/cfgtypo" ] && fail "a refused --config left a run directory"

echo "cli_train: all checks passed"

#!/bin/sh
# cli_eval.sh: `rlvr eval` as a user meets it, on a checkpoint trained here in seconds:
# the table and the JSON line (keys, rates in [0, 1]), -k (pass@k >= sampled pass@1, the
# same numbers again with the same --seed), --limit, a curriculum's eval set as --tasks,
# a malformed JSONL line (file:line), a missing checkpoint, bad options, and GSM8K's test
# set with its long prompts skipped and counted.
#
# usage: tests/cli_eval.sh [path/to/rlvr]     (default ./rlvr; run from the repository root)

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli-eval

# json_num KEY: the value of KEY in the JSON line on stdout (numbers, true/false, null).
json_num() { sed -n 's/.*"'"$1"'":\([^,}]*\).*/\1/p' "$OUT" | head -n 1; }
# expect_rate KEY: KEY is a number in [0, 1].
expect_rate() {
    v=$(json_num "$1")
    [ -n "$v" ] || fail "no \"$1\" in the JSON line"
    awk -v v="$v" 'BEGIN { exit !(v ~ /^[0-9.eE+-]+$/ && v + 0 >= 0 && v + 0 <= 1) }' || fail "\"$1\" is $v, not in [0, 1]"
}
# Everything the JSON line says except the timing.
numbers() { sed 's/,"seconds":[^,}]*//' "$OUT"; }

# ---------------------------------------------------------------- a tiny checkpoint

i=0
while [ $i -lt 120 ]; do
    a=$((i % 37 + 2)); b=$((i * 7 % 41 + 3)); c=$((a + b))
    printf '{"question":"What is %d plus %d?","answer":"%d+%d=<<%d+%d=%d>>%d\\n#### %d"}\n' $a $b $a $b $a $b $c $c $c
    i=$((i + 1))
done >"$TMP/train.jsonl"
i=0
while [ $i -lt 12 ]; do
    a=$((i * 5 % 23 + 2)); b=$((i * 3 % 19 + 4))
    printf '{"question":"What is %d plus %d?","answer":"%d"}\n' $a $b $((a + b))
    i=$((i + 1))
done >"$TMP/tasks.jsonl"

check "a tiny checkpoint to evaluate (sft, 20 steps, context 256)"
run "$RLVR" sft --data "$TMP/train.jsonl" --out "$TMP/sft" --steps 20 --preset tiny --context 256 --batch 4
expect_rc 0
CKPT=$TMP/sft/final.ckpt
[ -f "$CKPT" ] || fail "sft wrote no $CKPT"

# ---------------------------------------------------------------- the reports

check "eval: the table, greedy pass@1 on every task"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 48 --threads 1
expect_rc 0
expect_out 'pass@1 greedy'
expect_out 'evaluated  *12 of 12'
expect_out 'calculator  *on'
expect_out 'mean length'
grep -q 'pass@1 sampled' "$OUT" && fail "the table shows sampled rates without -k"

check "eval --json: one line with the keys, rates in [0, 1], null sampled rates without -k"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 48 --threads 1 --json
expect_rc 0
expect_lines 1
for key in n k pass_at_1_greedy pass_at_1_sampled pass_at_k maj_at_k mean_length calculator ckpt tasks skipped; do
    grep -q "\"$key\":" "$OUT" || fail "the JSON line lacks \"$key\""
done
expect_rate pass_at_1_greedy
[ "$(json_num n)" = 12 ] || fail "n is $(json_num n), expected 12"
[ "$(json_num skipped)" = 0 ] || fail "skipped is $(json_num skipped), expected 0"
[ "$(json_num pass_at_k)" = null ] || fail "pass_at_k without -k is $(json_num pass_at_k), expected null"
[ "$(json_num calculator)" = true ] || fail "calculator is $(json_num calculator), expected true"

check "eval -k 4: pass@k >= sampled pass@1, all in [0, 1], the same numbers with the same --seed"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 48 --threads 1 -k 4 --seed 5 --json --no-calculator
expect_rc 0
for key in pass_at_1_greedy pass_at_1_sampled pass_at_k maj_at_k; do expect_rate $key; done
[ "$(json_num k)" = 4 ] || fail "k is $(json_num k), expected 4"
[ "$(json_num calculator)" = false ] || fail "--no-calculator reports calculator $(json_num calculator)"
awk -v p1="$(json_num pass_at_1_sampled)" -v pk="$(json_num pass_at_k)" 'BEGIN { exit !(pk + 1e-12 >= p1) }' ||
    fail "pass_at_k $(json_num pass_at_k) < pass_at_1_sampled $(json_num pass_at_1_sampled)"
numbers >"$TMP/k4a"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 48 --threads 1 -k 4 --seed 5 --json --no-calculator
expect_rc 0
numbers >"$TMP/k4b"
cmp -s "$TMP/k4a" "$TMP/k4b" || fail "the same --seed gave different results: $(cat "$TMP/k4a") vs $(cat "$TMP/k4b")"

check "eval -k 2 (table) and --limit 5"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 32 --threads 1 -k 2 --limit 5
expect_rc 0
expect_out 'evaluated  *5 of 5'
expect_out 'pass@1 sampled'
expect_out 'pass@2 '
expect_out 'maj@2 '

check "eval --tasks CURRICULUM.lua: its held-out set, with the tasks' own verifier"
cat >"$TMP/cur.lua" <<'LUA'
local rlvr = require("rlvr")
local function sums()
    local a, b = math.random(2, 9), math.random(2, 9)
    return { prompt = ("What is %d plus %d?"):format(a, b), reference = ("#### %d"):format(a + b) }
end
return rlvr.curriculum{
    name = "evalcheck",
    stages = { { name = "warm", mode = "sft", steps = 5, sources = { sums } } },
    eval = { n = 7, seed = 3, verifier = "arith", sources = { sums } },
}
LUA
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/cur.lua" --max-new-tokens 32 --threads 1 --json
expect_rc 0
[ "$(json_num n)" = 7 ] || fail "n is $(json_num n), expected the eval set's 7"
expect_rate pass_at_1_greedy

# ---------------------------------------------------------------- errors

check "eval: a malformed JSONL line is one line naming file:line (exit 1)"
{ head -n 2 "$TMP/tasks.jsonl"; echo; echo '{"question": "What is 2 plus 2?", }'; } >"$TMP/bad.jsonl"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/bad.jsonl" --max-new-tokens 32
expect_rc 1
expect_one_err_line
expect_err 'bad.jsonl:4: '
[ -s "$OUT" ] && fail "a failed evaluation printed to stdout"

check "eval: a task without a prompt names file:line"
{ head -n 1 "$TMP/tasks.jsonl"; echo '{"answer": "4"}'; } >"$TMP/noprompt.jsonl"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/noprompt.jsonl" --max-new-tokens 32
expect_rc 1
expect_one_err_line
expect_err 'noprompt.jsonl:2: '

check "eval: a missing checkpoint is one line naming it (exit 1)"
run "$RLVR" eval --ckpt "$TMP/none.ckpt" --tasks "$TMP/tasks.jsonl"
expect_rc 1
expect_one_err_line
expect_err 'none.ckpt'

check "eval: a missing tasks file, an unknown verifier"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/none.jsonl" --max-new-tokens 32
expect_rc 1
expect_one_err_line
expect_err 'none.jsonl'
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 32 --verifier nosuch
expect_rc 2
expect_one_err_line
expect_err 'nosuch'

check "eval: --max-new-tokens that leaves no room in the context (256) is a usage error"
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --max-new-tokens 256
expect_rc 2
expect_one_err_line
expect_err 'context of 256'

check "eval: --help, bad and missing options"
run "$RLVR" eval --help
expect_rc 0
expect_out 'usage: rlvr eval'
expect_out 'skipped'
run "$RLVR" eval --ckpt "$CKPT"
expect_rc 2
expect_one_err_line
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" -k 0
expect_rc 2
expect_one_err_line
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --temperature 0
expect_rc 2
run "$RLVR" eval --ckpt "$CKPT" --tasks "$TMP/tasks.jsonl" --frobnicate
expect_rc 2
expect_one_err_line
expect_err 'frobnicate'

# ---------------------------------------------------------------- GSM8K's test set

if [ "$HAVE_GSM8K" = 1 ]; then
    check "eval on GSM8K test --limit 20: long prompts are skipped and counted, n + skipped = 20"
    run "$RLVR" eval --ckpt "$CKPT" --tasks "$DATA/test.jsonl" --limit 20 --max-new-tokens 128 --threads 1 --json
    expect_rc 0
    n=$(json_num n); sk=$(json_num skipped)
    [ $((n + sk)) -eq 20 ] || fail "n $n + skipped $sk is not 20"
    [ "$sk" -gt 0 ] || fail "no GSM8K prompt was skipped at a context of 256 with 128 new tokens"
    expect_err "skipping $sk of 20 tasks"
    expect_rate pass_at_1_greedy
    check "eval on GSM8K test: when no prompt fits, an error that says so"
    run "$RLVR" eval --ckpt "$CKPT" --tasks "$DATA/test.jsonl" --limit 3 --max-new-tokens 250
    expect_rc 1
    expect_err 'no task fits'
else
    skip "GSM8K (../shared/data/gsm8k/test.jsonl) is not here"
fi

echo "cli_eval.sh: all checks passed"

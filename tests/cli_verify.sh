#!/bin/sh
# cli_verify.sh: rlvr verify as a user meets it: help, usage errors and exit codes,
# one verdict line per input line in input order (bad input included), --jobs giving
# the same bytes as one thread, and a very long line.
#
# usage: tests/cli_verify.sh [path/to/rlvr]     (default ./rlvr)
# Prints each check; exits 1 at the first failure with what was expected and seen.
# The GSM8K check reads $RLVR_GSM8K (else ../shared/data/gsm8k; see cli_lib.sh) and is
# skipped without it.

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup verify

# run_in FILE CMD...: the same with FILE on stdin.

expect_no_out() { [ -s "$OUT" ] && fail "a usage error printed to stdout"; return 0; }

# ---------------------------------------------------------------- help and usage errors

check "rlvr verify --help exits 0 and prints usage"
run "$RLVR" verify --help; expect_rc 0; expect_out "usage: rlvr verify"; expect_out "bad_input"

check "rlvr help lists verify"
run "$RLVR" help; expect_rc 0; expect_out "verify"

check "an unknown verifier exits 2 naming it and the registered ones"
run "$RLVR" verify --verifier no_such_verifier </dev/null
expect_rc 2; expect_err "no_such_verifier"; expect_err "arith"; expect_one_err_line; expect_no_out

check "a missing Lua verifier file exits 2 naming it (Lua verifiers: tests/cli_lua.sh)"
run "$RLVR" verify --verifier lua/verifiers/mine.lua </dev/null
expect_rc 2; expect_err "mine.lua"; expect_err "cannot open"; expect_one_err_line; expect_no_out

check "no --verifier exits 2"
run "$RLVR" verify </dev/null; expect_rc 2; expect_err "verifier"; expect_one_err_line; expect_no_out

check "--verifier without a value exits 2"
run "$RLVR" verify --verifier </dev/null; expect_rc 2; expect_one_err_line; expect_no_out

for bad in 0 -1 two 1.5 ""; do
    check "--jobs '$bad' exits 2"
    run "$RLVR" verify --verifier arith --jobs "$bad" </dev/null; expect_rc 2; expect_err "jobs"; expect_one_err_line
done

check "a stray argument exits 2 naming it"
run "$RLVR" verify --verifier arith input.jsonl </dev/null; expect_rc 2; expect_err "input.jsonl"; expect_one_err_line

check "empty input: no output, exit 0"
run "$RLVR" verify --verifier arith </dev/null; expect_rc 0; expect_lines 0

# ---------------------------------------------------------------- one verdict per line

IN=$TMP/mixed.jsonl
# printf, not echo: echo may turn the \n inside the JSON strings into newlines.
line() { printf '%s\n' "$1"; }
{
    line '{"id":"g1","question":"What is 3 + 4?","answer":"3 + 4 = <<3+4=7>>7\n#### 7","completion":"3 + 4 = <<3+4=7>>7\n#### 7"}'
    line 'this is not json'
    line '{"id":"g3","question":"What is 3 + 4?","answer":"#### 7"}'
    line '{"question":"What is 2 * 5?","answer":"#### 10","completion":"#### 11","source":"test"}'
    line ''
    line '{"question":"q","answer":"#### 1","completion":"#### 1"} {"extra":1}'
    line '["an","array"]'
    line '{"answer":"#### 1","completion":"#### 1"}'
    line '{"question":"q","answer":"#### 1","completion":1}'
    line '{"question":"q","answer":12,"completion":"#### 12"}'
    line '{"prompt":"What is 6 / 3?","reference":"#### 2","completion":"so the answer is #### 2"}'
    printf '%s' '{"question":"no newline at the end","answer":"#### 9","completion":"#### 9"}'
} >"$IN"

check "mixed input: one output line per input line, in order, exit 0"
run_in "$IN" "$RLVR" verify --verifier arith
expect_rc 0
expect_lines 12
i=1
while [ $i -le 12 ]; do
    expect_line $i "^{\"line\":$i,"
    i=$((i + 1))
done

check "good lines are scored (correct, wrong) with their ids"
expect_line 1 '"id":"g1","reward":1,"status":"correct"'
expect_line 4 '"reward":0,"status":"wrong"'
expect_line 11 '"reward":1,"status":"correct"'
expect_line 12 '"reward":1,"status":"correct"'

check "the last line without a newline is still scored"
expect_line 12 '"line":12,'

check "malformed lines are bad_input with reward 0 and the line number in detail"
for n in 2 3 5 6 7 8 9 10; do
    expect_line $n "\"reward\":0,\"status\":\"bad_input\",\"detail\":{\"line\":$n,\"error\":\""
done
expect_line 3 '"id":"g3"'
expect_line 3 'completion'
expect_line 5 'blank line'
expect_line 8 'prompt'
expect_line 9 'completion'
expect_line 10 'reference'

check "the summary on stderr counts lines and statuses"
expect_err "12 lines"; expect_err "bad_input 8"; expect_err "correct 3"; expect_err "wrong 1"; expect_err "mean reward"

check "--jobs 3 gives the same bytes on the mixed input"
cp "$OUT" "$TMP/mixed.1"
run_in "$IN" "$RLVR" verify --verifier arith --jobs 3
expect_rc 0
cmp -s "$OUT" "$TMP/mixed.1" || fail "--jobs 3 output differs from --jobs 1"

check "a write failure exits 1"
if [ -w /dev/full ]; then
    "$RLVR" verify --verifier arith <"$IN" >/dev/full 2>"$ERR"; RC=$?
    expect_rc 1; expect_err "writing"
else
    skip "no /dev/full"
fi

# ---------------------------------------------------------------- GSM8K: --jobs 2 == --jobs 1

GSM=$DATA
if [ "$HAVE_GSM8K" -eq 1 ]; then
    # 2,000 lines: the test set (1,319) and its first 681 lines again, each line's own
    # answer as the completion (the gold is always right) and a numeric id.
    BIG=$TMP/gsm.jsonl
    cat "$GSM/test.jsonl" "$GSM/test.jsonl" | head -n 2000 |
        awk '{ sub(/}[ \t\r]*$/, ""); a = $0; sub(/.*"answer": *"/, "", a); printf "%s, \"id\": \"%d\", \"completion\": \"%s}\n", $0, NR, a }' >"$BIG"
    [ "$(wc -l <"$BIG")" -eq 2000 ] || fail "building the GSM8K input: $(wc -l <"$BIG") lines"

    check "2,000 GSM8K golds: every line correct with reward 1, ids in order"
    run_in "$BIG" "$RLVR" verify --verifier arith --jobs 1
    expect_rc 0
    expect_lines 2000
    good=$(grep -c '"reward":1,"status":"correct"' "$OUT")
    [ "$good" -eq 2000 ] || fail "$good of 2000 golds scored correct"
    awk -F'[:,]' '{ if ($2 != NR || $4 != "\"" NR "\"") { print "line " NR ": " $0; exit 1 } }' "$OUT" >/dev/null ||
        fail "line or id numbers out of order"
    cp "$OUT" "$TMP/gsm.1"
    sed -n 's/.*rlvr verify: \(.*\)/  jobs 1: \1/p' "$ERR"

    check "--jobs 2 output is byte-identical to --jobs 1"
    run_in "$BIG" "$RLVR" verify --verifier arith --jobs 2
    expect_rc 0
    cmp -s "$OUT" "$TMP/gsm.1" || fail "--jobs 2 output differs from --jobs 1"
    sed -n 's/.*rlvr verify: \(.*\)/  jobs 2: \1/p' "$ERR"
else
    skip "GSM8K test.jsonl not found (set RLVR_GSM8K): --jobs 2 vs --jobs 1"
fi

# ---------------------------------------------------------------- a very long line

check "a 10 MB completion line is processed"
LONG=$TMP/long.jsonl
{
    line '{"id":"short","question":"q","answer":"#### 5","completion":"#### 5"}'
    printf '{"id":"long","question":"q","answer":"#### 5","completion":"'
    head -c 10485760 /dev/zero | tr '\0' 'a'
    printf ' #### 5"}\n'
    line '{"id":"after","question":"q","answer":"#### 5","completion":"#### 6"}'
} >"$LONG"
run_in "$LONG" "$RLVR" verify --verifier arith --jobs 2
expect_rc 0
expect_lines 3
expect_line 1 '"line":1,"id":"short","reward":1,"status":"correct"'
expect_line 2 '"line":2,"id":"long","reward":1,"status":"correct"'
expect_line 3 '"line":3,"id":"after","reward":0,"status":"wrong"'

check "a 10 MB line that is not JSON is bad_input, and the run goes on"
{
    head -c 10485760 /dev/zero | tr '\0' '{'
    echo
    line '{"id":"after","question":"q","answer":"#### 5","completion":"#### 5"}'
} >"$LONG"
run_in "$LONG" "$RLVR" verify --verifier arith
expect_rc 0
expect_lines 2
expect_line 1 '"line":1,"reward":0,"status":"bad_input"'
expect_line 2 '"line":2,"id":"after","reward":1,"status":"correct"'

echo "cli_verify.sh: all checks passed"

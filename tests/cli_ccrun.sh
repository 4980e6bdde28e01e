#!/bin/sh
# cli_ccrun.sh: rlvr verify --verifier ccrun as a user runs it: program tasks (stdin ->
# stdout) and function tasks (signature + calls), right and wrong, a compile error and a
# task without tests give the right statuses and rewards, one line each, in input order,
# and --jobs 2 gives the same bytes.
#
# usage: tests/cli_ccrun.sh [path/to/rlvr]     (default ./rlvr)
# Prints each check; exits 1 at the first failure with what was expected and seen.

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup ccrun
IN=$TMP/in.jsonl

cat >"$IN" <<'JSONL'
{"id":"sum-ok","prompt":"Add two numbers.","tests":[{"stdin":"1 2\n","stdout":"3\n"},{"stdin":"40 2","stdout":"42"}],"completion":"Read both and add:\n```c\n#include <stdio.h>\nint main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); printf(\"%ld\\n\", a + b); return 0; }\n```\n"}
{"id":"sum-wrong","prompt":"Add two numbers.","tests":[{"stdin":"1 2\n","stdout":"3\n"},{"stdin":"40 2","stdout":"42"}],"completion":"#include <stdio.h>\nint main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); printf(\"%ld\\n\", a * b); return 0; }\n"}
{"id":"cube-ok","prompt":"Write int f(int x) returning x cubed.","signature":"int f(int x)","tests":[{"call":"f(2)","expect":"8"},{"call":"f(-1)","expect":"-1"}],"completion":"```c\nint f(int x) { return x * x * x; }\n```"}
{"id":"cube-half","prompt":"Write int f(int x) returning x cubed.","signature":"int f(int x)","tests":[{"call":"f(2)","expect":"8"},{"call":"f(-1)","expect":"-1"}],"completion":"int f(int x) { return x * x * (x < 0 ? -x : x); }"}
{"id":"syntax","prompt":"Add two numbers.","tests":[{"stdin":"1 2","stdout":"3"}],"completion":"int main(void) { return 0 }"}
{"id":"no-tests","prompt":"Add two numbers.","completion":"int main(void) { return 0; }"}
JSONL

check "rlvr verify --verifier ccrun: one verdict per line, in order"
run_in "$IN" "$RLVR" verify --verifier ccrun
expect_rc 0
expect_lines 6
expect_line 1 '"id":"sum-ok","reward":1,"status":"correct"'
expect_line 2 '"id":"sum-wrong","reward":0,"status":"wrong"'
expect_line 3 '"id":"cube-ok","reward":1,"status":"correct"'
expect_line 4 '"id":"cube-half","reward":0.5,"status":"wrong"'
expect_line 5 '"id":"syntax","reward":0,"status":"compile_error"'
expect_line 6 '"id":"no-tests","reward":0,"status":"verifier_error"'

check "the detail names the tests passed, the compiler and the failed test"
expect_line 1 '"tests_passed":2,"tests_total":2'
expect_line 1 '"compiler":"/'
expect_line 4 '"tests_passed":1'
expect_line 4 '"failed":\[{"test":1,'
expect_line 5 '"stderr":"[^"]'
expect_line 6 '"reason":"the task has no \\"tests\\""'
grep -q "6 lines with ccrun" "$ERR" || fail "stderr lacks the summary"

check "--jobs 2 gives the same verdicts"
sed 's/"compile_ms":[0-9.e+-]*//; s/"run_ms":[0-9.e+-]*//' "$OUT" >"$TMP/one"
run_in "$IN" "$RLVR" verify --verifier ccrun --jobs 2
expect_rc 0
sed 's/"compile_ms":[0-9.e+-]*//; s/"run_ms":[0-9.e+-]*//' "$OUT" >"$TMP/two"
cmp -s "$TMP/one" "$TMP/two" || fail "--jobs 2 differs from --jobs 1 (timings aside)"

for cc in gcc tcc; do
    [ -x "/usr/bin/$cc" ] || { echo "skip: $cc is not installed"; continue; }
    check "RLVR_CC=$cc selects $cc"
    head -n 2 "$IN" >"$TMP/two_lines"
    RLVR_CC=$cc "$RLVR" verify --verifier ccrun <"$TMP/two_lines" >"$OUT" 2>"$ERR"; RC=$?
    expect_rc 0
    expect_line 1 "\"compiler\":\"/usr/bin/$cc\""
    expect_line 1 '"status":"correct"'
    expect_line 2 '"status":"wrong"'
done

echo "cli_ccrun.sh: all checks passed"

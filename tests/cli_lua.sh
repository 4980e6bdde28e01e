#!/bin/sh
# cli_lua.sh: Lua verifiers from the command line: `rlvr verify --verifier FILE.lua`
# with the countdown example gives the expected statuses in input order (and the same
# bytes with --jobs 4), and a broken script is a usage error (exit 2) with one line on
# stderr naming file:line.
#
# usage: tests/cli_lua.sh [path/to/rlvr]     (default ./rlvr; run from the repository root)

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli-lua

cat >"$TMP/in.jsonl" <<'JSONL'
{"id":"a","prompt":"Make 24 from 3 5 3","numbers":[3,5,3],"target":24,"completion":"Let me think.\n(3+5)*3 = 24"}
{"id":"b","prompt":"Make 24 from 3 5 3","numbers":[3,5,3],"target":24,"completion":"Answer: 3*5+3"}
{"id":"c","prompt":"Make 24 from 3 5 3","numbers":[3,5,3],"target":24,"completion":"I cannot do it."}
{"id":"d","prompt":"Make 24 from 3 5 3","numbers":[3,5,3],"target":24,"completion":"Answer: (5+5)*3"}
{"id":"e","prompt":"Make 25 from 100 4 6","numbers":[100,4,6],"target":25,"completion":"Answer: 100/4"}
{"id":"f","prompt":"Make 2 from 3 5 7","numbers":[3,5,7],"target":2,"completion":"Answer: 7/3"}
JSONL

check "countdown.lua: statuses in input order"
"$RLVR" verify --verifier lua/verifiers/countdown.lua <"$TMP/in.jsonl" >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" -eq 0 ] || fail "exit code $RC, expected 0"
got=$(sed 's/.*"status":"\([a-z_]*\)".*/\1/' "$OUT" | tr '\n' ' ')
[ "$got" = "correct wrong no_answer invalid correct invalid " ] || fail "statuses '$got'"
grep -q 'with countdown' "$ERR" || fail "the summary does not name the verifier 'countdown'"

check "countdown.lua: --jobs 4 gives the same bytes"
"$RLVR" verify --verifier lua/verifiers/countdown.lua --jobs 4 <"$TMP/in.jsonl" >"$TMP/out4" 2>/dev/null || fail "--jobs 4 failed"
cmp -s "$OUT" "$TMP/out4" || fail "--jobs 4 output differs"

check "a script with a syntax error: exit 2, one line naming file:line"
printf 'return rlvr.verifier{ name = "broken",\n  score = function(t, c) return 1 end\n' >"$TMP/broken.lua"
"$RLVR" verify --verifier "$TMP/broken.lua" </dev/null >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" -eq 2 ] || fail "exit code $RC, expected 2"
[ "$(grep -v -c -- "$RESTART" "$ERR")" -eq 1 ] || fail "expected one line on stderr"
grep -q "broken.lua:3:" "$ERR" || fail "stderr does not name broken.lua:3"
[ -s "$OUT" ] && fail "a usage error printed to stdout"

check "a script that uses io at load time: exit 2 naming file:line"
printf 'local f = io.open("/etc/passwd")\nreturn f\n' >"$TMP/io.lua"
"$RLVR" verify --verifier "$TMP/io.lua" </dev/null >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" -eq 2 ] || fail "exit code $RC, expected 2"
grep -q "io.lua:1:" "$ERR" || fail "stderr does not name io.lua:1"

check "a script that loops forever: verifier_error, and the run goes on"
printf 'return rlvr.verifier{ name = "loopy", score = function(t, c)\n  if c == "x" then while true do end end\n  return 1\nend }\n' >"$TMP/loopy.lua"
printf '{"prompt":"p","completion":"x"}\n{"prompt":"p","completion":"y"}\n' >"$TMP/in2.jsonl"
"$RLVR" verify --verifier "$TMP/loopy.lua" <"$TMP/in2.jsonl" >"$OUT" 2>"$ERR" || fail "exit code $?, expected 0"
got=$(sed 's/.*"status":"\([a-z_]*\)".*/\1/' "$OUT" | tr '\n' ' ')
[ "$got" = "verifier_error correct " ] || fail "statuses '$got'"
grep -q 'loopy.lua:2: instruction budget exceeded' "$OUT" || fail "the error does not name loopy.lua:2"

check "a script named like a built-in: exit 2"
printf 'return rlvr.verifier{ name = "arith", score = function() return 1 end }\n' >"$TMP/dup.lua"
"$RLVR" verify --verifier "$TMP/dup.lua" </dev/null >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" -eq 2 ] || fail "exit code $RC, expected 2"
grep -q 'another verifier already has' "$ERR" || fail "stderr does not say the name is taken"

echo "cli_lua.sh: all checks passed"

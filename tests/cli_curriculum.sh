#!/bin/sh
# cli_curriculum.sh: `rlvr curriculum check` on the shipped curricula (valid, every
# sampled reference scores 1 under its stage's verifiers) and on broken scripts (exit 2,
# one line naming file:line); `rlvr verify --verifier countdown` finds the Lua verifier
# by name.
#
# usage: tests/cli_curriculum.sh [path/to/rlvr]     (default ./rlvr; run from the repository root)

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli-curriculum

for cur in lua/curricula/gsm_synth.lua lua/curricula/c_code.lua; do
    check "curriculum check $cur: valid, references score 1"
    run "$RLVR" curriculum check "$cur" --samples 3
    expect_rc 0
    expect_out '^ok$'
    expect_out 'stage 1 '
    expect_out 'eval: '
    grep -q 'not 1' "$OUT" && fail "a sampled reference does not score 1"
done

if [ -f ../shared/data/gsm8k/train.jsonl ]; then
    check "curriculum check lua/curricula/example.lua (the README's example)"
    run "$RLVR" curriculum check lua/curricula/example.lua --samples 2
    expect_rc 0
    expect_out '^ok$'
    expect_out 'format_arith 1.000 correct'
else
    skip "lua/curricula/example.lua reads ../shared/data/gsm8k/train.jsonl, which is not here"
fi

check "curriculum check: the sample tasks depend on --seed"
"$RLVR" curriculum check lua/curricula/gsm_synth.lua --seed 1 >"$TMP/s1" 2>/dev/null
"$RLVR" curriculum check lua/curricula/gsm_synth.lua --seed 1 >"$TMP/s1b" 2>/dev/null
"$RLVR" curriculum check lua/curricula/gsm_synth.lua --seed 2 >"$TMP/s2" 2>/dev/null
cmp -s "$TMP/s1" "$TMP/s1b" || fail "the same seed printed different samples"
cmp -s "$TMP/s1" "$TMP/s2" && fail "another seed printed the same samples"

check "curriculum check: a misspelt stage setting is one line naming file:line"
cat >"$TMP/typo.lua" <<'LUA'
local rlvr = require("rlvr")
local function g() return { prompt = "p" .. math.random(1000), reference = "#### 1" } end
return rlvr.curriculum{
  name = "typo",
  stages = {
    rlvr.stage{ name = "a", mode = "sft", steps = 5, sources = { g } },
    rlvr.stage{ name = "b", mode = "rl", verifier = "arith", steps = 5, temprature = 0.5, sources = { g } },
  },
  eval = { n = 3, sources = { g }, verifier = "arith" },
}
LUA
run "$RLVR" curriculum check "$TMP/typo.lua"
expect_rc 2
expect_one_err_line
expect_err "typo.lua:7: "
expect_err "temprature"
[ -s "$OUT" ] && fail "a broken curriculum printed to stdout"

check "curriculum check: an unknown verifier is named"
sed 's/verifier = "arith", steps = 5, temprature = 0.5/verifier = "nosuch", steps = 5/' "$TMP/typo.lua" >"$TMP/nover.lua"
run "$RLVR" curriculum check "$TMP/nover.lua"
expect_rc 2
expect_err "nosuch"

check "curriculum check: a generator that fails names its line"
cat >"$TMP/gen.lua" <<'LUA'
local rlvr = require("rlvr")
local function g()
  return { prompt = nil .. "x" }
end
return rlvr.curriculum{ name = "gen", stages = { { mode = "sft", steps = 1, sources = { g } } },
  eval = { n = 1, sources = { g } } }
LUA
run "$RLVR" curriculum check "$TMP/gen.lua"
expect_rc 2
expect_one_err_line
expect_err "gen.lua:3:"

check "curriculum check: a missing file, no file, --help"
run "$RLVR" curriculum check "$TMP/none.lua"
expect_rc 2
expect_err "none.lua"
run "$RLVR" curriculum check
expect_rc 2
run "$RLVR" curriculum check --help
expect_rc 0
expect_out "usage: rlvr curriculum check"

check "verify --verifier countdown: a Lua verifier by name"
printf '%s\n' '{"prompt":"Make 24","numbers":[3,5,3],"target":24,"completion":"Answer: (3+5)*3"}' \
              '{"prompt":"Make 24","numbers":[3,5,3],"target":24,"completion":"Answer: 3*5+3"}' >"$TMP/cd.jsonl"
run_in "$TMP/cd.jsonl" "$RLVR" verify --verifier countdown
expect_rc 0
expect_lines 2
expect_line 1 '"status":"correct"'
expect_line 2 '"status":"wrong"'

echo "cli_curriculum.sh: all checks passed"

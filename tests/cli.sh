#!/bin/sh
# cli.sh: the command line as a user meets it: help and exit codes, and the OpenBLAS
# kernel fix (rlvr restarts itself with OPENBLAS_CORETYPE set when OpenBLAS fell back
# to a generic kernel on an AVX2/AVX-512 CPU; see policy/blas.h and engine/main.c).
#
# usage: tests/cli.sh [path/to/rlvr]     (default ./rlvr)
# Prints each check; exits 1 at the first failure with what was expected and seen.

RLVR=${1:-./rlvr}
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli
# OpenBLAS's fallback kernels: none of them uses AVX2 (the list in policy/blas.c).
GENERIC='Prescott Core2 Penryn Dunnington Nehalem Atom Katmai Coppermine Northwood Banias Generic unknown'



# json_str KEY: the string value of KEY in the JSON line on stdout.
json_str() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' "$OUT" | head -n 1; }

lower() { echo "$1" | tr '[:upper:]' '[:lower:]'; }

is_generic() {
    for g in $GENERIC; do
        [ "$(lower "$1")" = "$(lower "$g")" ] && return 0
    done
    return 1
}

has_flag() { grep "^flags" /proc/cpuinfo 2>/dev/null | grep -qw -- "$1"; }

# ---------------------------------------------------------------- help and exit codes

check "rlvr --help exits 0 and prints usage"
run "$RLVR" --help; expect_rc 0; expect_out "usage: rlvr"

check "rlvr help exits 0 and prints usage"
run "$RLVR" help; expect_rc 0; expect_out "usage: rlvr"

check "rlvr with no arguments exits 2 with usage on stderr"
run "$RLVR"; expect_rc 2; expect_err "usage: rlvr"

check "an unknown command exits 2 with a one-line error naming it"
run "$RLVR" frobnicate; expect_rc 2; expect_err "frobnicate"
[ "$(err_lines)" -eq 1 ] || fail "expected a one-line error, got $(err_lines) lines"
[ -s "$OUT" ] && fail "an unknown command printed to stdout"

check "rlvr bench --help exits 0"
run "$RLVR" bench --help; expect_rc 0; expect_out "usage: rlvr bench"

check "rlvr bench train --help exits 0"
run "$RLVR" bench train --help; expect_rc 0; expect_out "usage: rlvr bench train"

check "rlvr info --help exits 0"
run "$RLVR" info --help; expect_rc 0; expect_out "usage: rlvr info"

check "rlvr bench train --preset nope exits 2 naming the preset"
run "$RLVR" bench train --preset nope; expect_rc 2; expect_err "nope"

check "rlvr info prints one JSON line"
run "$RLVR" info; expect_rc 0
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "info printed $(wc -l <"$OUT") lines"
grep -q '^{.*"blas_core":"[^"]*".*}$' "$OUT" || fail "info output is not a JSON object with blas_core"

# ---------------------------------------------------------------- the BLAS kernel fix

check "a user's OPENBLAS_CORETYPE is kept, with no restart"
run env -u RLVR_BLAS_ASSUME_GENERIC -u RLVR_BLAS_RESTARTED_FROM OPENBLAS_CORETYPE=PRESCOTT "$RLVR" info; expect_rc 0
[ -s "$ERR" ] && fail "rlvr info wrote to stderr"
[ -z "$(json_str blas_restarted_from)" ] && grep -q '"blas_restarted_from":""' "$OUT" ||
    fail "rlvr restarted although the user set OPENBLAS_CORETYPE"
[ "$(json_str blas_core)" = Prescott ] || fail "blas_core is '$(json_str blas_core)', expected Prescott"
[ "$(json_str openblas_coretype_env)" = PRESCOTT ] || fail "openblas_coretype_env is '$(json_str openblas_coretype_env)'"

# What blas_preferred_coretype() picks on this CPU (the same flags it checks).
EXPECT=
if has_flag avx512f && has_flag avx512bw && has_flag avx512vl && has_flag avx512dq; then EXPECT=SKYLAKEX
elif has_flag avx2 && has_flag fma; then EXPECT=HASWELL
fi

if has_flag avx2; then
    check "without OPENBLAS_CORETYPE, an AVX2 CPU runs a non-generic kernel"
    run env -u OPENBLAS_CORETYPE -u RLVR_BLAS_ASSUME_GENERIC "$RLVR" info; expect_rc 0
    CORE=$(json_str blas_core)
    [ -n "$CORE" ] || fail "no blas_core in info's output"
    is_generic "$CORE" && fail "blas_core is the generic '$CORE' on a CPU with AVX2"
    [ -s "$ERR" ] && fail "the kernel fix wrote to stderr (it must be silent)"
else
    echo "skip: no avx2 in /proc/cpuinfo: the kernel fix does not apply"
fi

if [ -n "$EXPECT" ]; then
    # RLVR_BLAS_ASSUME_GENERIC=1 is a test hook: OpenBLAS's own kernel counts as
    # generic, so the restart happens even on CPUs OpenBLAS recognises.
    check "forced restart: silent, OPENBLAS_CORETYPE=$EXPECT, reported by info, a non-generic kernel"
    run env -u OPENBLAS_CORETYPE -u RLVR_BLAS_RESTARTED_FROM RLVR_BLAS_ASSUME_GENERIC=1 "$RLVR" info; expect_rc 0
    [ -s "$ERR" ] && fail "the restart wrote to stderr (it must be silent)"
    FROM=$(json_str blas_restarted_from)
    [ -n "$FROM" ] || fail "no blas_restarted_from: is the RLVR_BLAS_ASSUME_GENERIC hook in policy/blas.c?"
    SET=$(json_str openblas_coretype_env)
    [ "$SET" = "$EXPECT" ] || fail "restarted with OPENBLAS_CORETYPE=$SET, expected $EXPECT"
    check "a command's one-line error stays one line when rlvr restarts for the kernel"
    run env -u OPENBLAS_CORETYPE RLVR_BLAS_ASSUME_GENERIC=1 "$RLVR" frobnicate; expect_rc 2
    [ "$(wc -l <"$ERR")" -eq 1 ] || fail "expected one line on stderr, got $(wc -l <"$ERR")"
    run env -u OPENBLAS_CORETYPE -u RLVR_BLAS_RESTARTED_FROM RLVR_BLAS_ASSUME_GENERIC=1 "$RLVR" info
    CORE=$(json_str blas_core)
    [ -n "$CORE" ] || fail "no blas_core in info's output"
    is_generic "$CORE" && fail "after the restart blas_core is still the generic '$CORE'"
    # The restarted process really runs the kernel it restarted for.
    [ "$(lower "$CORE")" = "$(lower "$SET")" ] ||
        fail "after the restart blas_core is '$CORE', not the $SET it restarted for"
else
    echo "skip: no AVX2+FMA: rlvr has no better kernel to restart with"
fi

# ---------------------------------------------------------------- reproducibility

# One seed, one thread count: two separate runs write bit-identical checkpoints
# (parameters, AdamW moments, tokenizer). Needs GSM8K to train on.
if [ "$HAVE_GSM8K" -eq 1 ]; then
    head -n 300 "$DATA/train.jsonl" >"$TMP/small.jsonl"
    check "two sft runs with one seed and 2 threads write identical checkpoints"
    for r in a b; do
        run env OMP_NUM_THREADS=2 "$RLVR" sft --data "$TMP/small.jsonl" --steps 12 --seed 7 --context 512 --out "$TMP/$r"
        expect_rc 0
    done
    cmp -s "$TMP/a/final.ckpt" "$TMP/b/final.ckpt" || fail "the two checkpoints differ"
    check "a different seed gives a different checkpoint"
    run env OMP_NUM_THREADS=2 "$RLVR" sft --data "$TMP/small.jsonl" --steps 12 --seed 8 --context 512 --out "$TMP/c"
    expect_rc 0
    cmp -s "$TMP/a/final.ckpt" "$TMP/c/final.ckpt" && fail "seeds 7 and 8 gave identical checkpoints"
else
    echo "skip: no GSM8K data at $DATA: the reproducibility check needs it"
fi

# ---------------------------------------------------------------- the demo

check "demo: a short run of the default curriculum prints the pass@1 table and its files"
run "$RLVR" demo --max-steps 3 --runs-dir "$TMP/runs"
expect_rc 0
expect_out "after SFT"
expect_out "after RL"
ls "$TMP"/runs/demo-*/summary.json >/dev/null 2>&1 || fail "no summary.json in $TMP/runs/demo-*"
grep -q '"status":[[:space:]]*"stopped"' "$TMP"/runs/demo-*/summary.json || fail "the summary does not say the run stopped at --max-steps"
run "$RLVR" demo --bogus 1
expect_rc 2

echo "cli.sh: all checks passed"

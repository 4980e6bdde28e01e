# cli_lib.sh: what every tests/cli_*.sh script shares. Sourced, after RLVR is set:
#   . "$(dirname "$0")/cli_lib.sh"; cli_setup NAME
# cli_setup makes $TMP (removed on exit, also running $CLEANUP if a script sets it),
# $OUT and $ERR for run/run_in, and finds GSM8K as $DATA ($HAVE_GSM8K 1 or 0).

# The notice older builds printed when restarting for a better BLAS kernel (see cli.sh);
# it is not part of any command's output.
RESTART='restarting with OPENBLAS_CORETYPE='

cli_setup() {
    [ -x "$RLVR" ] || { echo "$1: $RLVR is not an executable (build it first)" >&2; exit 1; }
    TMP=$(mktemp -d "/tmp/rlvr-$1-XXXXXX") || exit 1
    trap 'eval "${CLEANUP:-:}"; rm -rf "$TMP"' EXIT
    trap 'exit 1' INT TERM
    OUT=$TMP/out
    ERR=$TMP/err
    DATA=${RLVR_GSM8K:-$(dirname "$RLVR")/../shared/data/gsm8k}
    [ -f "$DATA/train.jsonl" ] || DATA=$(cd "$(dirname "$0")/.." && pwd)/../shared/data/gsm8k
    HAVE_GSM8K=0
    [ -f "$DATA/train.jsonl" ] && [ -f "$DATA/test.jsonl" ] && HAVE_GSM8K=1
}

# fail MESSAGE: say what went wrong, show the last command's output, exit 1.
fail() {
    echo "FAIL: $*" >&2
    for f in "$OUT" "$ERR"; do
        [ -s "$f" ] && { echo "--- $(basename "$f") (first 40 lines, 400 bytes each):" >&2; head -n 40 "$f" | cut -c 1-400 | sed 's/^/    /' >&2; }
    done
    exit 1
}
check() { echo "check: $*"; }
skip() { echo "skip: $*"; }

# run CMD...: stdout and stderr captured, exit code in $RC; run_in FILE CMD...: stdin from FILE.
run() { "$@" >"$OUT" 2>"$ERR"; RC=$?; }
run_in() { f=$1; shift; "$@" <"$f" >"$OUT" 2>"$ERR"; RC=$?; }

expect_rc() { [ "$RC" -eq "$1" ] || fail "exit code $RC, expected $1"; }
expect_out() { grep -q -- "$1" "$OUT" || fail "stdout lacks '$1'"; }
expect_err() { grep -q -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
# Lines of stderr other than the restart notice.
err_lines() { grep -v -c -- "$RESTART" "$ERR"; }
expect_one_err_line() {
    [ "$(err_lines)" -eq 1 ] || fail "expected a one-line error on stderr, got $(err_lines) lines"
}
# expect_lines N: stdout has exactly N lines.
expect_lines() {
    n=$(wc -l <"$OUT")
    [ "$n" -eq "$1" ] || fail "stdout has $n lines, expected $1"
}
# expect_line N PATTERN: line N of stdout matches the (basic) regular expression.
expect_line() {
    sed -n "$1p" "$OUT" | grep -q -- "$2" || fail "line $1 of stdout does not match '$2'"
}

#!/bin/sh
# llama2c_run.sh: single-stream generation speed of karpathy/llama2.c's run.c on a model
# exported by `rlvr export --llama2c`, as one JSON line, for `rlvr bench sample`.
#
# usage: bench/llama2c_run.sh RUN MODEL.bin [--threads N] [--steps N] [--tokenizer FILE]
#
#   RUN      a run binary you built from llama2.c yourself (this script neither fetches
#            nor builds it), e.g. `make runomp` there: gcc -Ofast -fopenmp -march=native
#   MODEL    the exported model file
#   --threads N     OMP_NUM_THREADS for run.c (default: $OMP_NUM_THREADS, else all cores)
#   --steps N       positions to run (default 320: a 64-token prompt plus 256 new tokens;
#                   run.c feeds prompt tokens one at a time like generated ones, so the
#                   split does not change its speed, and no prompt is passed)
#   --tokenizer F   default: MODEL's own MODEL.tokenizer.bin if the export wrote one,
#                   else a placeholder (run.c refuses to start without a tokenizer)
#
# run.c decodes greedily (-t 0) and reports "achieved tok/s" over positions 1..steps-1.
# It stops early if it produces id 1 (its BOS); with the placeholder tokenizer every
# piece prints as "[id]", so steps_run counts the positions that really ran (null with
# a real tokenizer, whose pieces cannot be counted).
# Prints {"peer":"llama2.c","run":...,"model":...,"threads":N,"steps":N,"steps_run":N|null,"tok_s":X}.
# Exit codes: 0 success, 1 run.c failed, 2 usage error.

usage() { echo "usage: bench/llama2c_run.sh RUN MODEL.bin [--threads N] [--steps N] [--tokenizer FILE]"; }
die() { echo "llama2c_run.sh: $*" >&2; exit "${CODE:-1}"; }

[ "$1" = "--help" ] || [ "$1" = "-h" ] && { usage; exit 0; }
[ $# -ge 2 ] || { usage >&2; exit 2; }
RUN=$1 MODEL=$2
shift 2
THREADS=${OMP_NUM_THREADS:-$(nproc)} STEPS=320 TOK=
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || CODE=2 die "$1 needs a value"
    case $1 in
        --threads) THREADS=$2 ;;
        --steps) STEPS=$2 ;;
        --tokenizer) TOK=$2 ;;
        *) CODE=2 die "unknown option '$1'" ;;
    esac
    shift 2
done
case $THREADS$STEPS in *[!0-9]*|'') CODE=2 die "--threads and --steps take positive integers" ;; esac
[ -x "$RUN" ] || CODE=2 die "$RUN: not an executable (build llama2.c's run first)"
[ -f "$MODEL" ] || CODE=2 die "$MODEL: no such model file"

TMP=$(mktemp -d /tmp/llama2c-run-XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

# le32 N: N as four little-endian bytes (run.c reads the host's order; x86 and arm64
# are little-endian). Octal escapes keep this in POSIX sh without subshells.
le32() {
    for s in 0 8 16 24; do
        b=$(( ($1 >> s) & 255 ))
        printf "\\$(( (b >> 6) & 7 ))$(( (b >> 3) & 7 ))$(( b & 7 ))"
    done
}

# A tokenizer.bin whose piece for id i is "[i]": max_token_length, then per id a zero
# score, the length and the bytes.
placeholder_tokenizer() {
    vocab=$(od -An -t d4 -j 20 -N 4 "$MODEL" | tr -d ' ')
    [ -n "$vocab" ] || die "$MODEL: cannot read vocab_size from the header"
    [ "$vocab" -lt 0 ] && vocab=$(( -vocab ))
    last="[$(( vocab - 1 ))]"
    {
        le32 ${#last}
        i=0
        while [ $i -lt "$vocab" ]; do
            piece="[$i]"
            printf '\000\000\000\000'
            le32 ${#piece}
            printf '%s' "$piece"
            i=$(( i + 1 ))
        done
    } >"$1"
}

COUNTED=0
if [ -z "$TOK" ]; then
    TOK=${MODEL%.bin}.tokenizer.bin
    if [ ! -f "$TOK" ]; then
        TOK=$TMP/tokenizer.bin
        placeholder_tokenizer "$TOK"
        COUNTED=1
    fi
fi
[ -f "$TOK" ] || CODE=2 die "$TOK: no such tokenizer file"

OMP_NUM_THREADS=$THREADS "$RUN" "$MODEL" -z "$TOK" -t 0 -s 1 -n "$STEPS" >"$TMP/out" 2>"$TMP/err" ||
    die "$RUN failed: $(head -n 1 "$TMP/err")"
TOKS=$(sed -n 's/^achieved tok\/s: *\([0-9.]*\).*/\1/p' "$TMP/err" | tail -n 1)
[ -n "$TOKS" ] || die "$RUN printed no 'achieved tok/s' line: $(head -n 1 "$TMP/err")"
RAN=null
[ "$COUNTED" -eq 1 ] && RAN=$(tr -cd '[' <"$TMP/out" | wc -c | tr -d ' ')

# JSON strings: escape backslashes and quotes in the paths.
js() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
printf '{"peer":"llama2.c","run":"%s","model":"%s","threads":%s,"steps":%s,"steps_run":%s,"tok_s":%s}\n' \
    "$(js "$RUN")" "$(js "$MODEL")" "$THREADS" "$STEPS" "$RAN" "$TOKS"

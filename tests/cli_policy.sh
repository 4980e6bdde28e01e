#!/bin/sh
# cli_policy.sh: the policy's commands as a user meets them: rlvr tokenizer train,
# sft (bad data, its outputs, determinism, Ctrl-C), sample and export --llama2c.
#
# usage: tests/cli_policy.sh [path/to/rlvr]     (default ./rlvr)
# Prints each check; exits 1 at the first failure with what was expected and seen.
# Checks that train on GSM8K ($RLVR_GSM8K, else ../shared/data/gsm8k) are skipped
# without it. Runs in well under a minute on two cores: tiny runs, a 300-line prefix.

RLVR=${1:-./rlvr}
# Byte semantics for sed and grep: sampled text need not be valid UTF-8.
LC_ALL=C
export LC_ALL
# One thread count for every run: the determinism checks need it, and two is fast here.
OMP_NUM_THREADS=2
export OMP_NUM_THREADS
. "$(dirname "$0")/cli_lib.sh"
cli_setup policy
BG=
# A background sft run (the Ctrl-C check) must not outlive the script.
CLEANUP='[ -n "$BG" ] && kill -KILL "$BG" 2>/dev/null'


expect_err_not() { grep -q -- "$1" "$ERR" && fail "stderr has '$1', which it should not"; }
expect_file() { [ -s "$1" ] || fail "$1 was not written (or is empty)"; }

# json_num KEY FILE [LINE]: the numeric value of KEY in line LINE (default 1) of FILE.
json_num() {
    sed -n "${3:-1}p" "$2" | sed -n 's/.*"'"$1"'":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p'
}
# A finite JSON number (printf's nan and inf are not JSON, let alone finite).
is_number() { echo "$1" | grep -Eq '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'; }
# lt A B: A < B as floats.
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
# The start of a checkpoint's JSON header (after RLVRCKPT, version and length): the
# model config, num_params and step, cut before the AdamW settings and the tokenizer.
ckpt_header() {
    head -c 4096 "$1" | tr -c '[:print:]' '\n' | grep -o '{"model".*' | head -n 1 | sed 's/,"adamw".*//'
}
# hdr_int KEY FILE: an integer field of a checkpoint's header.
hdr_int() { ckpt_header "$2" | sed -n 's/.*"'"$1"'":\([0-9][0-9]*\).*/\1/p' | head -n 1; }

# A 300-line prefix of GSM8K (found by cli_setup) for the training checks.
if [ "$HAVE_GSM8K" -eq 1 ]; then
    GSM=$TMP/gsm300.jsonl
    head -n 300 "$DATA/train.jsonl" >"$GSM"
    [ "$(wc -l <"$GSM")" -eq 300 ] || fail "$DATA/train.jsonl has fewer than 300 lines"
fi

# ---------------------------------------------------------------- tokenizer

check "rlvr help lists the tokenizer command"
run "$RLVR" help; expect_rc 0
grep -q '^ *tokenizer train ' "$OUT" || fail "rlvr help does not list 'tokenizer train'"

check "rlvr tokenizer --help exits 0 with its usage"
run "$RLVR" tokenizer --help; expect_rc 0; expect_out "usage: rlvr tokenizer train"

check "rlvr tokenizer alone exits 2 with its usage on stderr"
run "$RLVR" tokenizer; expect_rc 2; expect_err "usage: rlvr tokenizer train"
[ -s "$OUT" ] && fail "a usage error printed to stdout"

check "rlvr tokenizer train --vocab 100 exits 2 with one error line naming --vocab and its range"
run "$RLVR" tokenizer train --vocab 100 --out "$TMP/t.json" "$TMP/whatever.txt"; expect_rc 2
# The error is the first line; the command then repeats its usage text (see the report).
head -n 1 "$ERR" | grep -q -- '--vocab.*259.*65536' || fail "the first stderr line does not name --vocab and [259, 65536]"
[ "$(grep -c '^rlvr' "$ERR")" -eq 1 ] || fail "expected one error line, got $(grep -c '^rlvr' "$ERR")"
[ -e "$TMP/t.json" ] && fail "a usage error wrote the output file"

if [ "$HAVE_GSM8K" -eq 1 ]; then
    check "tokenizer train --vocab 512 on a 300-line GSM8K prefix: vocab_size 512, deterministic"
    for r in a b; do
        run "$RLVR" tokenizer train --vocab 512 --out "$TMP/tok_$r.json" "$GSM"; expect_rc 0
        expect_out '"vocab_size":512,'
        [ "$(wc -l <"$OUT")" -eq 1 ] || fail "tokenizer train printed $(wc -l <"$OUT") lines, expected one JSON line"
        expect_file "$TMP/tok_$r.json"
    done
    cmp -s "$TMP/tok_a.json" "$TMP/tok_b.json" || fail "two trainings on one corpus wrote different files"
else
    skip "no GSM8K data at $DATA: tokenizer training on it"
fi

check "tokenizer train on a corpus with a malformed JSONL line exits 1 naming FILE:LINE (2; 4 after a blank line)"
printf '{"question":"a"}\nnot json\n' >"$TMP/badcorpus.jsonl"
run "$RLVR" tokenizer train --vocab 300 --out "$TMP/tbad.json" "$TMP/badcorpus.jsonl"; expect_rc 1
expect_err "$TMP/badcorpus.jsonl:2:"
expect_one_err_line
[ -e "$TMP/tbad.json" ] && fail "a failed training wrote the output file"
printf '{"question":"a"}\n\n{"text":"b"}\n[1,2]\n' >"$TMP/badcorpus2.jsonl"
run "$RLVR" tokenizer train --vocab 300 --out "$TMP/tbad2.json" "$TMP/badcorpus2.jsonl"; expect_rc 1
expect_err "$TMP/badcorpus2.jsonl:4:"   # blank lines count; a JSON array is not an object
expect_one_err_line

check "tokenizer train on a missing corpus file exits 1 naming it"
run "$RLVR" tokenizer train --vocab 300 --out "$TMP/tmiss.json" "$TMP/no-such-corpus.jsonl"; expect_rc 1
expect_err "$TMP/no-such-corpus.jsonl"
expect_one_err_line

# ---------------------------------------------------------------- sft: usage and bad data

check "rlvr sft --help exits 0 with its usage"
run "$RLVR" sft --help; expect_rc 0; expect_out "usage: rlvr sft"

check "rlvr sft without --data exits 2 with one error line"
run "$RLVR" sft --out "$TMP/nodata"; expect_rc 2; expect_err "--data"; expect_one_err_line

# Line 3 is blank: line numbers must count it.
MAL=$TMP/malformed.jsonl
printf '%s\n' '{"prompt":"1+1=","completion":"2"}' '{"prompt":"2+2=","completion":"4"}' '' \
    '{"prompt":"3+3=", "completion":' '{"prompt":"4+4=","completion":"8"}' >"$MAL"
check "sft on a JSONL with a malformed line 4 exits 1 naming FILE:4"
run "$RLVR" sft --data "$MAL" --out "$TMP/sft_mal" --steps 2 --batch 2; expect_rc 1
expect_err "$MAL:4:"; expect_one_err_line

MISS=$TMP/missing_field.jsonl
printf '%s\n' '{"prompt":"1+1=","completion":"2"}' '{"prompt":"2+2=","completion":"4"}' '' \
    '{"prompt":"3+3=","completion":"6"}' '{"prompt":"4+4="}' '{"prompt":"5+5=","completion":"10"}' \
    'not json' '{"question":"6+6=","answer":"12"}' >"$MISS"
check "sft on a line without a completion exits 1 naming the line (5) and the field"
run "$RLVR" sft --data "$MISS" --out "$TMP/sft_miss" --steps 2 --batch 2; expect_rc 1
expect_err "$MISS:5:"; expect_err "completion"; expect_one_err_line

check "sft --skip-bad on that file succeeds and says it skipped 2 lines"
run "$RLVR" sft --data "$MISS" --out "$TMP/sft_skip" --steps 2 --batch 2 --skip-bad; expect_rc 0
expect_err "skipped 2 malformed lines"
expect_err "sft: 5 examples"
expect_file "$TMP/sft_skip/final.ckpt"
SMALL_CKPT=$TMP/sft_skip/final.ckpt

# Digits are never merged, so line 4's 71 digits stay over 32 tokens with any vocabulary.
LONG=$TMP/long.jsonl
{
    printf '%s\n' '{"prompt":"1+1=","completion":"2"}' '{"prompt":"2+2=","completion":"4"}' \
        '{"prompt":"3+3=","completion":"6"}'
    printf '{"prompt":"count","completion":"%s"}\n' "$(seq 1 40 | tr -d '\n')"
    printf '%s\n' '{"prompt":"5+5=","completion":"10"}'
} >"$LONG"
check "sft --context 32 with an over-long example on line 4 exits 1 naming FILE:4"
run "$RLVR" sft --data "$LONG" --out "$TMP/sft_long" --steps 2 --batch 2 --context 32; expect_rc 1
expect_err "$LONG:4:"; expect_err "context"
expect_err_not "$LONG:[1235]:"

check "sft --context 32 --skip-bad skips that example and succeeds"
run "$RLVR" sft --data "$LONG" --out "$TMP/sft_long2" --steps 2 --batch 2 --context 32 --skip-bad; expect_rc 0
expect_err "1 over-long example"
expect_err "sft: 4 examples"
expect_file "$TMP/sft_long2/final.ckpt"

# ---------------------------------------------------------------- sft on GSM8K

if [ "$HAVE_GSM8K" -eq 1 ]; then
    S=$TMP/sft_a
    check "sft on the GSM8K prefix (20 steps, batch 4) writes its checkpoints, tokenizer and metrics"
    run "$RLVR" sft --data "$GSM" --out "$S" --steps 20 --batch 4 --eval-every 10 --seed 3; expect_rc 0
    for f in final.ckpt latest.ckpt tokenizer.json metrics.jsonl; do expect_file "$S/$f"; done

    check "metrics.jsonl: one JSON object per evaluation (steps 10, 20) with step, loss and a finite heldout_loss"
    M=$S/metrics.jsonl
    [ "$(wc -l <"$M")" -eq 2 ] || fail "metrics.jsonl has $(wc -l <"$M") lines, expected 2 (--eval-every 10 of 20 steps)"
    for i in 1 2; do
        L=$(sed -n "${i}p" "$M")
        printf "%s\n" "$L" | grep -q '^{.*}$' || fail "metrics line $i is not a JSON object: $L"
        [ "$(json_num step "$M" "$i")" = "$((i * 10))" ] || fail "metrics line $i has step '$(json_num step "$M" "$i")', expected $((i * 10))"
        is_number "$(json_num loss "$M" "$i")" || fail "metrics line $i: loss is not a finite number: $L"
        H=$(printf "%s\n" "$L" | sed -n 's/.*"heldout_loss":\([^,}]*\).*/\1/p')
        is_number "$H" || fail "metrics line $i: heldout_loss '$H' is not a finite number"
    done

    check "the training and held-out losses fall from the first evaluation to the last"
    L1=$(json_num loss "$M" 1); L2=$(json_num loss "$M" 2)
    lt "$L2" "$L1" || fail "training loss went from $L1 (step 10) to $L2 (step 20)"
    H1=$(json_num heldout_loss "$M" 1); H2=$(json_num heldout_loss "$M" 2)
    lt "$H2" "$H1" || fail "held-out loss went from $H1 (step 10) to $H2 (step 20)"

    check "a second run with the same seed and 2 threads writes an identical final.ckpt"
    run "$RLVR" sft --data "$GSM" --out "$TMP/sft_b" --steps 20 --batch 4 --eval-every 10 --seed 3; expect_rc 0
    cmp -s "$S/final.ckpt" "$TMP/sft_b/final.ckpt" || fail "same seed, different final.ckpt"
    check "a different seed writes a different final.ckpt"
    run "$RLVR" sft --data "$GSM" --out "$TMP/sft_c" --steps 20 --batch 4 --eval-every 10 --seed 4; expect_rc 0
    cmp -s "$S/final.ckpt" "$TMP/sft_c/final.ckpt" && fail "seeds 3 and 4 wrote identical checkpoints"

    # ------------------------------------------------------------ Ctrl-C
    # No evaluation is due before step 1000, so latest.ckpt can only come from the
    # interrupt. Training is under way once the plain progress line for step 10 (of
    # 200: one line per 10 steps when stderr is not a terminal) is out.
    check "Ctrl-C during sft: exit 130, says it saved latest.ckpt, which holds the interrupted step and loads"
    I=$TMP/sft_int
    "$RLVR" sft --data "$GSM" --out "$I" --steps 200 --batch 4 --eval-every 1000 \
        --tokenizer "$TMP/tok_a.json" >"$OUT" 2>"$ERR" &
    BG=$!
    n=0
    until grep -q '^sft 10/200 ' "$ERR"; do
        kill -0 "$BG" 2>/dev/null || { wait "$BG"; RC=$?; BG=; fail "sft exited ($RC) before training"; }
        n=$((n + 1))
        [ "$n" -le 300 ] || fail "no progress line for step 10 after 60 s: the run does not seem to be training"
        sleep 0.2
    done
    [ -e "$I/latest.ckpt" ] && fail "latest.ckpt exists before any evaluation was due"
    kill -INT "$BG"
    n=0
    while kill -0 "$BG" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -le 150 ] || fail "sft still running 30 s after SIGINT"
        sleep 0.2
    done
    wait "$BG"; RC=$?; BG=
    expect_rc 130
    expect_err "saved $I/latest.ckpt"
    STEP=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' "$ERR")
    [ -n "$STEP" ] || fail "stderr does not say at which step it was interrupted"
    [ "$STEP" -lt 200 ] || fail "interrupted at step $STEP: the run had all but finished (too slow a poll?)"
    [ -s "$I/latest.ckpt" ] || fail "sft says it saved $I/latest.ckpt, but there is no such file"
    [ "$(hdr_int step "$I/latest.ckpt")" = "$STEP" ] ||
        fail "latest.ckpt holds step '$(hdr_int step "$I/latest.ckpt")', but sft says it was interrupted at step $STEP"
    [ "$(wc -l <"$I/metrics.jsonl")" -eq 1 ] && [ "$(json_num step "$I/metrics.jsonl")" = "$STEP" ] ||
        fail "metrics.jsonl should hold one line, for the interrupted step $STEP"
    [ "$(hdr_int vocab "$I/latest.ckpt")" = 512 ] || fail "latest.ckpt's vocab is not the --tokenizer's 512"
    [ -e "$I/final.ckpt" ] && fail "an interrupted run wrote final.ckpt"
    run "$RLVR" sample --ckpt "$I/latest.ckpt" --prompt x --max-tokens 5; expect_rc 0
else
    skip "no GSM8K data at $DATA: sft training, determinism and Ctrl-C checks"
fi

# ---------------------------------------------------------------- sample

check "rlvr sample --help exits 0 with its usage"
run "$RLVR" sample --help; expect_rc 0; expect_out "usage: rlvr sample"

check "rlvr sample without --ckpt exits 2 with one error line"
run "$RLVR" sample --prompt x; expect_rc 2; expect_err "--ckpt"; expect_one_err_line

check "rlvr sample with a nonexistent checkpoint exits 1 with one line naming it"
run "$RLVR" sample --ckpt "$TMP/no-such.ckpt" --prompt x; expect_rc 1
expect_err "$TMP/no-such.ckpt"; expect_one_err_line

check "rlvr sample with a truncated checkpoint exits 1 saying truncated"
SIZE=$(wc -c <"$SMALL_CKPT")
head -c $((SIZE / 2)) "$SMALL_CKPT" >"$TMP/trunc.ckpt"
run "$RLVR" sample --ckpt "$TMP/trunc.ckpt" --prompt x; expect_rc 1
expect_err "truncated"; expect_err "$TMP/trunc.ckpt"; expect_one_err_line
head -c 20 "$SMALL_CKPT" >"$TMP/trunc2.ckpt"
run "$RLVR" sample --ckpt "$TMP/trunc2.ckpt" --prompt x; expect_rc 1
expect_err "truncated"; expect_one_err_line

if [ "$HAVE_GSM8K" -eq 1 ]; then
    F=$S/final.ckpt
    P="Natalia sold clips to 48 of her friends."
    check "greedy sampling (--temperature 0 --max-tokens 20) gives the same output twice"
    run "$RLVR" sample --ckpt "$F" --prompt "$P" --temperature 0 --max-tokens 20; expect_rc 0
    cp "$OUT" "$TMP/greedy1"
    [ -s "$TMP/greedy1" ] || fail "greedy sampling printed nothing"
    run "$RLVR" sample --ckpt "$F" --prompt "$P" --temperature 0 --max-tokens 20; expect_rc 0
    cmp -s "$TMP/greedy1" "$OUT" || fail "two greedy samples differ"

    # sample_json_check FILE MAX: 3 JSON lines, each with completion, finish and a tokens
    # array of num_tokens (at most MAX) entries.
    sample_json_check() {
        [ "$(wc -l <"$1")" -eq 3 ] || fail "-n 3 --json printed $(wc -l <"$1") lines, expected 3"
        i=0
        while IFS= read -r L; do
            i=$((i + 1))
            printf "%s\n" "$L" | grep -q '^{.*}$' || fail "line $i is not a JSON object"
            printf "%s\n" "$L" | grep -q '"completion":"' || fail "line $i has no string \"completion\""
            printf "%s\n" "$L" | grep -Eq '"finish":"(stop_token|stop_string|length)"' ||
                fail "line $i has no \"finish\" of stop_token, stop_string or length"
            printf "%s\n" "$L" | grep -q '"tokens":\[' || fail "line $i has no \"tokens\" array"
            NT=$(printf "%s\n" "$L" | sed -n 's/.*"num_tokens":\([0-9]*\).*/\1/p')
            TK=$(printf "%s\n" "$L" | sed -n 's/.*"tokens":\[\([0-9,]*\)\].*/\1/p' | tr ',' '\n' | grep -c .)
            [ -n "$NT" ] && [ "$NT" -eq "$TK" ] || fail "line $i: num_tokens '$NT' but $TK entries in tokens"
            [ "$TK" -ge 1 ] && [ "$TK" -le "$2" ] || fail "line $i: $TK tokens, expected 1..$2"
        done <"$1"
    }
    # completions FILE: each line's completion text (cJSON escapes only " \ and controls).
    completions() { sed 's/.*"completion":"\(.*\)","finish":.*/\1/' "$1"; }

    check "-n 3 --json --seed 5 prints 3 JSON lines with completion, finish and tokens"
    run "$RLVR" sample --ckpt "$F" --prompt "$P" -n 3 --json --seed 5 --max-tokens 30; expect_rc 0
    sample_json_check "$OUT" 30
    cp "$OUT" "$TMP/json5"
    completions "$TMP/json5" | grep -q ' ' ||
        fail "no completion has a space: the --stop check below would prove nothing"

    check "the same seed samples the same completions, another seed different ones"
    run "$RLVR" sample --ckpt "$F" --prompt "$P" -n 3 --json --seed 5 --max-tokens 30; expect_rc 0
    cmp -s "$TMP/json5" "$OUT" || fail "--seed 5 twice gave different completions"
    run "$RLVR" sample --ckpt "$F" --prompt "$P" -n 3 --json --seed 6 --max-tokens 30; expect_rc 0
    cmp -s "$TMP/json5" "$OUT" && fail "--seed 5 and --seed 6 gave identical completions"

    check "--stop ' ' ends every completion before its first space"
    run "$RLVR" sample --ckpt "$F" --prompt "$P" -n 3 --json --seed 5 --max-tokens 30 --stop " "; expect_rc 0
    sample_json_check "$OUT" 30
    completions "$OUT" | grep -q ' ' && fail "a completion contains the stop string ' '"
    grep -q '"finish":"stop_string"' "$OUT" || fail "no completion finished on the stop string"
    # Stopped text is the prefix, before its first space, of what the same seed samples without --stop.
    completions "$TMP/json5" | sed 's/ .*//' >"$TMP/prefix_expected"
    completions "$OUT" >"$TMP/prefix_seen"
    cmp -s "$TMP/prefix_expected" "$TMP/prefix_seen" ||
        fail "--stop ' ' completions are not the unstopped completions cut at their first space"
else
    skip "no GSM8K data at $DATA: sampling from a trained checkpoint"
fi

# ---------------------------------------------------------------- export

check "rlvr export --help exits 0; a wrong command line exits 2"
run "$RLVR" export --help; expect_rc 0; expect_out "usage: rlvr export --llama2c"
run "$RLVR" export "$TMP/x.ckpt"; expect_rc 2; expect_one_err_line

check "export of a missing checkpoint exits 1 naming it and writes nothing"
run "$RLVR" export --llama2c "$TMP/no-such.ckpt" "$TMP/none.bin"; expect_rc 1
expect_err "$TMP/no-such.ckpt"; expect_one_err_line
[ -e "$TMP/none.bin" ] && fail "a failed export left $TMP/none.bin"
ls "$TMP"/none.bin* >/dev/null 2>&1 && fail "a failed export left a temporary file"

# export_check CKPT OUT.bin "DIM HIDDEN LAYERS HEADS VOCAB SEQ": exports CKPT and checks
# the llama2.c header against the checkpoint's own header, against the expected model,
# against export's JSON line, and the file's size against what the header implies.
export_check() {
    CK=$1 BIN=$2 WANT=$3
    run "$RLVR" export --llama2c "$CK" "$BIN"; expect_rc 0
    expect_file "$BIN"; expect_file "${BIN%.bin}.tokenizer.bin"
    [ "$(wc -l <"$OUT")" -eq 1 ] || fail "export printed $(wc -l <"$OUT") lines, expected one JSON line"
    # shellcheck disable=SC2046
    set -- $(od -An -t d4 -N 28 "$BIN")
    [ $# -eq 7 ] || fail "could not read 7 header ints from $BIN"
    DIM=$1 HID=$2 NL=$3 NH=$4 NKV=$5 VOC=$6 SEQ=$7
    [ "$DIM $HID $NL $NH $VOC $SEQ" = "$WANT" ] ||
        fail "llama2.c header (dim hidden_dim n_layers n_heads vocab_size seq_len) is '$DIM $HID $NL $NH $VOC $SEQ', expected '$WANT'"
    [ "$NKV" = "$NH" ] || fail "n_kv_heads $NKV differs from n_heads $NH (rlvr has no grouped-query attention)"
    # shellcheck disable=SC2086
    for kv in "d_model $DIM" "mlp_hidden $HID" "n_layer $NL" "n_head $NH" "vocab $VOC" "max_seq $SEQ"; do
        set -- $kv
        [ "$(hdr_int "$1" "$CK")" = "$2" ] || fail "llama2.c header has $1 $2, the checkpoint $(hdr_int "$1" "$CK")"
    done
    # shellcheck disable=SC2086
    for kv in "dim $DIM" "hidden_dim $HID" "n_layers $NL" "n_heads $NH" "n_kv_heads $NKV" "vocab_size $VOC" "seq_len $SEQ"; do
        set -- $kv
        [ "$(json_num "$1" "$OUT")" = "$2" ] || fail "export's JSON says $1 '$(json_num "$1" "$OUT")', the file's header $2"
    done
    # 7 header ints; token embedding; per layer 2 norms, wq wk wv wo, w1 w2 w3; final norm;
    # the RoPE cos and sin tables, seq_len x head_size/2 each.
    HS=$((DIM / NH))
    EXPECT=$((28 + 4 * (VOC * DIM + NL * (2 * DIM + 4 * DIM * DIM + 3 * DIM * HID) + DIM + 2 * SEQ * (HS / 2))))
    SIZE=$(wc -c <"$BIN")
    [ "$SIZE" -eq "$EXPECT" ] || fail "$BIN is $SIZE bytes, expected $EXPECT from its header"
}

# The small preset at context 64: every header field differs (256 704 6 8 V 64; V is
# 259 here, digits being never merged), so a field written in the wrong place shows.
check "export --llama2c of a small-preset checkpoint: header matches the checkpoint, size matches the header"
printf '%s\n' '{"prompt":"1+1=","completion":"2"}' '{"prompt":"2+2=","completion":"4"}' \
    '{"prompt":"3+3=","completion":"6"}' >"$TMP/digits.jsonl"
run "$RLVR" sft --data "$TMP/digits.jsonl" --out "$TMP/sft_small" --preset small --steps 1 --batch 2 --context 64
expect_rc 0
V=$(hdr_int vocab "$TMP/sft_small/final.ckpt")
[ -n "$V" ] && [ "$V" -ge 259 ] || fail "no vocab in the checkpoint's header"
export_check "$TMP/sft_small/final.ckpt" "$TMP/small.bin" "256 704 6 8 $V 64"

if [ "$HAVE_GSM8K" -eq 1 ]; then
    # The tiny preset, sft's default vocabulary (1024) and context (1024).
    check "export --llama2c of the GSM8K sft checkpoint: header and size"
    export_check "$F" "$TMP/model.bin" "128 384 4 4 1024 1024"
else
    skip "no GSM8K data at $DATA: exporting a trained checkpoint"
fi

echo "cli_policy.sh: all checks passed"

#!/bin/sh
# cli_runs.sh: `rlvr runs` (list, show, compare, plot, report) on the run records that
# `rlvr train` commits to <runs-dir>/records.git: two tiny runs (different seeds and lr),
# a run killed with SIGKILL (shown as interrupted), and the errors: a missing runs folder
# (a clear error, nothing created), a corrupted records.git (an error, files untouched),
# an unknown run, usage errors; --help everywhere.
#
# When `rlvr train` does not write records.git, the record-based checks are skipped
# (exit 0 with "skip:" lines).
#
# usage: tests/cli_runs.sh [path/to/rlvr]     (default ./rlvr; run from the repository root)

RLVR=${1:-./rlvr}
LC_ALL=C
export LC_ALL
. "$(dirname "$0")/cli_lib.sh"
cli_setup cli-runs
unset RLVR_RUNS_DIR
case $RLVR in /*) ;; *) RLVR=$(pwd)/$RLVR ;; esac   # one check runs in another folder

RUNS=$TMP/runs
BG=""
CLEANUP='for p in $BG; do kill -KILL $p 2>/dev/null; done'

# The curriculum: "What is a + b?", a tiny policy, 20 SFT steps, at most 10 RL steps.
cp "$(dirname "$0")/curricula/tiny_add.lua" "$TMP/t.lua" || exit 1
# A long SFT stage, for the run that gets killed.
sed 's/steps = 20, batch_size = 16/steps = 2000, batch_size = 16/' "$TMP/t.lua" >"$TMP/long.lua"
echo '{"lr": 0.0005}' >"$TMP/lr.json"

# A listing of every file under a folder with its checksum (to see that nothing changed).
tree_sum() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs cksum); }

# ---------------------------------------------------------------- without records
check "--help of runs and of each subcommand exits 0 with usage"
for sub in "" list show compare plot report; do
    run "$RLVR" runs $sub --help
    expect_rc 0
    expect_out "usage: rlvr runs"
done

check "usage errors exit 2 with one line"
for args in "" "frob" "list --bogus" "show" "compare onlyone" "plot a" "plot a -o" "report" \
            "plot a -o $TMP/x.svg --smooth 1.5" "plot a -o $TMP/x.svg --smooth abc" "list extra"; do
    run "$RLVR" runs $args
    expect_rc 2
    expect_one_err_line
done
[ -e "$TMP/x.svg" ] && fail "a usage error wrote the plot"

check "a missing runs folder is a clear one-line error and creates nothing"
for args in "list" "show a" "compare a b" "plot a -o $TMP/none.svg" "report -o $TMP/none-report"; do
    run "$RLVR" runs $args --runs-dir "$TMP/nothing"
    expect_rc 1
    expect_one_err_line
    expect_err "no run records at $TMP/nothing/records.git (train a run first)"
done
[ -e "$TMP/nothing" ] && fail "runs created the missing runs folder"
[ -e "$TMP/none.svg" ] || [ -e "$TMP/none-report" ] && fail "runs wrote output without records"

check "the runs folder defaults to \$RLVR_RUNS_DIR, else ./runs"
(cd "$TMP" && "$RLVR" runs list >"$OUT" 2>"$ERR"); RC=$?
expect_rc 1
expect_err "no run records at runs/records.git"
RLVR_RUNS_DIR=$TMP/elsewhere run "$RLVR" runs list
expect_rc 1
expect_err "no run records at $TMP/elsewhere/records.git"

# ---------------------------------------------------------------- two runs
run "$RLVR" train "$TMP/t.lua" --seed 1 --threads 1 --runs-dir "$RUNS" --run-id alpha
expect_rc 0
run "$RLVR" train "$TMP/t.lua" --seed 2 --threads 1 --runs-dir "$RUNS" --run-id beta --config "$TMP/lr.json"
expect_rc 0
if [ ! -d "$RUNS/records.git" ]; then
    skip "rlvr train wrote no $RUNS/records.git: the record-based checks (list, show, compare, plot,"
    skip "report, interrupted runs, corrupted records) need a trainer that commits run records"
    echo "cli_runs: the checks without records passed; record-based checks SKIPPED"
    exit 0
fi

check "list: both runs, finished, 30 steps, one header line"
run "$RLVR" runs list --runs-dir "$RUNS"
expect_rc 0
expect_lines 3
expect_line 1 "^RUN  *STARTED  *CURRICULUM  *STATUS  *STAGE  *STEPS"
expect_line 2 "^alpha  *20[0-9-]*T[0-9:]*Z  *tiny-add  *finished  .* 30  "
expect_line 3 "^beta  *20[0-9-]*T[0-9:]*Z  *tiny-add  *finished  .* 30  "
RLVR_RUNS_DIR=$RUNS run "$RLVR" runs list
expect_rc 0
expect_lines 3

check "show: the config, the summary, two charts and the history"
run "$RLVR" runs show beta --runs-dir "$RUNS" --ascii
expect_rc 0
expect_out "^run beta"
expect_out "^config"
expect_out "seed: 2"
expect_out "stage 0 warm (sft): steps=20 lr=0.0005"
expect_out "stage 1 rl (rl):.*kl_beta=0.02"
expect_out "^summary"
expect_out "status  *finished"
expect_out "steps  *30"
expect_out "reward by step"
expect_out "held-out pass@1 by step"
[ "$(grep -c -- '-----------' "$OUT")" -ge 2 ] || fail "show printed fewer than two charts"
expect_out "^history"
expect_out "step 30 .*finished"
run "$RLVR" runs show alpha --runs-dir "$RUNS"
expect_rc 0
grep -q "$(printf '\342\224\244')" "$OUT" || fail "the default chart has no Unicode axis"

check "show of an unknown run is a clear error"
run "$RLVR" runs show nosuch --runs-dir "$RUNS"
expect_rc 1
expect_one_err_line
expect_err "no run 'nosuch'"

check "compare: the seed and lr differences, and a metrics table at the common evaluations"
run "$RLVR" runs compare alpha beta --runs-dir "$RUNS"
expect_rc 0
expect_out "^  seed  *1  *2$"
expect_out "^  settings.stages\[0\].lr  *0.001  *0.0005$"
expect_out "^  settings.stages\[1\].lr  *0.0001  *0.0005$"
expect_out "^  cli_config.lr  *-  *0.0005$"
grep -q "preset" "$OUT" && fail "compare lists a setting that does not differ"
expect_out "every run evaluated"
expect_out "STEP  *alpha pass@1  *alpha reward  *beta pass@1  *beta reward"
expect_out "^  *30  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9.]*$"
run "$RLVR" runs compare alpha nosuch --runs-dir "$RUNS"
expect_rc 1
expect_one_err_line

check "plot: one well-formed SVG with four charts and both runs in the legends"
run "$RLVR" runs plot alpha beta -o "$TMP/p.svg" --runs-dir "$RUNS"
expect_rc 0
[ -s "$TMP/p.svg" ] || fail "no $TMP/p.svg"
[ "$(grep -c '<svg x=' "$TMP/p.svg")" -eq 4 ] || fail "the SVG does not hold 4 charts"
for t in "reward (mean per step)" "pass@1 (fraction)" "KL (nats/token)" ">tokens<"; do
    grep -q -- "$t" "$TMP/p.svg" || fail "the SVG lacks the label '$t'"
done
if command -v python3 >/dev/null 2>&1; then
    python3 - "$TMP/p.svg" <<'PY' >"$OUT" 2>"$ERR" || fail "the SVG is not well-formed or incomplete"
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
svgs = d.getElementsByTagName("svg")
assert len(svgs) == 5, len(svgs)
inner = [s for s in svgs if s.parentNode is d.documentElement]
assert len(inner) == 4, len(inner)
for s in inner:
    texts = [t.firstChild.data for t in s.getElementsByTagName("text") if t.firstChild]
    assert "alpha" in texts and "beta" in texts, texts
    assert s.getElementsByTagName("path"), "no path"
PY
else
    skip "python3 is not installed: the SVG's well-formedness is not checked"
fi
run "$RLVR" runs plot alpha -o "$TMP/p1.svg" --smooth 0 --runs-dir "$RUNS"
expect_rc 0
grep -q 'class="raw"' "$TMP/p1.svg" && fail "--smooth 0 still drew a raw curve behind a smoothed one"

check "report: DIR/index.html with both runs and four charts"
run "$RLVR" runs report -o "$TMP/report" --runs-dir "$RUNS"
expect_rc 0
expect_out "^$TMP/report/index.html$"
for id in alpha beta; do grep -q "$id" "$TMP/report/index.html" || fail "the report lacks $id"; done
[ "$(grep -o '<svg' "$TMP/report/index.html" | wc -l)" -eq 4 ] || fail "the report does not hold 4 <svg>"
sh "$(dirname "$0")/report_browser.sh" "$TMP/report/index.html" >"$OUT" 2>"$ERR"; RC=$?
if [ "$RC" -eq 77 ]; then skip "chromium is not installed: the report is not loaded in a browser"
else expect_rc 0; fi

# ---------------------------------------------------------------- a killed run
check "a run killed with SIGKILL is listed as interrupted"
"$RLVR" train "$TMP/long.lua" --seed 1 --threads 1 --runs-dir "$RUNS" --run-id killed >/dev/null 2>&1 &
KP=$!
BG="$BG $KP"
seen=0
i=0
while [ $i -lt 300 ]; do
    "$RLVR" runs list --runs-dir "$RUNS" 2>/dev/null | grep -q "^killed .* running " && { seen=1; break; }
    kill -0 $KP 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
kill -KILL $KP 2>/dev/null
wait $KP 2>/dev/null
if [ $seen -eq 1 ]; then
    run "$RLVR" runs list --runs-dir "$RUNS"
    expect_rc 0
    expect_out "^killed .* interrupted "
    run "$RLVR" runs show killed --runs-dir "$RUNS"
    expect_rc 0
    expect_out "status  *interrupted (the record says running"
else
    skip "the run was never seen running in the records before it ended"
fi

# ---------------------------------------------------------------- corrupted records
check "a corrupted records.git (truncated HEAD) is an error and stays untouched"
mkdir -p "$TMP/bad"
cp -R "$RUNS/records.git" "$TMP/bad/records.git"
: >"$TMP/bad/records.git/HEAD"
tree_sum "$TMP/bad" >"$TMP/before"
for args in "list" "show alpha" "compare alpha beta" "plot alpha -o $TMP/bad.svg" "report -o $TMP/bad-report"; do
    run "$RLVR" runs $args --runs-dir "$TMP/bad"
    expect_rc 1
    expect_one_err_line
    expect_err "records.git"
done
tree_sum "$TMP/bad" >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" || fail "the corrupted records.git was changed"
[ -e "$TMP/bad.svg" ] || [ -e "$TMP/bad-report" ] && fail "runs wrote output from corrupted records"

echo "cli_runs: all checks passed (record-based checks ran)"

#!/bin/sh
# attacks.sh: hostile programs against ccrun and the sandbox. Feeds tests/attacks/attacks.jsonl
# through `rlvr verify --verifier ccrun`, checks each verdict's status against the line's
# "expect_status" (alternatives separated by '|'), then checks the host is unchanged: the
# canary file intact, nothing written in /tmp/rlvr-attack but the canary, no connection
# on the loopback port the script listens on, every sandbox directory removed, and no
# process left over (the `ps` list before and after).
#
# The whole suite runs inside `unshare --pid --fork --mount-proc` under `prlimit` limits,
# never bare: a sandbox bug may kill or exhaust that namespace, not the machine, and every
# process still in it dies when the script ends.
#
# usage: tests/attacks.sh [path/to/rlvr]     (default ./rlvr; root, or unprivileged user
#        namespaces, for unshare). Exits 1 on the first broken host check, or after listing
#        every attack whose status was not expected. RLVR_ATTACKS_FILE=FILE runs the
#        attacks of FILE instead (e.g. a few lines of the list).

RLVR=${1:-./rlvr}
[ -x "$RLVR" ] || { echo "attacks.sh: $RLVR is not an executable (build it first)" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
ATTACKS=${RLVR_ATTACKS_FILE:-$HERE/attacks/attacks.jsonl}   # RLVR_ATTACKS_FILE: run another list
[ -r "$ATTACKS" ] || { echo "attacks.sh: cannot read $ATTACKS" >&2; exit 1; }

if [ "${RLVR_ATTACKS_INNER:-}" != 1 ]; then
    RLVR_ABS=$(cd "$(dirname "$RLVR")" && pwd)/$(basename "$RLVR")
    # As root: no user namespace of our own, so the sandbox takes the path it takes in
    # production (root mapped to nobody inside its own namespace). Real root is exempt
    # from RLIMIT_NPROC, so a fork bomb that got past the sandbox is bounded by the PID
    # namespace (all of it dies with the script) and the 15-minute timeout, not by
    # --nproc. Not root: a user namespace mapping our own uid, where --nproc counts.
    # 8 GB of address space per process, 10 CPU minutes, 1 GB files, 1024 processes,
    # 4096 open files, 15 minutes of wall clock for everything.
    USERNS=
    [ "$(id -u)" -eq 0 ] || USERNS=--map-current-user
    RLVR_ATTACKS_INNER=1 exec timeout -s KILL 900 \
        prlimit --as=8589934592 --cpu=600 --fsize=1073741824 --nproc=1024 --nofile=4096 \
        unshare $USERNS --pid --fork --mount-proc sh "$HERE/attacks.sh" "$RLVR_ABS"
fi

LC_ALL=C
export LC_ALL
A=/tmp/rlvr-attack           # the paths the attacks aim at (fixed in attacks.jsonl)
# Those paths are fixed, so two suites at once (two checkouts testing) would trample each
# other's canary: take turns, waiting at most 10 minutes.
exec 9>/tmp/rlvr-attack.lock
flock -w 600 9 || { echo "attacks.sh: another attack suite holds /tmp/rlvr-attack.lock" >&2; exit 1; }
PORT=47613                   # the loopback port they try to reach
WORK=$(mktemp -d /tmp/rlvr-attacks-XXXXXX) || exit 1
LISTENER=
cleanup() {
    [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
    rm -rf "$WORK" "$A"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { echo "check: $*"; }

# The snapshot is taken before the filters are forked: in a pipeline, ps could list its
# siblings still named sh, not yet grep or sort.
procs() { ps -e -o comm= >"$WORK/ps"; grep -v -x -e ps -e sort -e grep "$WORK/ps" | sort; }

rm -rf "$A"
mkdir -p "$A" "$WORK/tmp"
# the sandbox runs programs as an unprivileged uid: it must be able to reach its dirs
chmod 711 "$WORK" "$WORK/tmp"
chmod 755 "$A"
echo "canary $(date +%s) $$" >"$A/canary"
chmod 644 "$A/canary"
CANARY=$(cksum <"$A/canary")

# A listener on the loopback port: any connection is written to $WORK/connections.
if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, a = s.accept()
    open(sys.argv[2], "a").write("connection from %s\n" % (a,)); c.close()
' "$PORT" "$WORK/connections" &
    LISTENER=$!
    sleep 0.5
else
    echo "skip: no python3, the loopback port has no listener (the connect attack still runs)"
fi
: >"$WORK/connections"
BEFORE=$(procs)

check "rlvr verify --verifier ccrun on $(wc -l <"$ATTACKS") attacks (sandbox: see stderr)"
TMPDIR=$WORK/tmp "$RLVR" verify --verifier ccrun --jobs 2 <"$ATTACKS" >"$WORK/out" 2>"$WORK/err"
RC=$?
sleep 5    # a daemon that outlived its parent would act now
[ "$RC" -eq 0 ] || { cat "$WORK/err" >&2; fail "rlvr verify exited with $RC"; }

bad=0
n=0
while IFS= read -r line; do
    n=$((n + 1))
    want=$(printf '%s\n' "$line" | sed -n 's/^{"expect_status":"\([^"]*\)".*/\1/p')
    id=$(printf '%s\n' "$line" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
    verdict=$(sed -n "${n}p" "$WORK/out")
    got=$(printf '%s\n' "$verdict" | sed -n 's/^{"line":[0-9]*,"id":"[^"]*","reward":[^,]*,"status":"\([^"]*\)".*/\1/p')
    case "|$want|" in
        *"|$got|"*) printf '  ok    %-24s %s\n' "$id" "$got" ;;
        *) printf '  WRONG %-24s %s (expected %s)\n      %s\n' "$id" "${got:-no verdict}" "$want" \
               "$(printf '%s' "$verdict" | cut -c 1-600)"
           bad=$((bad + 1)) ;;
    esac
done <"$ATTACKS"

check "the canary file is intact"
[ "$(cksum <"$A/canary" 2>/dev/null)" = "$CANARY" ] || fail "the canary file changed"
check "nothing was written next to it"
extra=$(ls -A "$A" | grep -v -x canary)
[ -z "$extra" ] || fail "files appeared in $A: $extra"
check "no connection reached the loopback listener"
[ -s "$WORK/connections" ] && fail "$(cat "$WORK/connections")"
if [ -n "$LISTENER" ]; then kill -0 "$LISTENER" 2>/dev/null || fail "the listener was killed"; fi
check "every sandbox directory was removed"
left=$(ls -A "$WORK/tmp")
[ -z "$left" ] || fail "left in TMPDIR: $left"
check "no process was left behind"
AFTER=$(procs)
[ "$BEFORE" = "$AFTER" ] || fail "processes before: $(echo $BEFORE); after: $(echo $AFTER)"

# The harness itself killed while a program waits forever: the program and the sandbox's
# init must go with it (they hold SIGKILL as their parent-death signal), not live on.
check "a harness killed mid-run (SIGKILL) leaves no sandbox process running"
mkdir -p "$WORK/tmp2" && chmod 711 "$WORK/tmp2"
printf '%s\n' '{"id":"pause","prompt":"Wait.","compiler":"tcc","time_limit":60,"tests":[{"stdin":"","stdout":"1"}],"completion":"#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"}' >"$WORK/pause.jsonl"
running() { ps -e -o stat=,comm= >"$WORK/ps2"; grep -v '^Z' "$WORK/ps2" | sed 's/^[^ ]* *//' | grep -c -x -e prog -e tcc; }
TMPDIR=$WORK/tmp2 "$RLVR" verify --verifier ccrun <"$WORK/pause.jsonl" >/dev/null 2>&1 &
HARNESS=$!
i=0
while [ "$(running)" -eq 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(running)" -gt 0 ] || fail "the pausing program never started"
kill -9 "$HARNESS"
wait "$HARNESS" 2>/dev/null
i=0
while [ "$(running)" -gt 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(running)" -eq 0 ] || fail "after the harness died: $(grep -v '^Z' "$WORK/ps2" | tr '\n' ' ')"

sed -n 's/^rlvr verify: /  /p' "$WORK/err"
[ "$bad" -eq 0 ] || fail "$bad of $n attacks got an unexpected status"
echo "attacks.sh: all $n attacks contained, host unchanged"

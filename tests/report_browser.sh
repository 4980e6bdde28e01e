#!/bin/sh
# report_browser.sh [PAGE.html]: load a report page (engine/report.h) in headless Chromium
# and check that
#   - the browser logs no console message at all (the page has no JavaScript, so any
#     message, console.error or an uncaught exception, is a fault),
#   - the page uses no external resource (no src=/href=, no url(http...)),
#   - the DOM has an <svg> holding a <path> or <polyline>,
#   - a 1280x2000 screenshot is a real PNG of that size, larger than 20 KB and not blank
#     (at least 16 distinct pixel values).
# Without PAGE it writes the synthetic two-run report with `build/tests/test_plot
# --write-report DIR` (TEST_PLOT=path overrides). A canary page with a deliberate
# console.error runs first: if the log does not show it, the console check could not
# fail and the script fails. REPORT_SHOT=FILE keeps the screenshot.
# Exit 0 when all pass, 1 on a failure, 77 (skip) without chromium.
set -u
cd "$(dirname "$0")/.." || exit 1

CHROME=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then CHROME=$c; break; fi
done
if [ -z "$CHROME" ]; then
    echo "report_browser: SKIP: chromium is not installed (apt-get install chromium)"
    exit 77
fi

WORK=$(mktemp -d /tmp/report_browser.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM
fail() { echo "report_browser: FAIL: $*" >&2; exit 1; }

if [ $# -ge 1 ]; then
    PAGE=$1
    [ -f "$PAGE" ] || fail "$PAGE: no such file"
else
    TEST_PLOT=${TEST_PLOT:-build/tests/test_plot}
    [ -x "$TEST_PLOT" ] || fail "$TEST_PLOT not built (make $TEST_PLOT), or give a page"
    timeout 60 "$TEST_PLOT" --write-report "$WORK/report" >/dev/null || fail "$TEST_PLOT --write-report failed"
    PAGE=$WORK/report/index.html
fi
PAGE=$(realpath "$PAGE")
SHOT=${REPORT_SHOT:-$WORK/shot.png}
rm -f "$SHOT"

# One run: the DOM after scripts and a 2 s virtual-time budget on stdout, the log
# (console messages as `INFO:CONSOLE:<line>] "message", source: URL (line)`) on stderr.
# --no-sandbox: CI runs as root; a private profile keeps ~/.config out of it.
run_chrome() {   # url dom log [screenshot]
    set -- "$1" "$2" "$3" "${4:-}"
    shot_flag=""
    [ -n "$4" ] && shot_flag="--screenshot=$4"
    timeout 60 "$CHROME" --headless --disable-gpu --no-sandbox --disable-dev-shm-usage \
        --user-data-dir="$WORK/profile" --no-first-run --enable-logging=stderr --v=0 \
        --virtual-time-budget=2000 --window-size=1280,2000 $shot_flag --dump-dom "$1" \
        >"$2" 2>"$3"
}

# The canary: the console check must be able to fail.
cat >"$WORK/canary.html" <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>canary</title></head>
<body><p>canary</p><script>console.error("report_browser canary"); undefinedCanary();</script></body></html>
EOF
t0=$(date +%s.%N)
run_chrome "file://$WORK/canary.html" "$WORK/canary.dom" "$WORK/canary.log" || fail "chromium failed on the canary page (exit $?): $(tail -3 "$WORK/canary.log")"
grep -q 'CONSOLE.*report_browser canary' "$WORK/canary.log" &&
    grep -q 'CONSOLE.*Uncaught ReferenceError' "$WORK/canary.log" ||
    fail "the canary's console error is not in chromium's log: this check cannot see console errors here"

# The page.
t1=$(date +%s.%N)
run_chrome "file://$PAGE" "$WORK/page.dom" "$WORK/page.log" "$SHOT"
rc=$?
t2=$(date +%s.%N)
[ $rc -eq 124 ] && fail "chromium timed out (60 s) on $PAGE"
[ $rc -eq 0 ] || fail "chromium exited $rc on $PAGE: $(grep -v dbus "$WORK/page.log" | tail -3)"
echo "report_browser: chromium took $(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}') s (canary), $(echo "$t2 $t1" | awk '{printf "%.2f", $1 - $2}') s (page)"

if grep -q 'CONSOLE' "$WORK/page.log"; then
    grep 'CONSOLE' "$WORK/page.log" >&2
    fail "console messages on $PAGE"
fi
grep -q 'Uncaught' "$WORK/page.log" && fail "an uncaught exception on $PAGE: $(grep Uncaught "$WORK/page.log" | head -3)"

DOM=$WORK/page.dom
[ -s "$DOM" ] || fail "empty DOM for $PAGE"
grep -qi '<svg' "$DOM" || fail "no <svg> in the DOM of $PAGE"
grep -qiE '<(path|polyline)[ >]' "$DOM" || fail "no <path> or <polyline> in the DOM of $PAGE"
if grep -qiE '(src|href)=' "$DOM"; then fail "the page loads a resource: $(grep -oiE '(src|href)="[^"]*"' "$DOM" | head -3)"; fi
if grep -qiE 'url\( *["'"'"']?(https?:)?//' "$DOM"; then fail "the page's CSS loads a network resource"; fi
echo "report_browser: DOM: $(grep -oi '<svg' "$DOM" | wc -l) <svg>, $(grep -oiE '<(path|polyline)[ >]' "$DOM" | wc -l) <path>/<polyline>, no console messages"

[ -f "$SHOT" ] || fail "no screenshot written ($(grep -v dbus "$WORK/page.log" | tail -2))"
size=$(wc -c <"$SHOT")
[ "$size" -gt 20000 ] || fail "screenshot is only $size bytes: blank?"
if command -v python3 >/dev/null 2>&1; then
    # Decode the PNG with the standard library (zlib + struct): size, and distinct pixel
    # values (stops at 64; a blank page has 1).
    python3 - "$SHOT" <<'EOF' || fail "screenshot check failed"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, ihdr = 8, [], None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT": idat.append(body)
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
if (w, h) != (1280, 2000):
    sys.exit("screenshot is %dx%d, want 1280x2000" % (w, h))
if depth != 8 or ctype not in (2, 6) or interlace:
    print("report_browser: PNG colour type %d depth %d: size check only" % (ctype, depth)); sys.exit(0)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(b"".join(idat))
stride = w * bpp
prev = bytearray(stride)
seen = set()
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for i in range(stride): line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for i in range(0, stride, bpp): seen.add(bytes(line[i:i + bpp]))
    prev = line
    if len(seen) >= 64: break
if len(seen) < 16:
    sys.exit("screenshot has only %d distinct pixel values: blank?" % len(seen))
print("report_browser: screenshot %dx%d, %s distinct pixel values" % (w, h, ">= 64" if len(seen) >= 64 else len(seen)))
EOF
else
    echo "report_browser: no python3: checked the screenshot's size only"
fi
echo "report_browser: PASS ($PAGE, screenshot $size bytes)"
exit 0

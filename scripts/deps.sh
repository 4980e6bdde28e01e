#!/bin/sh
# Install the Debian packages rlvr needs to build and test, only those missing.
# Run by `make deps` (and so by `make`, `make test`, `make demo`).
set -e
PKGS="gcc make pkg-config liblua5.4-dev libgit2-dev libopenblas-dev libopenblas-openmp-dev
      libopenblas0-openmp libcjson-dev libseccomp-dev libcmocka-dev zlib1g-dev libgmp-dev tcc chromium
      libopenmpi-dev openmpi-bin"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2

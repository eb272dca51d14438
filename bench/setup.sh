#!/bin/sh
# bench/setup.sh: install the external peers the benchmark compares against (restic).
# Idempotent: does nothing when every peer is already on PATH. Needs root (apt-get);
# uses sudo when run as another user. Debian/Ubuntu only.
set -eu

if command -v restic >/dev/null 2>&1; then
  echo "bench/setup.sh: restic already installed: $(restic version)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench/setup.sh: apt-get not found; install restic (>= 0.14) by hand: https://restic.readthedocs.io/en/stable/020_installation.html" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y restic
echo "bench/setup.sh: installed $(restic version)"

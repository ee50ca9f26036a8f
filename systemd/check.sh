#!/usr/bin/env bash
# `make check` part: the unit must verify cleanly and have an exposure of 2.0 or lower.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd-analyze not found: skipping the systemd unit checks"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify needs ExecStart to exist: point it at this checkout's virtualenv
sed "s#/opt/paperwatch/venv/bin/paperwatch#$(realpath .venv/bin/paperwatch)#" \
    systemd/paperwatch.service > "$tmp/paperwatch.service"
out=$(systemd-analyze verify "$tmp/paperwatch.service" 2>&1 || true)
if [[ -n $out ]]; then
    echo "systemd-analyze verify:"; echo "$out"; exit 1
fi
exposure=$(systemd-analyze security --offline=true "$tmp/paperwatch.service" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "systemd unit: verify clean, exposure $exposure (limit 2.0)"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }'

#!/usr/bin/env bash
# Installs paperwatch as a systemd service: `sudo make install-service` runs this.
#
#   $PREFIX/venv        a production virtualenv (no dev tools) on the system's Python,
#                       which the service's DynamicUser can read (not one under /root
#                       or a home directory, as pyenv's or a user's virtualenv would be)
#   $CONFDIR/config.toml  the default configuration, state_dir = $STATEDIR (never
#                       overwritten: edit it, then `systemctl reload paperwatch`)
#   $CONFDIR/credentials/ one root-only file per secret (LoadCredential=)
#   $UNITDIR/paperwatch.service, checked with `systemd-analyze verify`
#
# The state directory itself is made by systemd (StateDirectory=); the inbox is
# $STATEDIR/inbox. With START=no (or without systemd as PID 1) nothing is started.
# The test suite installs into a staging root this way (tests/test_install.py).
set -euo pipefail
umask 022
SRC=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
PREFIX=${PREFIX:-/opt/paperwatch}
CONFDIR=${CONFDIR:-/etc/paperwatch}
STATEDIR=${STATEDIR:-/var/lib/paperwatch}
UNITDIR=${UNITDIR:-/etc/systemd/system}
START=${START:-yes}

say() { echo "install-service: $*"; }

base=$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.base_prefix))')
case "$base/" in
/root/* | /home/*)
    say "$PYTHON lives in $base, which the service user cannot read;"
    say "use the system's Python: PYTHON=/usr/bin/python3 (apt install python3-venv)"
    exit 1
    ;;
esac

venv=$PREFIX/venv
if [[ ! -x $venv/bin/python ]] || [[ $("$venv/bin/python" -c 'import sys; print(sys.base_prefix)') != "$base" ]]; then
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
# the runtime dependencies (similar watchlists included) at the versions and hashes of
# requirements.lock (`make lock` refreshes it), then the package alone, copied (not linked
# to this checkout)
"$venv/bin/python" -m pip install --quiet --no-warn-script-location --require-hashes \
    -r "$SRC/requirements.lock"
"$venv/bin/python" -m pip install --quiet --no-warn-script-location --no-deps "$SRC"
say "virtualenv $venv ($("$venv/bin/paperwatch" --version 2>&1 || true))"

install -d -m 755 "$CONFDIR"
install -d -m 700 "$CONFDIR/credentials"
if [[ ! -e $CONFDIR/config.toml ]]; then
    sed "s#^state_dir = .*#state_dir = \"$STATEDIR\"#" "$SRC/config.toml" > "$CONFDIR/config.toml"
    chmod 644 "$CONFDIR/config.toml"
    say "wrote $CONFDIR/config.toml (state and inbox in $STATEDIR)"
else
    say "kept $CONFDIR/config.toml"
fi

install -d -m 755 "$UNITDIR"
sed -e "s#/opt/paperwatch/venv/bin/paperwatch#$venv/bin/paperwatch#" \
    -e "s#/etc/paperwatch/#$CONFDIR/#g" \
    -e "s#/var/lib/paperwatch#$STATEDIR#g" \
    "$SRC/systemd/paperwatch.service" > "$UNITDIR/paperwatch.service"
chmod 644 "$UNITDIR/paperwatch.service"
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify "$UNITDIR/paperwatch.service" 2>&1 || true)
    if [[ -n $out ]]; then
        say "systemd-analyze verify $UNITDIR/paperwatch.service:"; echo "$out"; exit 1
    fi
    say "unit $UNITDIR/paperwatch.service (systemd-analyze verify: clean)"
fi

if [[ $START == yes && -d /run/systemd/system ]]; then
    systemctl daemon-reload
    systemctl enable --now paperwatch
    say "started: journalctl -u paperwatch -f"
else
    say "not started (START=$START; systemd running: $([[ -d /run/systemd/system ]] && echo yes || echo no))"
fi

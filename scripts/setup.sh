#!/usr/bin/env bash
# Set up everything onecloud needs on this machine: the virtualenv with pinned dependencies,
# the lab's Debian packages (when root) and the Pulumi toolchain built from Go modules.
# Idempotent and quick when nothing changed. Honours PIP_INDEX_URL / PIP_EXTRA_INDEX_URL,
# GOPROXY / GOFLAGS / GONOSUMDB and APT's own sources (docs/devel/toolchain.md).
#
#   scripts/setup.sh            venv + lab packages + toolchain
#   scripts/setup.sh --no-lab   venv + toolchain only
set -euo pipefail
cd "$(dirname "$0")/.."

lab=1
[ "${1:-}" = "--no-lab" ] && lab=0
PYTHON=${PYTHON:-python3}
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    echo "setup: onecloud needs Python 3.11 (found: $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 2
fi

stamp=.venv/.onecloud-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    step "virtualenv .venv (pinned dependencies from pyproject.toml)"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    echo "$want" > "$stamp"
else
    step "virtualenv .venv is up to date"
fi

if [ "$lab" = 1 ]; then
    if [ "$(id -u)" = 0 ]; then
        step "Debian packages of the lab"
        sh scripts/lab-packages.sh
        step "Debian's Chromium (the dashboard's browser test)"
        sh scripts/browser-packages.sh
    else
        echo "setup: not root: skipping the lab's Debian packages (the lab needs root)" >&2
    fi
fi

step "Pulumi toolchain"
.venv/bin/onecloud toolchain build

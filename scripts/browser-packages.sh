#!/bin/sh
# Install the browser the dashboard test (tests/integration/test_dashboard.py) and the report
# benchmark load the HTML report in: Debian's `chromium`, driven by Playwright for Python
# through `executable_path=/usr/bin/chromium` (Playwright's own browser downloads are never
# used: `playwright install` is not run).
#
# Idempotent and quiet: nothing happens when chromium is installed already; otherwise
# `apt-get update` runs once and `apt-get install` fetches only what is missing. Prints how
# long it took.
#
# Usage: scripts/browser-packages.sh            (as root)
#        scripts/browser-packages.sh --list     print the package names and exit
set -eu

# fonts-wqy-microhei: a CJK font, so department and system names (Chinese) render in the
# screenshot instead of empty boxes
PACKAGES="chromium fonts-wqy-microhei"

if [ "${1:-}" = "--list" ]; then
    echo "$PACKAGES" | tr ' ' '\n'
    exit 0
fi

start=$(date +%s)
missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "browser-packages: already installed: $PACKAGES ($(/usr/bin/chromium --version 2>/dev/null || echo "?"))"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "browser-packages: must run as root to install:$missing" >&2
    exit 1
fi

echo "browser-packages: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || apt-get update -qq
log=$(mktemp)
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y -qq --no-install-recommends $missing >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
echo "browser-packages: installed$missing in $(( $(date +%s) - start )) s ($(/usr/bin/chromium --version 2>/dev/null || echo "?"))"

#!/usr/bin/env bash
# The test command (README, `make test`, .ci/run): set up, bring the lab up, run every test
# (unit and integration), take the lab down again, and exit with the tests' status.
# The lab must come up: integration tests never skip silently.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh

printf '\033[1m==> lint (ruff check, ruff format --check)\033[0m\n'
.venv/bin/ruff check -q src tests benchmarks policy
.venv/bin/ruff format --check -q src tests benchmarks policy

mkdir -p reports
lab_was_up=0
.venv/bin/onecloud lab status >/dev/null 2>&1 && lab_was_up=1
cleanup() {
    if [ "$lab_was_up" = 0 ] && [ "${ONECLOUD_KEEP_LAB:-0}" != 1 ]; then
        printf '\033[1m==> lab down\033[0m\n'
        .venv/bin/onecloud lab down || true
    fi
}
trap cleanup EXIT

printf '\033[1m==> lab up\033[0m\n'
.venv/bin/onecloud lab up

printf '\033[1m==> tests (unit and integration)\033[0m\n'
set +e
.venv/bin/pytest -p no:cacheprovider --junitxml=reports/junit.xml "$@"
rc=$?
set -e
echo "test command finished in $(( $(date +%s) - start )) s (pytest exit $rc)"
exit $rc

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
pg_started=0
cleanup() {
    if [ "$pg_started" = 1 ]; then
        printf '\033[1m==> PostgreSQL test server down\033[0m\n'
        scripts/pg-test-server.sh stop || true
    fi
    if [ "$lab_was_up" = 0 ] && [ "${ONECLOUD_KEEP_LAB:-0}" != 1 ]; then
        printf '\033[1m==> lab down\033[0m\n'
        .venv/bin/onecloud lab down || true
    fi
}
trap cleanup EXIT

# the ledger's PostgreSQL tests (tests/integration/test_ledger_pg.py) run against a real
# server: the throwaway cluster of scripts/pg-test-server.sh, unless ONECLOUD_TEST_PG_URL
# already names one; stopped at exit only if this command started it
if [ -z "${ONECLOUD_TEST_PG_URL:-}" ]; then
    printf '\033[1m==> PostgreSQL test server\033[0m\n'
    scripts/pg-test-server.sh status || pg_started=1
    ONECLOUD_TEST_PG_URL=$(scripts/pg-test-server.sh start)
    export ONECLOUD_TEST_PG_URL
fi

printf '\033[1m==> lab up\033[0m\n'
.venv/bin/onecloud lab up

printf '\033[1m==> tests (unit and integration)\033[0m\n'
set +e
.venv/bin/pytest -p no:cacheprovider --junitxml=reports/junit.xml "$@"
rc=$?
set -e
echo "test command finished in $(( $(date +%s) - start )) s (pytest exit $rc)"
exit $rc

#!/bin/sh
# A throwaway PostgreSQL cluster for the ledger's tests (tests/integration/test_ledger_pg.py).
#
# Debian's postgresql package (scripts/lab-packages.sh) provides the binaries; this cluster is
# not the machine's default one: it runs as the `postgres` user, listens on 127.0.0.1 only, on
# its own port, with its data under /var/lib/onecloud-test-pg and its socket beside it. It is
# for tests only (fsync off): never point a real ledger at it.
#
# Usage: scripts/pg-test-server.sh start    initdb once, start it (pg_ctl -w), make sure the
#                                           test user and database exist; prints the URL
#        scripts/pg-test-server.sh stop     stop this cluster only (pg_ctl -m fast, through
#                                           its postmaster.pid); a no-op when it is not running
#        scripts/pg-test-server.sh url      print the URL (postgresql://user:password@...)
#        scripts/pg-test-server.sh status   exit 0 if it is running and accepting connections
#
# Idempotent. Needs root (or the postgres user). Environment: ONECLOUD_TEST_PG_PORT (55432),
# ONECLOUD_TEST_PG_ROOT (/var/lib/onecloud-test-pg).
set -eu

PORT=${ONECLOUD_TEST_PG_PORT:-55432}
ROOT=${ONECLOUD_TEST_PG_ROOT:-/var/lib/onecloud-test-pg}
DATA=$ROOT/data
RUN=$ROOT/run
LOG=$ROOT/server.log
PWFILE=$ROOT/password
DB_USER=onecloud_test
DB_NAME=onecloud_test
HOST=127.0.0.1

say() { echo "pg-test-server: $*" >&2; }
die() { say "$*"; exit 1; }

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] \
    || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (run scripts/lab-packages.sh as root)"
MAJOR=$(basename "$(dirname "$BIN")")

# run a command as the postgres user (root switches to it; postgres runs it as is)
as_pg() {
    case "$(id -un)" in
        postgres) "$@" ;;
        root) runuser -u postgres -- "$@" ;;
        *) die "must run as root or postgres (the cluster belongs to the postgres user)" ;;
    esac
}

psql_admin() {
    as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres -d postgres "$@"
}

url() {
    [ -r "$PWFILE" ] || die "no cluster yet under $ROOT: run '$0 start' first"
    echo "postgresql://$DB_USER:$(cat "$PWFILE")@$HOST:$PORT/$DB_NAME"
}

# 0 if the postmaster of this data directory runs and accepts connections
running() {
    [ -s "$DATA/postmaster.pid" ] || return 1
    pid=$(head -n 1 "$DATA/postmaster.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    "$BIN/pg_isready" -q -h "$RUN" -p "$PORT" -t 2
}

init_once() {
    if [ -f "$DATA/PG_VERSION" ] && [ "$(cat "$DATA/PG_VERSION")" != "$MAJOR" ]; then
        say "the cluster under $DATA is PostgreSQL $(cat "$DATA/PG_VERSION"), the binaries $MAJOR: recreating it"
        rm -rf "$DATA"
    fi
    mkdir -p "$ROOT" "$RUN"
    chown postgres:postgres "$ROOT" "$RUN" 2>/dev/null || true
    chmod 0700 "$ROOT"
    if [ ! -s "$PWFILE" ]; then
        # URL-safe random password, kept for `url`
        (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$PWFILE")
        chown postgres:postgres "$PWFILE" 2>/dev/null || true
    fi
    [ -f "$DATA/PG_VERSION" ] && return 0
    say "initdb $DATA (PostgreSQL $MAJOR)"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --no-sync \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    cat >>"$DATA/postgresql.conf" <<EOF

# onecloud test cluster (scripts/pg-test-server.sh): throwaway, loopback only, no durability
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$RUN'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
}

start() {
    if running; then
        say "already running on $HOST:$PORT (pid $(head -n 1 "$DATA/postmaster.pid"))"
    else
        init_once
        say "starting on $HOST:$PORT (log $LOG)"
        touch "$LOG" && chown postgres:postgres "$LOG" 2>/dev/null || true
        as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -s start \
            || { tail -n 20 "$LOG" >&2; die "the server did not start (see $LOG)"; }
    fi
    pw=$(cat "$PWFILE")
    psql_admin <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB', '$DB_USER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') \gexec
ALTER ROLE $DB_USER WITH LOGIN CREATEDB PASSWORD '$pw';
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_USER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME') \gexec
EOF
    url
}

stop() {
    if [ ! -s "$DATA/postmaster.pid" ]; then
        say "not running (no $DATA/postmaster.pid)"
        return 0
    fi
    pid=$(head -n 1 "$DATA/postmaster.pid")
    if ! kill -0 "$pid" 2>/dev/null; then
        say "not running (stale postmaster.pid, pid $pid is gone)"
        return 0
    fi
    say "stopping pid $pid ($DATA)"
    # pg_ctl signals the postmaster named in this data directory's postmaster.pid, nothing else
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 -s stop
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    status) running ;;
    *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac

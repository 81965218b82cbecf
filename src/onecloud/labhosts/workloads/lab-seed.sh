#!/bin/sh
# Seeds this lab host's workloads and starts their services (runs inside the host, once per
# start, in the background of its PID 1, installed as /usr/local/sbin/lab-seed).
# The workloads to seed are listed one per line in /etc/onecloud-lab/workloads.
# Outcome for the machine side: /run/onecloud-lab/seed.done or seed.failed (with the step).
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LANG=C.UTF-8
SEED=/usr/local/lib/onecloud-lab/seed.py
STATE=/run/onecloud-lab
HOST=$(hostname)
step=start
mkdir -p "$STATE"

finish() {
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "lab-seed[$HOST]: done"
        : > "$STATE/seed.done"
    else
        echo "lab-seed[$HOST]: failed at step '$step' (exit $rc)" >&2
        echo "$step" > "$STATE/seed.failed"
    fi
}
trap finish EXIT

seed_webapp() {
    step="webapp: seed /srv/webapp/data"
    /usr/bin/python3 "$SEED" webapp /srv/webapp/data "$HOST"
    step="webapp: service webapp start"
    service webapp start
}

seed_sqlite() {
    step="sqlite: seed /srv/ledgerapp/app.db"
    /usr/bin/python3 "$SEED" sqlite /srv/ledgerapp/app.db "$HOST"
    step="sqlite: service ledgerapp start"
    service ledgerapp start
}

seed_postgresql() {
    # The cluster is Debian's default one (/var/lib/postgresql/15/main, in the host's own
    # copy-on-write root): every host, legacy or target, has the same layout.
    rm -f /var/lib/postgresql/*/main/postmaster.pid
    step="postgresql: service postgresql start"
    service postgresql start
    step="postgresql: create database permits"
    if ! runuser -u postgres -- psql -X -tAc "SELECT 1 FROM pg_database WHERE datname = 'permits'" \
            | grep -q 1; then
        runuser -u postgres -- createdb permits
    fi
    step="postgresql: seed table permits"
    /usr/bin/python3 "$SEED" permits-sql "$HOST" \
        | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d permits >/dev/null
    step="postgresql: service permitsapp start"
    service permitsapp start
}

seed_internet() {
    step="internet: services internet-80 and internet-443 start"
    mkdir -p /srv/internet
    echo "a web site on the lab's internet" > /srv/internet/index.html
    service internet-80 start
    service internet-443 start
}

# access-<YYYY-MM-DD>-<clients>: an access log whose last entry is on that date (the census's
# last access), for each web service of the host, else for a generic web server
seed_access() {
    rest=${1#access-}
    day=${rest%-*}
    clients=${rest##*-}
    logs=""
    grep -qx webapp /etc/onecloud-lab/workloads && logs="$logs /var/log/webapp/access.log"
    grep -qx sqlite /etc/onecloud-lab/workloads && logs="$logs /var/log/ledgerapp/access.log"
    grep -qx postgresql /etc/onecloud-lab/workloads && logs="$logs /var/log/permitsapp/access.log"
    [ -n "$logs" ] || logs=/var/log/apache2/access.log
    for log in $logs; do
        step="access: seed $log (last access $day)"
        /usr/bin/python3 "$SEED" access "$log" "$day" "$clients" "$HOST"
    done
    # the permits app runs as postgres and appends to its own log
    [ -d /var/log/permitsapp ] && chown -R postgres /var/log/permitsapp
    return 0
}

while read -r workload; do
    case "$workload" in
        webapp) seed_webapp ;;
        sqlite) seed_sqlite ;;
        postgresql) seed_postgresql ;;
        internet) seed_internet ;;
        access-*) seed_access "$workload" ;;
        "") ;;
        *) step="unknown workload '$workload'"; exit 2 ;;
    esac
done < /etc/onecloud-lab/workloads

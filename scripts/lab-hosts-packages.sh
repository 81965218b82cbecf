#!/bin/sh
# Install the Debian packages the lab's SSH hosts need (onecloud.lab.hosts).
#
# The hosts share the machine's installed files through a copy-on-write overlay of /, so
# whatever a legacy workload or a migration target needs is installed here, on the machine:
# sshd (each host runs its own), rsync, iproute2, PostgreSQL 15, sqlite3, Debian's python3.
# Nothing may start on the machine itself: /usr/sbin/policy-rc.d exits 101 while installing.
# PostgreSQL's default cluster (15/main) must exist and be stopped: every host starts its own
# copy of it.
#
# Idempotent: installs only what is missing. Usage (as root):
#     scripts/lab-hosts-packages.sh            install
#     scripts/lab-hosts-packages.sh --list     print the package names
set -eu

PACKAGES="openssh-server openssh-client rsync iproute2 util-linux tar postgresql sqlite3 python3"

if [ "${1:-}" = "--list" ]; then
    echo "$PACKAGES" | tr ' ' '\n'
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "lab-hosts-packages: must run as root (apt-get installs system packages)" >&2
    exit 1
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "lab-hosts-packages: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [ -e "$policy" ]; then
        saved=$(mktemp)
        cp -p "$policy" "$saved"
    fi
    restore() {
        if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
    }
    trap restore EXIT INT TERM
    printf '#!/bin/sh\n# onecloud lab-hosts-packages.sh: start nothing while installing\nexit 101\n' \
        >"$policy"
    chmod 0755 "$policy"
    apt_opts="-y -q --no-install-recommends -o DPkg::Lock::Timeout=1200
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
    # shellcheck disable=SC2086
    if ! apt-get $apt_opts install $missing; then
        apt-get -q -o DPkg::Lock::Timeout=1200 update
        # shellcheck disable=SC2086
        apt-get $apt_opts install $missing
    fi
else
    echo "lab-hosts-packages: all packages already installed"
fi

# The default cluster the hosts copy: create it if the package was installed without one.
if ! [ -d /etc/postgresql/15/main ]; then
    echo "lab-hosts-packages: creating PostgreSQL cluster 15/main"
    pg_createcluster 15 main
fi
if [ -e /var/lib/postgresql/15/main/postmaster.pid ]; then
    echo "lab-hosts-packages: note: PostgreSQL 15/main runs on the machine itself;" \
         "lab hosts copy its data directory while it runs (stop it: pg_ctlcluster 15 main stop)" >&2
fi

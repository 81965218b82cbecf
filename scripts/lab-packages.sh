#!/bin/sh
# Install the Debian packages the onecloud lab needs (the lab cloud and the SSH hosts).
#
# Idempotent: packages already installed are skipped, `apt-get update` runs at most once per
# call and only when something is missing. Package maintainer scripts must start nothing
# (the lab starts its own daemons, by PID): /usr/sbin/policy-rc.d exits 101 while we install,
# and every debconf question that would configure a database, RabbitMQ or the Keystone
# catalog is preseeded to false.
#
# Usage: scripts/lab-packages.sh            (as root)
#        scripts/lab-packages.sh --list     print the package names and exit
set -eu

CLOUD_PACKAGES="mariadb-server rabbitmq-server memcached python3-pymysql python3-memcache
uwsgi-plugin-python3 keystone placement-api nova-api nova-conductor nova-scheduler nova-common
python3-nova neutron-common neutron-server neutron-linuxbridge-agent neutron-l3-agent glance-api cinder-api
cinder-scheduler cinder-common python3-cinder"
HOST_PACKAGES="openssh-server rsync iproute2 postgresql sqlite3 procps psmisc"
PACKAGES="$(echo $CLOUD_PACKAGES $HOST_PACKAGES)"

if [ "${1:-}" = "--list" ]; then
    echo "$PACKAGES" | tr ' ' '\n'
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "lab-packages: must run as root (apt-get installs system packages)" >&2
    exit 1
fi

# The lab hosts copy the machine's default PostgreSQL cluster: create it if the package was
# installed without one.
ensure_pg_cluster() {
    if ! [ -d /etc/postgresql/15/main ] && command -v pg_createcluster >/dev/null; then
        echo "lab-packages: creating PostgreSQL cluster 15/main"
        pg_createcluster 15 main
    fi
}

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "lab-packages: all $(echo $PACKAGES | wc -w) packages already installed"
    ensure_pg_cluster
    exit 0
fi
echo "lab-packages: installing:$missing"

export DEBIAN_FRONTEND=noninteractive
APT="apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=1200
     -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"

# package scripts start nothing while we install; restore whatever was there before
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
    saved="$(mktemp)"
    cp -p "$policy" "$saved"
fi
restore_policy() {
    if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
trap 'exit 130' INT TERM
printf '#!/bin/sh\n# written by onecloud scripts/lab-packages.sh while installing\nexit 101\n' >"$policy"
chmod 0755 "$policy"

# the lists may be missing on a fresh machine (or too old for the security archive)
if ! $APT install --download-only $missing >/dev/null 2>&1; then
    apt-get update -q -o DPkg::Lock::Timeout=1200
    $APT install --download-only $missing
fi

# Preseed: find the questions in the downloaded packages' templates, answer "false" to all that
# would configure a database, RabbitMQ, an admin tenant or catalog endpoints.
work="$(mktemp -d)"
for deb in /var/cache/apt/archives/*.deb; do
    case "$(basename "$deb")" in
        keystone_*|placement-*|nova-*|neutron-*|glance-*|cinder-*|openstack-*|dbconfig-*) ;;
        *) continue ;;
    esac
    dpkg-deb --ctrl-tarfile "$deb" 2>/dev/null | tar -x -O ./templates 2>/dev/null \
        | sed -n 's/^Template: //p' >>"$work/questions" || true
done
if [ -s "$work/questions" ]; then
    sort -u "$work/questions" | grep -E '/(configure_db|configure_rabbit|configure_ksat|create-admin-tenant|register-endpoint|dbconfig-install|dbconfig-reinstall)$' \
        | while read -r q; do
            echo "${q%%/*} $q boolean false"
        done | debconf-set-selections
fi
rm -rf "$work"

$APT install $missing
ensure_pg_cluster
echo "lab-packages: done"

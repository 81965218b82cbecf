#!/bin/sh
# PID 1 of one lab host. Started by onecloud.labhosts._hosts as
#   nsenter --net=/run/netns/<netns> unshare --mount --uts --ipc --pid --fork --kill-child \
#       --propagation private /bin/sh host_init.sh NAME DIR ADDRESS GATEWAY LAB_NET SRV_MB HIDE
# so it runs in the host's own network, mount, UTS, IPC and PID namespaces. It builds the
# host's root (an overlay of the machine's / with its writes on tmpfs), copies the host's own
# files in (DIR/payload.tar: host keys, sshd_config, hostname, machine-id, workloads), pivots into
# it, starts the workload seeding in the background and becomes sshd.
#
# Why each step: see docs/devel/lab-hosts.md. Everything mounted here lives and dies with the
# mount namespace: killing the `unshare` process (SIGKILL; it ignores SIGTERM) ends the host.
set -eu

name=$1 dir=$2 address=$3 gateway=$4 lab_net=$5 srv_mb=$6 hide=$7
root=$dir/root
rw=$dir/rw
src=/dev/lab/$name
echo "host_init[$name]: starting (address $address)"

# Network: loopback, eth0 (the veth peer the machine put here), the route to the whole lab
# through this subnet's gateway (the machine's bridge). No default route: nothing leaves the lab.
ip -batch - <<EOF
link set lo up
addr add $address dev eth0
link set eth0 up
route add $lab_net via $gateway dev eth0
EOF
hostname "$name"

# Root: overlay of the machine's / (read-only lower), writes go to this host's tmpfs.
mkdir -p "$root" "$rw"
mount -t tmpfs -o mode=0755,size=4g "$src/rw" "$rw"
mkdir "$rw/upper" "$rw/work"
mount -t overlay -o "lowerdir=/,upperdir=$rw/upper,workdir=$rw/work" "$src/rootfs" "$root"

# Kernel file systems: the machine's devices; its own /proc (PID namespace) and /sys (network
# namespace, so /sys/class/net shows this host's interfaces).
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"

# Private scratch file systems, named /dev/lab/<host>/<dir> so Ansible's mount facts list them.
mount -t tmpfs -o "mode=0755,size=${srv_mb}m" "$src/srv" "$root/srv"
mount -t tmpfs -o mode=0755,size=1g "$src/opt" "$root/opt"
mount -t tmpfs -o mode=0700,size=1g "$src/root" "$root/root"
mount -t tmpfs -o mode=0755,size=1g "$src/home" "$root/home"
mount -t tmpfs -o mode=0755,size=256m "$src/run" "$root/run"
mount -t tmpfs -o mode=1777,size=1g "$src/tmp" "$root/tmp"
mount -t tmpfs -o mode=1777,size=256m "$src/shm" "$root/dev/shm"
# The lab's own state (other hosts' keys, the lab's private key) is not the host's business.
if [ -d "$root$hide" ]; then
    mount -t tmpfs -o mode=0755,size=1m "$src/lab" "$root$hide"
fi

# The host's own identity and programs; remove what would make it look like a container or a
# systemd machine, and the machine's host keys.
rm -f "$root/.dockerenv" "$root/usr/bin/systemctl" "$root"/etc/ssh/ssh_host_*
tar -xpf "$dir/payload.tar" -C "$root"
# PostgreSQL serves its declared port on the host's address, as a database server that others
# depend on does (Debian's default listens on localhost only); pg_hba still decides who logs in.
for pg in "$root"/etc/postgresql/*/main; do
    [ -d "$pg" ] || continue
    mkdir -p "$pg/conf.d"
    echo "listen_addresses = '*'" > "$pg/conf.d/onecloud-lab.conf"
done
mkdir -p "$root/run/sshd" "$root/run/lock" "$root/run/oldroot"
chmod 1777 "$root/run/lock"

cd "$root"
pivot_root . run/oldroot
cd /
umount -l /run/oldroot
rmdir /run/oldroot

if [ -x /usr/local/sbin/lab-seed ]; then
    /usr/local/sbin/lab-seed </dev/null &
fi
echo "host_init[$name]: exec sshd"
# Through a symlink named `init`, so /proc/1/comm says "init" and Ansible's service_mgr fact
# finds SysV init (/etc/init.d), as on the legacy servers the hosts play (not "sshd").
exec /usr/lib/onecloud-lab/init -D -e -f /etc/ssh/sshd_config

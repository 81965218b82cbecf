#!/bin/bash
# Copy data trees from this host (the source) to a target with one `rsync -aR --delete`, over
# SSH with a temporary key that the caller generated in WORKDIR and authorised on the target.
# The target's host key is checked against the one known_hosts line given. WORKDIR (holding
# the private key) is removed on exit, whatever happens.
#
# usage: copy_tree.sh WORKDIR TARGET_ADDRESS 'KNOWN_HOSTS_LINE' TIMEOUT PATH...
set -euo pipefail
workdir=$1 target=$2 known=$3 timeout=$4
shift 4
trap 'rm -rf -- "$workdir"' EXIT
printf '%s\n' "$known" > "$workdir/known_hosts"
ssh_cmd="ssh -i $workdir/key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes"
ssh_cmd="$ssh_cmd -o UserKnownHostsFile=$workdir/known_hosts -o ConnectTimeout=10"
ssh_cmd="$ssh_cmd -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
start=$(date +%s%N)
rsync -aR --delete --numeric-ids --stats --timeout="$timeout" -e "$ssh_cmd" -- "$@" "root@$target:/"
end=$(date +%s%N)
echo "Copy milliseconds: $(( (end - start) / 1000000 ))"

#!/bin/bash
# The pull direction of copy_tree.sh: copy data trees from a peer (the target, which served
# the system last) back to this host (the source) with one `rsync -aR --delete`, over SSH with
# the temporary key the caller generated in WORKDIR and authorised on the peer for this host's
# address. rsync still runs here and connects to the peer, as for a push; only the direction
# of the data differs. The peer's host key is checked against the one known_hosts line given.
# WORKDIR (holding the private key) is removed on exit, whatever happens.
#
# usage: pull_tree.sh WORKDIR PEER_ADDRESS 'KNOWN_HOSTS_LINE' TIMEOUT PATH...
set -euo pipefail
workdir=$1 peer=$2 known=$3 timeout=$4
shift 4
trap 'rm -rf -- "$workdir"' EXIT
# Each PATH lands at the same place here under `rsync --delete`: refuse anything but a
# normalised absolute path below a top-level directory (no `..`, `.`, `//`, control chars).
[ "$#" -gt 0 ] || { echo "pull_tree.sh: no paths to copy" >&2; exit 2; }
for p in "$@"; do
    case $p in
        /*) ;;
        *) echo "pull_tree.sh: refusing relative path: $(printf '%q' "$p")" >&2; exit 2 ;;
    esac
    case "$p/" in
        *//*|*/../*|*/./*)
            echo "pull_tree.sh: refusing unnormalised path: $(printf '%q' "$p")" >&2; exit 2 ;;
    esac
    case $p in
        /|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp\
        |/usr|/var|/var/lib)
            echo "pull_tree.sh: refusing system directory: $p" >&2; exit 2 ;;
    esac
    if [[ $p == *[[:cntrl:]]* ]]; then
        echo "pull_tree.sh: refusing path with control characters: $(printf '%q' "$p")" >&2
        exit 2
    fi
done
printf '%s\n' "$known" > "$workdir/known_hosts"
ssh_cmd="ssh -i $workdir/key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes"
ssh_cmd="$ssh_cmd -o UserKnownHostsFile=$workdir/known_hosts -o ConnectTimeout=10"
ssh_cmd="$ssh_cmd -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
remote=()
for p in "$@"; do remote+=("root@$peer:$p"); done
start=$(date +%s%N)
set +e
rsync -aR --delete --numeric-ids --stats --timeout="$timeout" -e "$ssh_cmd" -- "${remote[@]}" \
    / 2> "$workdir/rsync.err"
rc=$?
set -e
end=$(date +%s%N)
cat "$workdir/rsync.err" >&2
if [ "$rc" -ne 0 ]; then
    case $rc in
        11) why="file I/O error (often: this host's disk is full)" ;;
        12) why="the connection or the sender broke mid-transfer" ;;
        23|24) why="some files were not transferred (missing on $peer?)" ;;
        30|35) why="timeout: the peer stopped answering" ;;
        255) why="ssh failed: the peer is unreachable or refused the key" ;;
        *) why="see rsync(1), EXIT VALUES" ;;
    esac
    grep -q "No space left" "$workdir/rsync.err" && why="No space left on device on $(hostname)"
    free=$(df -Pk / "$@" 2>/dev/null | awk 'NR > 1 && !seen[$6]++ {printf "%s%s %d KiB free", sep, $6, $4; sep="; "}')
    echo "rsync from $peer failed with exit code $rc: $why; here: ${free:-unknown}" >&2
    exit "$rc"
fi
echo "Copy milliseconds: $(( (end - start) / 1000000 ))"

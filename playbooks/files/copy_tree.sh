#!/bin/bash
# Copy data trees between this host (the source) and its peer (the target) with one
# `rsync -aR --delete`, over SSH with a temporary key that the caller generated in WORKDIR and
# authorised on the peer. rsync always runs here and connects to the peer; the direction says
# which way the data goes: push (here -> peer: the migration) or pull (peer -> here: a
# rollback's write-back). The peer's host key is checked against the one known_hosts line
# given. WORKDIR (holding the private key) is removed on exit, whatever happens.
#
# usage: copy_tree.sh [--pull] WORKDIR PEER_ADDRESS 'KNOWN_HOSTS_LINE' TIMEOUT PATH...
set -euo pipefail
direction=push
[ "${1:-}" = --pull ] && { direction=pull; shift; }
workdir=$1 target=$2 known=$3 timeout=$4
shift 4
trap 'rm -rf -- "$workdir"' EXIT
# Each PATH lands at the same place on the target under `rsync --delete`: refuse anything but
# a normalised absolute path below a top-level directory (no `..`, `.`, `//`, control chars).
[ "$#" -gt 0 ] || { echo "copy_tree.sh: no paths to copy" >&2; exit 2; }
for p in "$@"; do
    case $p in
        /*) ;;
        *) echo "copy_tree.sh: refusing relative path: $(printf '%q' "$p")" >&2; exit 2 ;;
    esac
    case "$p/" in
        *//*|*/../*|*/./*)
            echo "copy_tree.sh: refusing unnormalised path: $(printf '%q' "$p")" >&2; exit 2 ;;
    esac
    case $p in
        /|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp\
        |/usr|/var|/var/lib)
            echo "copy_tree.sh: refusing system directory: $p" >&2; exit 2 ;;
    esac
    if [[ $p == *[[:cntrl:]]* ]]; then
        echo "copy_tree.sh: refusing path with control characters: $(printf '%q' "$p")" >&2
        exit 2
    fi
done
printf '%s\n' "$known" > "$workdir/known_hosts"
ssh_cmd="ssh -i $workdir/key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes"
ssh_cmd="$ssh_cmd -o UserKnownHostsFile=$workdir/known_hosts -o ConnectTimeout=10"
ssh_cmd="$ssh_cmd -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
if [ "$direction" = push ]; then
    from=("$@") to="root@$target:/"
else
    from=() to=/
    for p in "$@"; do from+=("root@$target:$p"); done
fi
start=$(date +%s%N)
set +e
rsync -aR --delete --numeric-ids --stats --timeout="$timeout" -e "$ssh_cmd" -- "${from[@]}" \
    "$to" 2> "$workdir/rsync.err"
rc=$?
set -e
end=$(date +%s%N)
cat "$workdir/rsync.err" >&2
if [ "$rc" -ne 0 ]; then
    if [ "$direction" = push ]; then receiver="the target" sender="the receiver" missing=""
    else receiver="this host" sender="the sender" missing=" (missing on $target?)"; fi
    case $rc in
        11) why="file I/O error (often: $receiver's disk is full)" ;;
        12) why="the connection or $sender broke mid-transfer" ;;
        23|24) why="some files were not transferred$missing" ;;
        30|35) why="timeout: the peer stopped answering" ;;
        255) why="ssh failed: the peer is unreachable or refused the key" ;;
        *) why="see rsync(1), EXIT VALUES" ;;
    esac
    if [ "$direction" = push ]; then
        dirs=()
        for p in "$@"; do dirs+=("$(dirname "$p")"); done
        free=$($ssh_cmd "root@$target" "df -Pk $(printf '%q ' "${dirs[@]}") 2>/dev/null" \
            2>/dev/null | awk 'NR > 1 && !seen[$6]++ {printf "%s%s %d KiB free", sep, $6, $4; sep="; "}') || true
        grep -q "No space left" "$workdir/rsync.err" && why="No space left on device on the target"
        echo "rsync to $target failed with exit code $rc: $why; target: ${free:-not reachable}" >&2
    else
        free=$(df -Pk / "$@" 2>/dev/null | awk 'NR > 1 && !seen[$6]++ {printf "%s%s %d KiB free", sep, $6, $4; sep="; "}') || true
        grep -q "No space left" "$workdir/rsync.err" && why="No space left on device on $(hostname)"
        echo "rsync from $target failed with exit code $rc: $why; here: ${free:-unknown}" >&2
    fi
    # ssh's 255 would reach Ansible as "host unreachable" (the connection to *this* host) and
    # hide the message above: report it as a failure of the copy instead
    [ "$rc" -eq 255 ] && exit 65
    exit "$rc"
fi
echo "Copy milliseconds: $(( (end - start) / 1000000 ))"

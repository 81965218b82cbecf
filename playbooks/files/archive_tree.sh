#!/bin/bash
# Archive paths into WORKDIR/archive.tar with WORKDIR/manifest.sha256 (`sha256sum` lines, names
# relative to /, every regular file in the tar, sorted). One file list feeds both, so the tar
# holds exactly what the manifest lists; a file that changes in between is caught when the
# controller reads the copy back. Missing paths are left out (an application or log path that
# this host does not have); a listed data path must exist (the caller checks that).
# Last line of output: JSON {"files", "bytes", "tar_sha256", "manifest_sha256", "paths"}.
#
# usage: archive_tree.sh WORKDIR PATH...
set -euo pipefail
export LC_ALL=C
workdir=$1
shift
for p in "$@"; do
    case $p in
        /*) ;;
        *) echo "archive_tree.sh: refusing relative path: $(printf '%q' "$p")" >&2; exit 2 ;;
    esac
    case "$p/" in
        *//*|*/../*|*/./*)
            echo "archive_tree.sh: refusing unnormalised path: $(printf '%q' "$p")" >&2; exit 2 ;;
    esac
done
cd /
rel=()
for p in "$@"; do
    p="${p#/}"
    [ -e "$p" ] || [ -L "$p" ] && rel+=("$p")
done
list="$workdir/files.list0"
find "${rel[@]}" \( -type f -o -type l -o -type d \) -print0 | sort -zu > "$list"
tar -C / --null --no-recursion -T "$list" -cf "$workdir/archive.tar"
find "${rel[@]}" -type f -print0 | sort -zu | xargs -0r sha256sum -- > "$workdir/manifest.sha256"
files=$(wc -l < "$workdir/manifest.sha256")
bytes=$(find "${rel[@]}" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')
tar_sha=$(sha256sum "$workdir/archive.tar" | cut -d' ' -f1)
man_sha=$(sha256sum "$workdir/manifest.sha256" | cut -d' ' -f1)
rm -f "$list"
printf '{"files": %d, "bytes": %d, "tar_sha256": "%s", "manifest_sha256": "%s", "paths": %d}\n' \
    "$files" "${bytes:-0}" "$tar_sha" "$man_sha" "${#rel[@]}"

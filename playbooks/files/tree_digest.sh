#!/bin/bash
# Prints one sha256 over the contents and names of the data trees given as arguments (absolute
# paths): the manifest digest that proves a copy complete. Names are taken relative to / so the
# same tree gives the same digest on any host. A missing path counts as empty. Used by the
# copy_data role and by `onecloud verify` (the same file), so both agree on what "equal" means.
set -euo pipefail
export LC_ALL=C
cd /
rel=()
for p in "$@"; do
    p="${p#/}"
    [ -e "$p" ] && rel+=("$p")
done
if [ "${#rel[@]}" -eq 0 ]; then
    printf 'empty\n' | sha256sum | cut -d' ' -f1
    exit 0
fi
find "${rel[@]}" \( -type f -o -type l \) -print0 | sort -z | xargs -0r sha256sum | sha256sum \
    | cut -d' ' -f1

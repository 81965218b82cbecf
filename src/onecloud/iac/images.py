"""The built-in base image: a tiny raw disk the lab's fake hypervisor boots.

Written once under the cache directory with fixed content, so its checksum (and thus the Image
resource) never changes between runs. Real clouds set `onecloud:image` to their own file or to
an image uploaded elsewhere (`file: null`).
"""

from __future__ import annotations

import os
from pathlib import Path

from onecloud import paths

SIZE = 1024 * 1024  # 1 MiB of zeros


def builtin_image() -> Path:
    path = paths.cache_dir() / "iac" / "onecloud-base.raw"
    if path.is_file() and path.stat().st_size == SIZE:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(b"\0" * SIZE)
    os.replace(tmp, path)
    return path

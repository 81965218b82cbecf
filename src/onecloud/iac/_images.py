"""The built-in base image: a tiny raw disk the lab's fake hypervisor boots.

Written once under the cache directory with fixed content, so its checksum (and thus the Image
resource) never changes between runs. Real clouds set `onecloud:image` to their own file or to
an image uploaded elsewhere (`file: null`).
"""

from __future__ import annotations

from pathlib import Path

from onecloud import paths
from onecloud._files import write_atomic

SIZE = 1024 * 1024  # 1 MiB of zeros


def builtin_image() -> Path:
    path = paths.cache_dir() / "iac" / "onecloud-base.raw"
    if path.is_file() and path.stat().st_size == SIZE:
        return path
    write_atomic(path, b"\0" * SIZE)
    return path

"""Where onecloud keeps things. Nothing mutable lives inside the git checkout."""

from __future__ import annotations

import os
from pathlib import Path

#: the repository (or installed project) root: holds Pulumi.yaml, stacks/, playbooks/, inventory/
PROJECT_ROOT = Path(os.environ.get("ONECLOUD_PROJECT", Path(__file__).resolve().parents[2]))


def state_dir() -> Path:
    """Per-user state: Pulumi file backend, migration ledger, rendered plans."""
    return Path(os.environ.get("ONECLOUD_STATE_DIR", Path.home() / ".local/state/onecloud"))


def cache_dir() -> Path:
    """Rebuildable caches (the Pulumi toolchain)."""
    base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(os.environ.get("ONECLOUD_CACHE_DIR", Path(base) / "onecloud"))


def lab_dir() -> Path:
    """The lab's runtime directory (PIDs, logs, configs, ssh keys). One lab per machine."""
    return Path(os.environ.get("ONECLOUD_LAB_DIR", "/var/lib/onecloud-lab"))

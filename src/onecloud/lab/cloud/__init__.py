"""The lab cloud: a real OpenStack (Debian's packages) on 127.0.0.1, run by PID.

Other parts use `clouds_yaml_path()` / `openstack_env()` to reach it and `ensure_up()` to
have it running (tests, demo). The heavy modules load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onecloud.lab.cloud.clouds import clouds_yaml_path, openstack_env
from onecloud.lab.cloud.settings import CLOUD_NAME, CLOUD_NAME_DR, REGION, REGION_DR

__all__ = [
    "CLOUD_NAME",
    "CLOUD_NAME_DR",
    "REGION",
    "REGION_DR",
    "clouds_yaml_path",
    "down",
    "ensure_up",
    "openstack_env",
    "status",
    "up",
]


def ensure_up(**kwargs: Any) -> Path:
    """Bring the lab cloud up if it is not (as root); return the clouds.yaml path."""
    from onecloud.lab.cloud import lifecycle

    return lifecycle.ensure_up(**kwargs)


def up(**kwargs: Any) -> Any:
    from onecloud.lab.cloud import lifecycle

    return lifecycle.up(**kwargs)


def down(**kwargs: Any) -> list[str]:
    from onecloud.lab.cloud import lifecycle

    return lifecycle.down(**kwargs)


def status(**kwargs: Any) -> Any:
    from onecloud.lab.cloud import lifecycle

    return lifecycle.status(**kwargs)

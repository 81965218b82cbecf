"""The lab's SSH hosts: network-namespace machines with their own sshd and real workloads.

`hosts_up(specs)` makes each `HostSpec` a reachable host (idempotent), `hosts_down` removes
them, `hosts_status` lists them; every tool reaches them through `ssh_config_path()`.
`CATALOG` lists the workloads a legacy host can be seeded with.
"""

from onecloud.labhosts._hosts import (
    hosts_dir,
    hosts_down,
    hosts_status,
    hosts_up,
    known_hosts_path,
    private_key_path,
    ssh_config_path,
)
from onecloud.labhosts._model import HostSpec, HostStatus, PortPlug
from onecloud.labhosts.workloads import CATALOG

__all__ = [
    "CATALOG",
    "HostSpec",
    "HostStatus",
    "PortPlug",
    "hosts_dir",
    "hosts_down",
    "hosts_status",
    "hosts_up",
    "known_hosts_path",
    "private_key_path",
    "ssh_config_path",
]

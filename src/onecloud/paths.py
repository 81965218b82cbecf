"""Where onecloud keeps things: every default path has its one definition here.

Nothing mutable lives inside the git checkout except what is generated for people to review
(the plan, rendered inventories). Each default can be moved by an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PROJECT_ROOT",
    "ansible_dir",
    "cache_dir",
    "census_dir",
    "inventory_dir",
    "lab_dir",
    "lab_hosts_dir",
    "ledger_file",
    "plan_file",
    "playbooks_dir",
    "policy_dir",
    "pulumi_state_dir",
    "resolve",
    "ssh_config",
    "stacks_dir",
    "state_dir",
]

#: the repository (or installed project) root: holds Pulumi.yaml, stacks/, playbooks/, inventory/
PROJECT_ROOT = Path(os.environ.get("ONECLOUD_PROJECT", Path(__file__).resolve().parents[2]))


def census_dir() -> Path:
    """The census the commands read by default: `inventory/census` under the current directory
    if there is one (a checkout of a province's own census), else the project's."""
    local = Path("inventory") / "census"
    return local if local.is_dir() else PROJECT_ROOT / "inventory" / "census"


def plan_file(census: Path | None = None) -> Path:
    """The plan file: `plan.yml` next to the census directory (`inventory/plan.yml`)."""
    return (census or census_dir()).parent / "plan.yml"


def resolve(path: Path | str) -> Path:
    """A path given relative to the project (as stack configs do) made absolute."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def stacks_dir() -> Path:
    return PROJECT_ROOT / "stacks"


def policy_dir() -> Path:
    return PROJECT_ROOT / "policy"


def playbooks_dir() -> Path:
    return PROJECT_ROOT / "playbooks"


def inventory_dir(stack: str) -> Path:
    """The rendered Ansible inventory of one stack (generated, never edited by hand)."""
    return PROJECT_ROOT / "inventory" / "generated" / stack


def state_dir() -> Path:
    """Per-user state: Pulumi file backend, migration ledger, ansible-runner artifacts."""
    return Path(os.environ.get("ONECLOUD_STATE_DIR", Path.home() / ".local/state/onecloud"))


def ledger_file() -> Path:
    """The default SQLite ledger (`ONECLOUD_LEDGER` or `--ledger` choose another)."""
    return state_dir() / "ledger.sqlite"


def ansible_dir() -> Path:
    """ansible-runner's private data directory (artifacts of every playbook run)."""
    return state_dir() / "ansible"


def pulumi_state_dir() -> Path:
    """The default Pulumi file backend."""
    return state_dir() / "pulumi-state"


def cache_dir() -> Path:
    """Rebuildable caches (the Pulumi toolchain, the built-in image)."""
    base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(os.environ.get("ONECLOUD_CACHE_DIR", Path(base) / "onecloud"))


def lab_dir() -> Path:
    """The lab's runtime directory (PIDs, logs, configs, ssh keys). One lab per machine."""
    return Path(os.environ.get("ONECLOUD_LAB_DIR", "/var/lib/onecloud-lab"))


def lab_hosts_dir() -> Path:
    """The lab hosts' state: registry, keys, ssh_config, known_hosts."""
    return lab_dir() / "hosts"


def ssh_config() -> Path | None:
    """The ssh_config the controller uses by default: the lab's when it has hosts, else None
    (OpenSSH's own ~/.ssh/config)."""
    p = lab_hosts_dir() / "ssh_config"
    return p if p.exists() else None

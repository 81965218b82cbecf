"""What a migration run reports: the observer it calls, its options, each system's outcome,
and the verdict of a play for one system. Plain data, shared by the run's modules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

from onecloud.contract import State, SystemSpec

__all__ = ["Observer", "RunOptions", "SystemOutcome", "Verdict"]

log = logging.getLogger("onecloud.migrate._run")


class Observer(Protocol):
    """What the CLI shows; the runner calls it, never prints."""

    def system_step(self, system: str, step: str, status: str, detail: str = "") -> None: ...


class _Quiet:
    def system_step(self, system: str, step: str, status: str, detail: str = "") -> None:
        log.info("%s: %s %s %s", system, step, status, detail)


@dataclass(frozen=True)
class RunOptions:
    forks: int = 10
    until: State = "completed"
    ssh_config: Path | None = None
    inventory: Path | None = None
    verify: Callable[[SystemSpec], tuple[bool, str]] | None = None
    private_data_dir: Path | None = None
    #: systems cut over at once (Ansible `serial`): each system's downtime is its batch's
    #: time, so smaller batches mean shorter downtimes for the same total time
    cutover_batch: int = 5


@dataclass
class SystemOutcome:
    system: str
    state: State
    ok: bool
    step: str | None = None  # the step that failed
    host: str | None = None
    task: str | None = None
    message: str | None = None
    rolled_back: bool | None = None
    downtime: float | None = None
    seconds: float = 0.0
    steps_done: list[str] = field(default_factory=list)
    #: True: the run had no verifier, so the system stopped at `switched` (not a failure)
    verify_skipped: bool = False


class Verdict(NamedTuple):
    """How one system came out of a play: ok, or the host, task, role and message of its
    failure."""

    ok: bool
    host: str | None = None
    task: str | None = None
    role: str | None = None
    message: str | None = None

"""The ansible-runner driver: run one playbook over some hosts and say, per host, what happened.

A playbook run is data (`PlaybookResult`): per host whether it succeeded and, if not, the
task, the host it ran on (a delegated task runs on the target) and the message. Live events
go to a callback so the runner can move systems through their steps while the play runs.
Host keys are checked (ansible-runner turns that off by default); secrets stay out of the
artifacts because the roles mark them `no_log`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onecloud import paths
from onecloud.errors import MigrationError

__all__ = ["HostOutcome", "PlaybookResult", "TaskEvent", "playbooks_dir", "run_playbook"]

log = logging.getLogger(__name__)


def playbooks_dir() -> Path:
    return paths.playbooks_dir()


@dataclass(frozen=True)
class TaskEvent:
    """One task outcome on one play host, as the runner sees it live."""

    kind: str  # start, ok, failed, unreachable, skipped
    host: str  # the play host (the source)
    on_host: str  # where it ran (the delegate, e.g. the target)
    role: str
    task: str
    message: str
    at: float  # unix time
    ignored: bool = False
    task_path: str = ""  # playbook/role file and line of the task


@dataclass
class HostOutcome:
    host: str
    ok: bool = True
    unreachable: bool = False
    failed_task: str | None = None
    failed_role: str | None = None
    failed_on: str | None = None
    message: str | None = None
    ran: bool = True  # False: the play ended before it reached this host (nothing changed)


@dataclass
class PlaybookResult:
    playbook: str
    ident: str
    status: str
    rc: int
    seconds: float
    hosts: dict[str, HostOutcome] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)  # set_stats data
    artifacts: Path | None = None


def _message(res: Mapping[str, Any]) -> str:
    """The most useful line of a failed task's result."""
    parts = []
    msg = res.get("msg")
    if msg:
        parts.append(str(msg))
    for key in ("stderr", "stdout"):
        text = str(res.get(key) or "").strip()
        if text:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            parts.append(" | ".join(lines[-3:]))
            break
    if not parts and res.get("results"):
        for item in res["results"]:
            if isinstance(item, Mapping) and item.get("failed"):
                return _message(item)
    return "; ".join(parts)[:1000] or "failed (no message)"


def _delegate(res: Mapping[str, Any], host: str) -> str:
    dv = res.get("_ansible_delegated_vars") or {}
    if isinstance(dv, Mapping):
        return str(dv.get("ansible_delegated_host") or dv.get("ansible_host") or host)
    return host


def run_playbook(
    playbook: str,
    *,
    inventory: Path,
    hosts: Sequence[str],
    private_data_dir: Path,
    forks: int = 10,
    tags: Sequence[str] | None = None,
    extravars: Mapping[str, Any] | None = None,
    on_event: Callable[[TaskEvent], None] | None = None,
    timeout: int | None = None,
) -> PlaybookResult:
    """Run `playbooks/<playbook>` limited to `hosts`; never raises for a failed play."""
    import ansible_runner  # heavy: import only when a playbook runs

    if not hosts:
        raise MigrationError(f"{playbook}: no hosts to run on (internal error)")
    private_data_dir.mkdir(parents=True, exist_ok=True)
    (private_data_dir / "env").mkdir(exist_ok=True)
    stem = playbook.removesuffix(".yml")
    ident = f"{time.strftime('%Y%m%dT%H%M%S')}-{stem}-{uuid.uuid4().hex[:6]}"
    venv_bin = str(Path(sys.executable).parent)
    envvars = {
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_ROLES_PATH": str(playbooks_dir() / "roles"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_TIMEOUT": "15",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_LOCAL_TEMP": str(private_data_dir / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
    }
    outcomes = {h: HostOutcome(h) for h in hosts}
    stats: dict[str, Any] = {}
    processed: set[str] = set()

    def handler(event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            stats.update(data.get("artifact_data") or {})
            processed.update(data.get("processed") or {})
            for key in ("failures", "dark"):
                for h in (data.get(key) or {}):
                    o = outcomes.setdefault(h, HostOutcome(h))
                    o.ok = False
                    o.unreachable = o.unreachable or key == "dark"
            return True
        if not kind.startswith("runner_on_") or "host" not in data:
            return True
        host = str(data["host"])
        res = data.get("res") or {}
        short = kind.removeprefix("runner_on_")
        ev = TaskEvent(
            kind=short,
            host=host,
            on_host=_delegate(res, host) if isinstance(res, Mapping) else host,
            role=str(data.get("role") or ""),
            task=str(data.get("task") or ""),
            message=_message(res) if short in ("failed", "unreachable") else "",
            at=time.time(),
            ignored=bool(data.get("ignore_errors")),
            task_path=str(data.get("task_path") or ""),
        )
        if short in ("failed", "unreachable") and not ev.ignored:
            o = outcomes.setdefault(host, HostOutcome(host))
            # a host stops at its first unrescued failure, so the last one seen is the cause
            o.failed_task, o.failed_role, o.failed_on = ev.task, ev.role, ev.on_host
            o.message = ev.message
            o.unreachable = short == "unreachable"
        if on_event is not None:
            try:
                on_event(ev)
            except Exception:  # a display bug must not break a migration
                log.exception("event callback failed")
        return True

    t0 = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(playbooks_dir()),
        playbook=playbook,
        inventory=str(inventory),
        limit=",".join(hosts),
        forks=forks,
        tags=",".join(tags) if tags else None,
        extravars=dict(extravars or {}),
        envvars=envvars,
        ident=ident,
        quiet=True,
        rotate_artifacts=200,
        event_handler=handler,
        timeout=timeout,
    )
    seconds = time.monotonic() - t0
    # hosts that failed and then were rescued are ok: the stats said which really failed
    failed_in_stats = {h for h, o in outcomes.items() if not o.ok}
    for h, o in outcomes.items():
        if h not in failed_in_stats and o.failed_task is not None:
            o.failed_task = o.failed_role = o.failed_on = o.message = None
            o.unreachable = False
    for h, o in outcomes.items():
        if h not in processed and o.ok:
            # e.g. a `serial` batch failed as a whole and Ansible skipped the later batches
            o.ok, o.ran = False, False
            o.message = "not run: the play stopped before it reached this host"
    if runner.status not in ("successful", "failed"):
        # timeout, canceled, error: nobody can be trusted to have finished
        for o in outcomes.values():
            if o.ok:
                o.ok = False
                o.message = f"ansible-playbook ended with status {runner.status} (rc {runner.rc})"
    elif runner.status == "failed" and not failed_in_stats:
        for o in outcomes.values():
            o.ok = False
            o.message = o.message or (
                f"ansible-playbook failed (rc {runner.rc}); see "
                f"{private_data_dir / 'artifacts' / ident / 'stdout'}"
            )
    return PlaybookResult(
        playbook=playbook,
        ident=ident,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        seconds=seconds,
        hosts=outcomes,
        stats=stats,
        artifacts=private_data_dir / "artifacts" / ident,
    )

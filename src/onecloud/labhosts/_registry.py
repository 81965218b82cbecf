"""The registry of lab hosts: which hosts exist, with which spec and PID (a JSON file).

Written atomically (temporary file + rename) so a killed `up` never leaves a torn file; changes
happen under an exclusive `fcntl` lock so two commands never change the lab at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from onecloud._files import write_atomic
from onecloud.errors import LabError
from onecloud.labhosts._model import HostSpec, PortPlug

VERSION = 1


@dataclass
class HostRecord:
    """A host as started: its spec and what the machine knows about it."""

    spec: HostSpec
    pid: int | None = None
    netns: str = ""
    veth: str = ""
    machine_id: str = ""
    started_at: float = 0.0

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["spec"]["workloads"] = list(self.spec.workloads)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> HostRecord:
        spec_data = dict(data["spec"])  # type: ignore[call-overload]
        spec_data["workloads"] = tuple(spec_data.get("workloads") or ())
        if spec_data.get("port"):
            spec_data["port"] = PortPlug(**spec_data["port"])
        return cls(
            spec=HostSpec(**spec_data),
            pid=data.get("pid"),  # type: ignore[arg-type]
            netns=str(data.get("netns") or ""),
            veth=str(data.get("veth") or ""),
            machine_id=str(data.get("machine_id") or ""),
            started_at=float(data.get("started_at") or 0.0),  # type: ignore[arg-type]
        )


@dataclass
class Registry:
    hosts: dict[str, HostRecord] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"version": VERSION, "hosts": {n: r.to_json() for n, r in sorted(self.hosts.items())}},
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, *, where: str) -> Registry:
        try:
            data = json.loads(text)
            if data.get("version") != VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            hosts = {n: HostRecord.from_json(r) for n, r in data["hosts"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LabError(
                f"the lab host registry {where} is unreadable: {exc}",
                hint=f"run `onecloud lab down` to clean up, or delete {where} if no host runs",
            ) from exc
        return cls(hosts=hosts)


def load(path: Path) -> Registry:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Registry()
    return Registry.from_json(text, where=str(path))


def save(path: Path, registry: Registry) -> None:
    """Atomic replace: readers see the old or the new file, never half of one."""
    write_atomic(path, registry.to_json())


@contextlib.contextmanager
def locked(lock_path: Path, *, timeout: float = 300.0) -> Iterator[None]:
    """Exclusive lock for changing the lab's hosts; waits for another `up`/`down` to finish."""
    import time

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(
                        f"another onecloud command holds the lab host lock {lock_path}"
                        f" for more than {timeout:.0f} s",
                        hint="wait for it to finish; the lock is released when it exits",
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)

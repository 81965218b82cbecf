"""Per-run inventories, resumed pre-flights and no-check verification (no hosts, no Ansible)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from onecloud.contract._ledger import Ledger
from onecloud.contract._spec import SystemSpec
from onecloud.migrate import _inventory as inv
from onecloud.migrate import _orchestrate as orchestrate
from onecloud.migrate._preflight import DISK_SPACE, Finding, HostReport
from onecloud.migrate._sshprobe import SystemPreflight
from onecloud.verify import _verify


@pytest.fixture()
def ledger(tmp_path: Path):
    led = Ledger.open(tmp_path / "l.sqlite")
    yield led
    led.close()


@pytest.fixture()
def generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "generated"
    monkeypatch.setattr(inv, "default_dir", lambda stack: root / stack)
    return root


def test_each_run_renders_its_own_inventory(
    generated: Path, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    stack_specs = list(specs.values())
    a = orchestrate._render_run_inventory(
        ledger, "lab", stack_specs, "run-a", ssh_config=None, app_paths={}, digest="x"
    )
    b = orchestrate._render_run_inventory(
        ledger, "lab", stack_specs, "run-b", ssh_config=None, app_paths={}, digest="x"
    )
    assert a == generated / "lab" / "run-a" and b == generated / "lab" / "run-b"
    assert (a / "hosts.yml").exists() and (b / "hosts.yml").exists()  # a is left alone
    latest = generated / "lab" / "latest"
    assert latest.is_symlink() and os.readlink(latest) == "run-b"
    assert (latest / "hosts.yml").exists()


def test_a_dry_run_renders_outside_the_run_inventories(generated: Path) -> None:
    d = orchestrate.dry_run_inventory_dir("lab")
    assert generated not in d.parents and d.parent.is_dir()


def test_old_inventories_are_pruned_but_not_those_of_running_runs(
    generated: Path, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    base = generated / "lab"
    for i in range(6):
        d = base / f"run-{i}"
        d.mkdir(parents=True)
        os.utime(d, (time.time() - 1000 + i, time.time() - 1000 + i))
    (base / "notes").mkdir()  # not a run inventory: never touched
    wave = next(s.wave for s in specs.values() if s.wave is not None)
    ledger.acquire(f"wave:{wave}", "run-0")
    protect = orchestrate._run_ids_holding_locks(ledger, list(specs.values()))
    assert protect == {"run-0"}
    removed = orchestrate.prune_inventories(base, protect, keep=2)
    assert sorted(removed) == ["run-1", "run-2", "run-3"]
    assert sorted(p.name for p in base.iterdir()) == ["notes", "run-0", "run-4", "run-5"]


def _pre(spec: SystemSpec) -> SystemPreflight:
    target = spec.pairs[0].target.name
    source = spec.pairs[0].source.name
    disk = Finding(
        target,
        "error",
        "not enough disk space for the data at /srv: 100 MiB free, 125 MiB needed",
        "grow the target's volume",
        code=DISK_SPACE,
    )
    tool = Finding(source, "error", "missing tools: rsync", "apt-get install rsync")
    return SystemPreflight(
        spec.id,
        (
            HostReport(target, "target", spec.id, (disk,), None, 0.1),
            HostReport(source, "source", spec.id, (tool,), None, 0.1),
        ),
        {},
    )


def test_a_resumed_system_is_not_refused_for_data_already_copied(
    ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    spec = specs["edu-portal"]
    ledger.ensure_system(spec.id, stack="lab", wave=1)
    assert not orchestrate.resumed_after_warm_copy(ledger, spec.id)
    fresh = orchestrate._errors(spec, _pre(spec), resumed=False)
    assert [f.what.split(":")[0] for f in fresh] == [
        "not enough disk space for the data at /srv",
        "missing tools",
    ]
    ledger.set_state(spec.id, "presynced")
    assert orchestrate.resumed_after_warm_copy(ledger, spec.id)
    resumed = orchestrate._errors(spec, _pre(spec), resumed=True)
    assert [f.what for f in resumed] == ["missing tools: rsync"]  # other checks still count


def test_a_system_with_no_checks_fails_verification(specs: dict[str, SystemSpec]) -> None:
    bare = replace(specs["edu-portal"], services=(), data_paths=(), databases=())
    assert _verify.checks_for(bare, "migrated") == []
    seen: list[object] = []
    results = _verify.verify_systems([(bare, "migrated")], None, on_result=seen.append)
    assert len(results) == 1 and not results[0].ok and seen == results
    assert results[0].check.system == bare.id
    assert results[0].detail == (
        f"no checks derived for {bare.id}: it declares no services, ports, health URLs or"
        " data; add them to the census or retire it"
    )
    ok, detail = _verify.verify_for_migration(bare, ssh_config=None)
    assert not ok and "no checks derived" in detail

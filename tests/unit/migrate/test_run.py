"""The runner's state machine over a fake playbook driver (no Ansible, no hosts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from onecloud.contract._ledger import Ledger
from onecloud.contract._spec import SystemSpec
from onecloud.migrate import _orchestrate as orchestrate
from onecloud.migrate import _run as runner_mod
from onecloud.migrate._outcome import RunOptions
from onecloud.migrate._playbooks import HostOutcome, PlaybookResult, TaskEvent
from onecloud.migrate._run import MigrationRun

ROLES = {"freeze": "freeze_system", "sync": "sync_system", "switch": "switch_system"}


class FakeAnsible:
    """Plays back events; `fail` maps (playbook, source host) -> (role, task, on_host, msg)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], list[str] | None]] = []
        self.fail: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        self.skip: set[str] = set()  # hosts a play never reaches (a failed `serial` batch)
        self.stats: dict[str, Any] | None = None  # set_stats figures (default: a copy's)
        self.extravars: list[dict[str, Any]] = []  # each call's extra variables

    def __call__(
        self,
        playbook: str,
        *,
        hosts: Sequence[str],
        tags: Sequence[str] | None = None,
        on_event: Callable[[TaskEvent], None] | None = None,
        extravars: dict[str, Any] | None = None,
        **_: Any,
    ) -> PlaybookResult:
        self.calls.append((playbook, list(hosts), list(tags) if tags else None))
        self.extravars.append(dict(extravars or {}))
        outcomes = {}
        for h in hosts:
            o = HostOutcome(h)
            if h in self.skip and playbook == "cutover_system.yml":
                o.ok, o.ran, o.message = False, False, "not run"
                outcomes[h] = o
                continue
            failure = self.fail.get((playbook, h))
            if playbook == "cutover_system.yml":
                for step in tags or ["freeze", "sync", "switch"]:
                    role = ROLES[step]
                    if failure and failure[0] == role:
                        break
                    if on_event:
                        on_event(TaskEvent("ok", h, h, role, f"a task of {step}", "", time.time()))
            if failure:
                o.ok = False
                o.failed_role, o.failed_task, o.failed_on, o.message = failure
            outcomes[h] = o
        status = "failed" if any(not o.ok for o in outcomes.values()) else "successful"
        stats = (
            self.stats
            if self.stats is not None
            else {"copy_data": {h: {"digest": "d", "copied": True, "stats": []} for h in hosts}}
        )
        return PlaybookResult(playbook, f"id-{len(self.calls)}", status, 0, 0.1, outcomes, stats)


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAnsible:
    f = FakeAnsible()
    monkeypatch.setattr(runner_mod, "run_playbook", f)
    return f


@pytest.fixture()
def ledger(tmp_path: Path):
    led = Ledger.open(tmp_path / "l.sqlite")
    yield led
    led.close()


def make(
    specs: dict[str, SystemSpec],
    ledger: Ledger,
    ids: list[str],
    *,
    verify: Callable[[SystemSpec], tuple[bool, str]] | None = None,
    until: str = "completed",
) -> MigrationRun:
    opts = RunOptions(
        forks=5,
        until=until,
        inventory=Path("/inv"),  # type: ignore[arg-type]
        verify=verify or (lambda s: (True, "all checks passed")),
        private_data_dir=Path("/tmp/unused"),
    )
    return MigrationRun([specs[i] for i in ids], ledger, opts)


def test_happy_path_walks_every_state(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    out = make(specs, ledger, ["edu-portal", "civil-ledger"]).execute()
    assert all(o.ok and o.state == "completed" for o in out)
    assert [c[0] for c in fake.calls] == [
        "preflight_system.yml",
        "presync_system.yml",
        "cutover_system.yml",
    ]
    assert fake.calls[2][2] == ["freeze", "sync", "switch"]
    steps = [(e.step, e.outcome) for e in ledger.events("edu-portal")]
    assert steps == [
        (s, "ok")
        for s in ("preflight", "presync", "freeze", "sync", "switch", "verify", "complete")
    ]
    rec = ledger.system("edu-portal")
    assert rec is not None and rec.downtime_seconds is not None and rec.downtime_seconds >= 0


def test_failure_mid_cutover_rolls_back_that_system_only(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    fake.fail[("cutover_system.yml", "civil-app-01")] = (
        "copy_data",
        "Copy with rsync from the source to the target",
        "civil-ledger-1",
        "rsync: write failed: No space left on device (28)",
    )
    out = {o.system: o for o in make(specs, ledger, ["edu-portal", "civil-ledger"]).execute()}
    assert out["edu-portal"].ok and out["edu-portal"].state == "completed"
    bad = out["civil-ledger"]
    assert not bad.ok and bad.step == "sync" and bad.host == "civil-ledger-1"
    assert bad.rolled_back is True and bad.state == "presynced"
    assert ("rollback_system.yml", ["civil-app-01"], None) in fake.calls
    failed = [e for e in ledger.events("civil-ledger") if e.outcome == "failed"]
    assert len(failed) == 1 and "No space left" in (failed[0].detail or "")
    assert failed[0].task == "Copy with rsync from the source to the target"
    rec = ledger.system("civil-ledger")
    assert rec is not None and "sync failed on civil-ledger-1" in (rec.last_error or "")


def test_resume_runs_only_the_remaining_cutover_steps(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    ledger.ensure_system("edu-portal", stack="lab", wave=1)
    ledger.set_state("edu-portal", "synced")
    ledger.mark_freeze_start("edu-portal", "2026-01-01T00:00:00.000Z")
    out = make(specs, ledger, ["edu-portal"]).execute()
    assert out[0].ok and out[0].state == "completed"
    assert fake.calls[0] == ("cutover_system.yml", ["edu-web-01"], ["switch"])


def test_failed_verification_rolls_back(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    out = make(
        specs,
        ledger,
        ["edu-portal"],
        verify=lambda s: (False, "edu-portal-1 data equals edu-web-01's: differ"),
    ).execute()
    o = out[0]
    assert not o.ok and o.step == "verify" and o.rolled_back and o.state == "presynced"


def test_failed_rollback_is_finished_by_the_next_run(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    fake.fail[("cutover_system.yml", "edu-web-01")] = (
        "sync_system",
        "Copy",
        "edu-web-01",
        "unreachable",
    )
    fake.fail[("rollback_system.yml", "edu-web-01")] = (
        "rollback_system",
        "Start the services on the source",
        "edu-web-01",
        "unreachable",
    )
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert o.rolled_back is False
    rec = ledger.system("edu-portal")
    assert rec is not None and rec.rollback_pending and rec.state == "frozen"
    fake.fail.clear()
    fake.calls.clear()
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert fake.calls[0][0] == "rollback_system.yml"  # first the pending rollback
    assert o.ok and o.state == "completed"


def test_preflight_failure_changes_nothing(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    run = make(specs, ledger, ["edu-portal", "civil-ledger"])
    out = {
        o.system: o
        for o in run.execute({"civil-ledger": ("civil-ledger-1", "not enough disk space")})
    }
    assert out["civil-ledger"].state == "planned" and out["civil-ledger"].step == "preflight"
    assert all("civil-app-01" not in hosts for _p, hosts, _t in fake.calls)
    assert out["edu-portal"].ok


def test_until_stops_after_the_warm_copy(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    out = make(specs, ledger, ["edu-portal"], until="presynced").execute()
    assert out[0].state == "presynced" and out[0].ok
    assert [c[0] for c in fake.calls] == ["preflight_system.yml", "presync_system.yml"]


def test_a_cutover_never_reached_is_not_rolled_back(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    fake.skip.add("civil-app-01")
    out = {o.system: o for o in make(specs, ledger, ["edu-portal", "civil-ledger"]).execute()}
    assert out["edu-portal"].ok
    o = out["civil-ledger"]
    assert not o.ok and o.state == "presynced" and o.rolled_back is None
    assert "not started" in (o.message or "")
    assert all(c[0] != "rollback_system.yml" for c in fake.calls)


def _retire(
    ledger: Ledger, spec: SystemSpec
) -> tuple[runner_mod.PlaybookResult, runner_mod.Verdict]:
    """What `retire` does once it holds the lock: one playbook step of a one-system run."""
    run = MigrationRun([spec], ledger, RunOptions(inventory=Path("/inv")), run_id="retire-1")
    result, verdicts = run.play_step(orchestrate._retire_step(ledger), [spec.id])
    return result, verdicts[spec.id]


def test_retire_is_a_playbook_step(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    spec = specs["edu-portal"]
    ledger.ensure_system(spec.id, stack="lab", wave=1)
    ledger.set_state(spec.id, "completed")
    fake.stats = {"retire_system": {"edu-web-01": {"sha256": "abc", "archive": "/a.tgz"}}}
    result, verdict = _retire(ledger, spec)
    assert verdict.ok and orchestrate._archive_sha(result) == "abc"
    assert fake.calls == [("retire_system.yml", ["edu-web-01"], None)]
    [ev] = ledger.events(spec.id)
    assert (ev.step, ev.outcome, ev.state_before, ev.state_after, ev.detail, ev.playbook_run) == (
        "retire",
        "ok",
        "completed",
        "retired",
        "archive sha256 abc",
        "id-1",
    )
    assert ledger.manifests(spec.id, "archive") == {("edu-web-01", "archive", "/a.tgz"): "abc"}
    rec = ledger.system(spec.id)
    assert rec is not None and rec.state == "retired"


def test_a_failed_retire_leaves_the_system_completed(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    spec = specs["edu-portal"]
    ledger.ensure_system(spec.id, stack="lab", wave=1)
    ledger.set_state(spec.id, "completed")
    fake.fail[("retire_system.yml", "edu-web-01")] = (
        "retire_system",
        "Archive the data",
        "edu-web-01",
        "tar: disk full",
    )
    _result, verdict = _retire(ledger, spec)
    assert not verdict.ok
    assert (verdict.host, verdict.task, verdict.message) == (
        "edu-web-01",
        "Archive the data",
        "tar: disk full",
    )
    [ev] = ledger.events(spec.id)
    assert (ev.outcome, ev.host, ev.task, ev.detail) == (
        "failed",
        "edu-web-01",
        "Archive the data",
        "tar: disk full",
    )
    rec = ledger.system(spec.id)
    assert rec is not None and rec.state == "completed" and rec.last_error is None


def _no_verify(specs: dict[str, SystemSpec], ledger: Ledger, ids: list[str]) -> MigrationRun:
    """A run as `--no-verify` makes it: no verifier."""
    opts = RunOptions(
        forks=5, inventory=Path("/inv"), verify=None, private_data_dir=Path("/tmp/unused")
    )
    return MigrationRun([specs[i] for i in ids], ledger, opts)


def test_no_verify_leaves_the_system_switched(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    o = _no_verify(specs, ledger, ["edu-portal"]).execute()[0]
    assert o.ok and o.verify_skipped and o.state == "switched"
    assert "verification skipped" in (o.message or "")
    steps = [e.step for e in ledger.events("edu-portal")]
    assert "verify" not in steps and "complete" not in steps
    rec = ledger.system("edu-portal")
    assert rec is not None and rec.state == "switched" and rec.last_error is None
    # a later run with a verifier verifies and completes it, and runs no playbook
    fake.calls.clear()
    checked: list[str] = []

    def verify(spec: SystemSpec) -> tuple[bool, str]:
        checked.append(spec.id)
        return True, "12 checks passed"

    o = make(specs, ledger, ["edu-portal"], verify=verify).execute()[0]
    assert o.ok and not o.verify_skipped and o.state == "completed"
    assert checked == ["edu-portal"] and fake.calls == []
    assert [(e.step, e.outcome) for e in ledger.events("edu-portal")][-2:] == [
        ("verify", "ok"),
        ("complete", "ok"),
    ]


def test_source_changed_after_a_rollback_is_caught_by_the_final_sync(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    # run 1: the switch fails, the rollback brings the system back to presynced
    fake.fail[("cutover_system.yml", "edu-web-01")] = (
        "switch_system",
        "Check the health URLs",
        "edu-portal-1",
        "HTTP 503",
    )
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert o.rolled_back and o.state == "presynced"
    warm = ledger.manifests("edu-portal", "tree")
    # the source serves (and is written) again; run 2 does not warm-copy again: its cutover's
    # final rsync copies the change and the digest comparison of the sync step decides
    fake.fail = {
        ("cutover_system.yml", "edu-web-01"): (
            "sync_system",
            "Compare the data digests of source and target",
            "edu-web-01",
            "digests differ for /srv/edu-portal/data",
        )
    }
    fake.calls.clear()
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert [c[0] for c in fake.calls] == ["cutover_system.yml", "rollback_system.yml"]
    assert fake.calls[0][2] == ["freeze", "sync", "switch"]
    assert not o.ok and o.step == "sync" and o.rolled_back and o.state == "presynced"
    assert "digests differ" in (o.message or "")
    assert ledger.manifests("edu-portal", "tree") == warm  # presync never ran again
    # run 3: the final rsync brought the target up to date, the digests match
    fake.fail.clear()
    fake.calls.clear()
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert o.ok and o.state == "completed"
    assert [c[0] for c in fake.calls] == ["cutover_system.yml"]


def _rollback_flags(fake: FakeAnsible) -> list[tuple[list[str], object]]:
    """(hosts, rollback_system_write_back) of every rollback play, in order."""
    return [
        (hosts, x.get("rollback_system_write_back"))
        for (pb, hosts, _t), x in zip(fake.calls, fake.extravars, strict=True)
        if pb == "rollback_system.yml"
    ]


@pytest.mark.parametrize(
    ("state", "write_back"),
    [
        ("preflighted", False),
        ("presynced", False),
        ("frozen", False),
        ("synced", False),
        ("switched", True),
        ("verified", True),
    ],
)
def test_the_write_back_flag_is_set_exactly_when_the_target_served(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec], state: str, write_back: bool
) -> None:
    ledger.ensure_system("edu-portal", stack="lab", wave=1)
    ledger.set_state("edu-portal", state, rollback_pending=True)  # type: ignore[arg-type]
    make(specs, ledger, ["edu-portal"], until="presynced").execute()
    assert _rollback_flags(fake)[0] == (["edu-web-01"], write_back)
    [ev] = [e for e in ledger.events("edu-portal") if e.step == "rollback"]
    assert ev.outcome == "ok"
    assert ("wrote back" in (ev.detail or "")) is write_back
    assert ("no write-back needed (target never served)" in (ev.detail or "")) is not write_back


def test_a_failed_verification_writes_the_target_back_and_says_so(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    fake.stats = {
        "copy_data": {
            "edu-web-01": {
                "digest": "abc123",
                "copied": True,
                "stats": [["Number of regular files transferred", "3"]],
            }
        },
        "rollback_system": {"edu-web-01": {"target": "edu-portal-1", "databases": 0}},
    }
    o = make(
        specs, ledger, ["edu-portal"], verify=lambda s: (False, "edu-portal-1 data differs")
    ).execute()[0]
    assert not o.ok and o.step == "verify" and o.rolled_back and o.state == "presynced"
    assert _rollback_flags(fake) == [(["edu-web-01"], True)]
    ev = ledger.events("edu-portal")[-1]
    assert (ev.step, ev.outcome, ev.state_before, ev.state_after) == (
        "rollback",
        "ok",
        "switched",
        "presynced",
    )
    assert "wrote back 3 file(s) and 0 database(s) from edu-portal-1 (sha256 abc123)" in (
        ev.detail or ""
    )


def test_a_mixed_rollback_runs_one_play_per_kind(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    for sid, state in (("edu-portal", "switched"), ("civil-ledger", "frozen")):
        ledger.ensure_system(sid, stack="lab", wave=1)
        ledger.set_state(sid, state, rollback_pending=True)  # type: ignore[arg-type]
    make(specs, ledger, ["edu-portal", "civil-ledger"], until="presynced").execute()
    assert _rollback_flags(fake) == [(["civil-app-01"], False), (["edu-web-01"], True)]


def test_a_failed_write_back_leaves_the_source_stopped_and_says_what_to_do(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    fake.fail[("rollback_system.yml", "edu-web-01")] = (
        "rollback_system",
        "Fail if the write-back failed (the source stays stopped)",
        "edu-web-01",
        "write-back of target data failed at Copy with rsync from the target"
        " back to the source: rsync from 198.19.1.11 failed with exit code 11",
    )
    o = make(
        specs, ledger, ["edu-portal"], verify=lambda s: (False, "edu-portal-1 data differs")
    ).execute()[0]
    assert not o.ok and o.rolled_back is False
    rec = ledger.system("edu-portal")
    assert rec is not None
    # not rolled back to a state where the source serves: still switched, rollback pending
    assert (rec.state, rec.rollback_pending) == ("switched", True)
    err = rec.last_error or ""
    assert err.startswith(
        "write-back of target data failed at Copy with rsync from the"
        " target back to the source: rsync from 198.19.1.11 failed"
    )
    assert "the target (edu-portal-1) holds the newest data" in err
    assert "`onecloud migrate --wave 1 --system edu-portal` again (it retries the rollback)" in err
    assert "or start the target again by hand" in err
    assert ledger.events("edu-portal")[-1].outcome == "failed"
    # the next run retries the rollback, with the write-back, before anything else
    fake.fail.clear()
    fake.calls.clear()
    fake.extravars.clear()
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert fake.calls[0][0] == "rollback_system.yml"
    assert fake.extravars[0] == {"rollback_system_write_back": True}
    assert o.ok and o.state == "completed"


def test_a_still_failing_write_back_keeps_its_instructions(
    fake: FakeAnsible, ledger: Ledger, specs: dict[str, SystemSpec]
) -> None:
    ledger.ensure_system("edu-portal", stack="lab", wave=1)
    ledger.set_state("edu-portal", "verified", rollback_pending=True)
    fake.fail[("rollback_system.yml", "edu-web-01")] = (
        "rollback_system",
        "Stop the services on the source",
        "edu-web-01",
        "unreachable",
    )
    o = make(specs, ledger, ["edu-portal"]).execute()[0]
    assert not o.ok and o.step == "rollback"
    assert (o.message or "").startswith(
        "write-back of target data failed at Stop the services on the source: unreachable"
    )
    rec = ledger.system("edu-portal")
    assert rec is not None and (rec.state, rec.rollback_pending) == ("verified", True)
    assert [c[0] for c in fake.calls] == ["rollback_system.yml"]  # nothing else ran

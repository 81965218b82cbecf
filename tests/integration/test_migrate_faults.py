"""Faults after the target served, and runners side by side: no write is lost either way.

- a rollback from `switched`/`verified` writes the target's data back to the source first;
- a source written between a rollback and the rerun reaches the target by the final sync;
- runners on two waves of one stack run at once without disturbing each other.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import (
    ITEST_STACK,
    Lab,
    data_fingerprint,
    get_record,
    health,
    post_record,
    private_lab,
    serving_places,
    ssh,
)

pytestmark = pytest.mark.integration


def _assert_completed_on_target(lab: Lab, kind: str, expect: tuple[str, dict[str, int]]) -> None:
    system = lab.system(kind)
    state, pending, _err = lab.state(system.id)
    assert (state, pending) == ("completed", 0)
    assert serving_places(system) == [system.targets[0].name]
    assert data_fingerprint(system.targets[0].name, system) == expect


def test_writes_on_the_target_after_switch_are_written_back_on_rollback(tmp_path: Path) -> None:
    with private_lab(tmp_path, "wback", ["civil-ledger"], wave=61) as lab:
        s = lab.system("civil-ledger")
        src, tgt = s.sources[0].id, s.targets[0].name
        r = lab.migrate("--until", "switched")
        assert r.returncode == 0, r.stdout + r.stderr
        assert serving_places(s) == [tgt]
        # a client writes on the target once it serves
        rid = post_record(s.targets[0].name, "taken by the target")
        on_target = data_fingerprint(tgt, s)
        # the target now differs from the frozen source: verification fails, rollback
        r = lab.migrate()
        assert r.returncode == 6, r.stdout + r.stderr
        state, pending, err = lab.state(s.id)
        assert (state, pending) == ("presynced", 0), (state, pending, err)
        assert err is not None and "verify failed" in err
        # the source serves again, with the target's write; the target does not serve
        assert serving_places(s) == [src]
        assert health(s.targets[0].name, 8081) is None
        rec = get_record(s.sources[0].id, rid)
        assert rec is not None and rec["memo"] == "taken by the target", rec
        assert data_fingerprint(src, s) == on_target
        last = lab.events(s.id)[-1]
        assert last[:2] == ("rollback", "ok"), lab.events(s.id)
        assert (
            last[4] is not None
            and f"wrote back 1 file(s) and 0 database(s) from {tgt}" in last[4]
            and "sha256 " in last[4]
        ), last
        assert on_target[0] in last[4]  # the digest recorded is the target's tree digest
        # the rerun migrates the source's data, the write included
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        _assert_completed_on_target(lab, "civil-ledger", on_target)
        assert get_record(s.targets[0].name, rid) is not None


def test_a_failed_write_back_leaves_both_stopped_and_says_what_to_do(tmp_path: Path) -> None:
    with private_lab(tmp_path, "wbfail", ["civil-ledger"], wave=62) as lab:
        s = lab.system("civil-ledger")
        tgt = s.targets[0].name
        r = lab.migrate("--until", "switched")
        assert r.returncode == 0, r.stdout + r.stderr
        rid = post_record(s.targets[0].name, "only on the target")
        on_target = data_fingerprint(tgt, s)
        # the copy back cannot run: rsync is missing on the target (its own overlay root)
        assert ssh(tgt, "mv /usr/bin/rsync /usr/bin/rsync.off").returncode == 0
        try:
            r = lab.migrate()
            assert r.returncode == 6, r.stdout + r.stderr
            state, pending, err = lab.state(s.id)
            assert (state, pending) == ("switched", 1), (state, pending, err)
            assert err is not None and err.startswith("write-back of target data failed at ")
            assert "the target" in err and "holds the newest data" in err
            assert f"onecloud migrate --wave 62 --system {s.id}" in err
            assert "start the target again by hand" in err
            # never on stale data: neither the source nor the target serves
            assert serving_places(s) == []
            assert lab.events(s.id)[-1][:2] == ("rollback", "failed")
            assert "Copy with rsync from the target back to the source" in err, err
        finally:
            assert ssh(tgt, "mv /usr/bin/rsync.off /usr/bin/rsync").returncode == 0
        # the cause fixed, the rerun retries the rollback with the write-back, then migrates
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        steps = [(e[0], e[1]) for e in lab.events(s.id)]
        assert ("rollback", "ok") in steps
        _assert_completed_on_target(lab, "civil-ledger", on_target)
        assert get_record(s.targets[0].name, rid) is not None


def test_a_source_written_after_a_rollback_reaches_the_target(tmp_path: Path) -> None:
    with private_lab(tmp_path, "srcchg", ["edu-portal"], wave=63) as lab:
        s = lab.system("edu-portal")
        src, tgt = s.sources[0].id, s.targets[0].name
        r = lab.migrate("--until", "presynced")
        assert r.returncode == 0, r.stdout + r.stderr
        # something else holds the target's port and answers 404 on /health: the switch fails
        squat = ssh(
            tgt,
            f"setsid nohup python3 -m http.server 8080 --bind {s.targets[0].address}"
            " >/dev/null 2>&1 < /dev/null & echo $!",
        )
        assert squat.returncode == 0, squat.stderr
        pid = squat.stdout.strip()
        deadline = time.monotonic() + 10
        while health(s.targets[0].name, 8080) != 404 and time.monotonic() < deadline:
            time.sleep(0.1)
        r = lab.migrate()
        assert r.returncode == 6, r.stdout + r.stderr
        assert ssh(tgt, f"kill {pid}").returncode == 0
        state, pending, err = lab.state(s.id)
        assert (state, pending) == ("presynced", 0), (state, pending, err)
        assert err is not None and "switch failed" in err
        last = lab.events(s.id)[-1]
        assert last[:2] == ("rollback", "ok") and "no write-back needed" in (last[4] or "")
        assert serving_places(s) == [src]
        # the source serves and is written again before the rerun
        assert (
            ssh(
                src,
                "echo late > /srv/webapp/data/late.txt && rm -f"
                ' "$(ls /srv/webapp/data/* | head -1)"',
            ).returncode
            == 0
        )
        latest = data_fingerprint(src, s)
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        _assert_completed_on_target(lab, "edu-portal", latest)
        syncs = [e for e in lab.events(s.id) if e[0] == "sync"]
        assert syncs[-1][1] == "ok" and "digests of source and target equal" in (
            syncs[-1][4] or ""
        ), syncs


def test_two_runners_on_two_waves_of_one_stack_do_not_disturb_each_other(tmp_path: Path) -> None:
    kinds = ["edu-portal", "civil-ledger"]
    with private_lab(tmp_path, "twowave", kinds, wave=64, wave_of={"civil-ledger": 65}) as lab:
        before = {k: data_fingerprint(lab.system(k).sources[0].id, lab.system(k)) for k in kinds}
        assert {lab.system(k).stack for k in kinds} == {ITEST_STACK}
        first = lab.spawn_migrate_wave(64)
        second = lab.spawn_migrate_wave(65)
        out1, _ = first.communicate(timeout=900)
        out2, _ = second.communicate(timeout=900)
        assert first.returncode == 0, out1
        assert second.returncode == 0, out2
        for k in kinds:
            _assert_completed_on_target(lab, k, before[k])
            outcomes = [e[1] for e in lab.events(lab.system(k).id)]
            assert "interrupted" not in outcomes and "failed" not in outcomes, outcomes
        runs = lab.rows("SELECT DISTINCT run_id FROM migration_events")
        assert len(runs) == 2, runs

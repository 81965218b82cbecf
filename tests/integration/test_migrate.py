"""`onecloud migrate` for real between lab SSH hosts, and the faults it must survive.

In every case: no data lost, the service serving from exactly one place (or, while a source is
unreachable, from none: never two), and the ledger telling the truth.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import (
    Lab,
    data_fingerprint,
    health,
    post_record,
    private_lab,
    serving_places,
    ssh,
)

from onecloud.labhosts._model import veth_name

pytestmark = pytest.mark.integration


def _assert_completed_on_target(lab: Lab, kind: str, expect: tuple[str, dict[str, int]]) -> None:
    system = lab.system(kind)
    state, pending, _err = lab.state(system.id)
    assert (state, pending) == ("completed", 0)
    assert serving_places(system) == [system.targets[0].name]
    assert data_fingerprint(system.targets[0].name, system) == expect


def test_a_wave_migrates_for_real_resumes_idempotently_and_retires(tmp_path: Path) -> None:
    kinds = ["edu-portal", "civil-ledger", "health-permits"]
    with private_lab(tmp_path, "e2e", kinds, wave=41) as lab:
        # the warm copy only: the sources keep serving
        r = lab.migrate("--until", "presynced")
        assert r.returncode == 0, r.stdout + r.stderr
        for k in kinds:
            s = lab.system(k)
            assert lab.state(s.id)[0] == "presynced"
            assert serving_places(s) == [s.sources[0].id]
        # a write after the warm copy must reach the target with the final sync
        post_record(lab.system("civil-ledger").sources[0].id, "late")
        before = {k: data_fingerprint(lab.system(k).sources[0].id, lab.system(k)) for k in kinds}
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        assert "migration summary" in r.stdout
        for k in kinds:
            _assert_completed_on_target(lab, k, before[k])
        downtimes = lab.rows("SELECT system_id, downtime_seconds FROM migration_systems")
        assert all(d is not None and d > 0 for _s, d in downtimes), downtimes
        # a rerun has nothing left to do and changes nothing
        n_events = len(lab.rows("SELECT event_id FROM migration_events"))
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(lab.rows("SELECT event_id FROM migration_events")) == n_events
        # retire: refused without --confirm, then archives and shuts the source down
        web = lab.system("edu-portal")
        r = lab.cli("migrate", "retire", "--system", web.id, "--plan", str(lab.plan_path))
        assert r.returncode == 2 and "--confirm" in r.stderr
        r = lab.cli(
            "migrate", "retire", "--system", web.id, "--plan", str(lab.plan_path), "--confirm"
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert lab.state(web.id)[0] == "retired"
        src = web.sources[0].id
        out = ssh(
            src,
            f"cd /var/backups/onecloud/{web.id} && sha256sum archive.tar.gz"
            " && wc -l < manifest.sha256 && test ! -e /etc/init.d/webapp",
        )
        assert out.returncode == 0, out.stderr
        sha = out.stdout.split()[0]
        recorded = lab.rows(
            "SELECT digest FROM data_manifests WHERE system_id = ? AND kind = 'archive'", web.id
        )
        assert recorded == [(sha,)]
        assert int(out.stdout.split()[-1]) >= 200  # every seeded document is in the manifest


def test_a_target_that_runs_out_of_disk_mid_copy_rolls_back(tmp_path: Path) -> None:
    with private_lab(tmp_path, "disk", ["edu-portal"], wave=42, target_disk_mb=24) as lab:
        s = lab.system("edu-portal")
        src, tgt = s.sources[0].id, s.targets[0].name
        before = data_fingerprint(src, s)
        proc = lab.spawn_migrate()
        # the pre-flight saw enough space; then another writer fills the target's disk
        lab.wait_for_event(s.id, "presync", "started")
        fill = ssh(tgt, "head -c 22M /dev/zero > /srv/filler 2>/dev/null; df -k /srv")
        assert fill.returncode == 0, fill.stderr
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 6, out
        state, pending, err = lab.state(s.id)
        assert (state, pending) == ("preflighted", 0)
        assert err is not None and "presync failed" in err, err
        assert "No space left" in err or "disk is full" in err, err
        assert "/srv " in err and "KiB free" in err, err  # the target's free space, measured
        steps = [(e[0], e[1]) for e in lab.events(s.id)]
        assert steps[-2:] == [("presync", "failed"), ("rollback", "ok")]
        # the source never stopped and still holds every byte; the target does not serve
        assert serving_places(s) == [src]
        assert data_fingerprint(src, s) == before
        assert health(s.targets[0].name, 8080) is None
        keys = ssh(tgt, "grep -c onecloud-copy /root/.ssh/authorized_keys || true")
        assert keys.stdout.strip() in ("", "0")
        assert ssh(src, "ls -d /tmp/onecloud-copy.* 2>/dev/null | wc -l").stdout.strip() == "0"
        # space freed: the rerun carries on from where the ledger says
        assert ssh(tgt, "rm -f /srv/filler").returncode == 0
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        _assert_completed_on_target(lab, "edu-portal", before)


def test_a_source_unreachable_during_sync_is_rolled_back_by_the_next_run(tmp_path: Path) -> None:
    with private_lab(tmp_path, "unreach", ["civil-ledger"], wave=43) as lab:
        s = lab.system("civil-ledger")
        src = s.sources[0].id
        before = data_fingerprint(src, s)
        proc = lab.spawn_migrate()
        lab.wait_for_event(s.id, "sync", "started")
        # the machine's end of the source's cable: the host keeps its own addresses and routes
        link = ["ip", "link", "set", "dev", veth_name(src)]
        subprocess.run([*link, "down"], check=True)
        try:
            out, _ = proc.communicate(timeout=600)
            assert proc.returncode == 6, out
            state, pending, err = lab.state(s.id)
            # frozen, and the rollback could not reach the source: the ledger says so
            assert (state, pending) == ("frozen", 1), (state, pending, err)
            ev = lab.events(s.id)
            assert ("sync", "failed") in [(e[0], e[1]) for e in ev]
            assert ev[-1][:2] == ("rollback", "failed")
            # never two places: the target was not started
            assert serving_places(s) == []
        finally:
            subprocess.run([*link, "up"], check=True)
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        steps = [(e[0], e[1]) for e in lab.events(s.id)]
        assert ("rollback", "ok") in steps
        _assert_completed_on_target(lab, "civil-ledger", before)


def test_a_runner_killed_during_switch_is_resumed_and_a_second_runner_refuses(
    tmp_path: Path,
) -> None:
    with private_lab(tmp_path, "kill", ["edu-portal"], wave=44) as lab:
        s = lab.system("edu-portal")
        before = data_fingerprint(s.sources[0].id, s)
        proc = lab.spawn_migrate()
        lab.wait_for_event(s.id, "presync", "started")
        second = lab.migrate(timeout=120)
        assert second.returncode == 6, second.stdout + second.stderr
        assert "being migrated by another runner" in second.stderr
        lab.wait_for_event(s.id, "switch", "started")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        state, _pending, _err = lab.state(s.id)
        assert state == "synced"  # the last step that finished
        assert lab.events(s.id)[-1][:2] == ("switch", "started")
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        assert "took over the lock" in r.stdout
        steps = [(e[0], e[1]) for e in lab.events(s.id)]
        assert ("switch", "interrupted") in steps
        assert [x for x in steps if x[0] == "freeze"] == [("freeze", "ok")]  # not redone
        _assert_completed_on_target(lab, "edu-portal", before)


def test_a_verification_failing_after_switch_rolls_back(tmp_path: Path) -> None:
    with private_lab(tmp_path, "verify", ["edu-portal"], wave=45) as lab:
        s = lab.system("edu-portal")
        src, tgt = s.sources[0].id, s.targets[0].name
        before = data_fingerprint(src, s)
        r = lab.migrate("--until", "switched")
        assert r.returncode == 0, r.stdout + r.stderr
        assert serving_places(s) == [tgt]
        # the target serves and takes a write; verification then fails
        assert ssh(tgt, "echo stray > /srv/webapp/data/stray.txt").returncode == 0
        served = data_fingerprint(tgt, s)
        assert served != before
        r = lab.migrate()
        assert r.returncode == 6, r.stdout + r.stderr
        assert "1 of 1 system(s) failed" in r.stderr
        state, pending, err = lab.state(s.id)
        assert (state, pending) == ("presynced", 0)
        assert err is not None and "verify failed" in err and "data equals" in err
        assert serving_places(s) == [src]
        # the rollback wrote back what the target took: nothing it served is lost
        assert data_fingerprint(src, s) == served
        assert ssh(src, "test -e /srv/webapp/data/stray.txt").returncode == 0
        r = lab.migrate()  # the final sync and its checksum bring the target up to date
        assert r.returncode == 0, r.stdout + r.stderr
        _assert_completed_on_target(lab, "edu-portal", served)

"""`onecloud retire`'s pure logic: selection, evidence and the hold decision, the manifest's
read-back, the certificate, the ledger's retirement tables, the CLI's usage errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from onecloud.cli import main
from onecloud.contract import Ledger, LedgerView
from onecloud.errors import UsageError
from onecloud.paths import PROJECT_ROOT
from onecloud.plan._io import load_plan
from onecloud.retire import (
    ArchiveCheck,
    Confirmation,
    UsageClaim,
    build_certificate,
    build_retire_spec,
    judge,
    parse_manifest,
    parse_probe,
    select_retiring,
    verify_archive,
)
from onecloud.retire._evidence import Rules
from onecloud.retire._manifest import system_digest

PLAN = PROJECT_ROOT / "inventory" / "plan.yml"


def _spec(last: str | None = "2025-09-27", cpu: float = 0.3):
    plan = load_plan(PLAN)
    claim = UsageClaim(
        last_access=dt.date.fromisoformat(last) if last else None,
        active_users=0,
        cpu_percent=cpu,
        census_date=dt.date(2026, 11, 1),
    )
    return build_retire_spec(plan.system("health-stats-2019"), claim)


def _probe(last: str | None, **extra: object) -> dict[str, object]:
    log = {"path": "/var/log/apache2/access.log", "exists": last is not None, "last_access": last}
    return {"probed_at": "2026-12-02T10:00:00Z", "logs": [log], "cpu_percent": 0.1, **extra}


def test_select_the_systems_the_plan_retires() -> None:
    plan = load_plan(PLAN)
    ids = [s.id for s in select_retiring(plan, wave=1)]
    assert ids == ["civil-wechat-backend", "health-stats-2019"]  # retired leave with wave 1
    with pytest.raises(UsageError, match="edu-portal \\(the plan says migrate\\)"):
        select_retiring(plan, system_ids=["edu-portal"])
    with pytest.raises(UsageError, match="wave 2 retires no system"):
        select_retiring(plan, wave=2)
    with pytest.raises(UsageError, match="say what to retire"):
        select_retiring(plan)


def test_old_evidence_agrees_with_the_plan() -> None:
    spec = _spec()
    v = judge(spec, {"health-old-01": parse_probe("health-old-01", _probe("2025-09-27T15:00:00Z"))})
    assert v.decision == "retire" and not v.reasons
    assert "last access 2025-09-27" in v.summary


def test_a_recent_access_or_a_client_holds_it() -> None:
    spec = _spec()
    raw = _probe(
        "2026-12-01T09:00:00Z",
        established=[{"local_port": 8080, "peer": "198.18.0.99", "process": "python3"}],
        listening=[{"address": "198.18.0.23", "port": 8080, "process": "python3"}],
    )
    v = judge(spec, {"health-old-01": parse_probe("health-old-01", raw)})
    assert v.held
    text = " ".join(v.reasons)
    assert "after the census's last access 2025-09-27" in text
    assert "established connection(s) to tcp 8080 from 198.18.0.99" in text
    assert "does not declare" in text  # 8080 listens but the census declares no service


def test_loopback_clients_ssh_and_quiet_cpu_do_not_hold() -> None:
    spec = _spec()
    raw = _probe(
        "2025-09-27T15:00:00Z",
        established=[],
        listening=[
            {"address": "198.18.0.23", "port": 22, "process": "sshd"},
            {"address": "127.0.0.1", "port": 5432, "process": "postgres"},
        ],
        cpu_percent=5.0,
    )
    assert not judge(spec, {"h": parse_probe("h", raw)}).held
    busy = dict(raw, cpu_percent=80.0)
    assert "CPU" in judge(spec, {"h": parse_probe("h", busy)}).reasons[0]


def test_without_a_census_date_a_recent_access_within_quiet_days_holds() -> None:
    spec = _spec(last=None)
    recent = parse_probe("h", _probe("2026-11-20T00:00:00Z"))
    old = parse_probe("h", _probe("2026-09-01T00:00:00Z"))
    assert judge(spec, {"h": recent}, Rules(quiet_days=30)).held
    assert not judge(spec, {"h": old}, Rules(quiet_days=30)).held


def _archive(tmp_path: Path, files: dict[str, bytes], manifest: dict[str, bytes] | None = None):
    tar_path, man_path = tmp_path / "archive.tar", tmp_path / "manifest.sha256"
    with tarfile.open(tar_path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    lines = [f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in (manifest or files).items()]
    man_path.write_text("".join(lines))
    return tar_path, man_path


def test_an_archive_reads_back_against_its_manifest(tmp_path: Path) -> None:
    tar, man = _archive(tmp_path, {"srv/a/x": b"one", "srv/a/y": b"two"})
    sha = hashlib.sha256(tar.read_bytes()).hexdigest()
    check = verify_archive("h", tar, man, expected_tar_sha256=sha)
    assert check.ok and (check.files, check.bytes) == (2, 6)


def test_a_corrupt_or_incomplete_archive_fails(tmp_path: Path) -> None:
    tar, man = _archive(tmp_path, {"srv/a/x": b"one"}, {"srv/a/x": b"ONE", "srv/a/z": b"3"})
    check = verify_archive("h", tar, man, expected_tar_sha256="0" * 64)
    text = " ".join(check.problems)
    assert not check.ok
    assert "the copy differs" in text
    assert "srv/a/x: sha256" in text
    assert "1 manifest file(s) not in the archive" in text
    assert not verify_archive("h", tmp_path / "none.tar", man, expected_tar_sha256=None).ok


def test_manifest_lines_are_parsed_strictly() -> None:
    good = f"{'a' * 64}  srv/x\n\\{'b' * 64}  srv/with\\nbreak\n"
    assert parse_manifest(good) == {"srv/x": "a" * 64, "srv/with\nbreak": "b" * 64}
    with pytest.raises(ValueError, match="line 1"):
        parse_manifest("nonsense\n")
    with pytest.raises(ValueError, match="repeated"):
        parse_manifest(f"{'a' * 64}  x\n{'b' * 64}  x\n")


def test_the_certificate_names_evidence_manifest_and_who() -> None:
    spec = _spec()
    archives = [ArchiveCheck("health-old-01", "t" * 64, "m" * 64, 3, 42)]
    cert = build_certificate(
        spec,
        evidence={"decision": "retire"},
        confirmation=Confirmation(
            "王芳", "unused", "2026-12-02T10:00:00Z", "2026-11-01T00:00:00Z", 14
        ),
        archives=archives,
        archive_dir="/state/archive/health-stats-2019",
        checks=[("svc stopped", True, "stopped")],
        issued_at="2026-12-02T10:01:00.000Z",
        run_id="r1",
    )
    body = json.loads(cert.body)
    assert cert.manifest_digest == system_digest({"health-old-01": "m" * 64})
    assert hashlib.sha256(cert.body.encode()).hexdigest() == cert.body_sha256
    assert body["confirmed"] == {"by": "王芳", "reason": "unused", "at": "2026-12-02T10:00:00Z"}
    assert body["addresses_released"] == [{"host": "health-old-01", "address": "198.18.0.23"}]
    assert cert.certificate_id.startswith("rc-health-stats-2019-20261202T1001")
    assert (cert.archive_files, cert.archive_bytes) == (3, 42)


def test_ledger_keeps_retirements_and_certificates(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    led = Ledger.open(path)
    try:
        led.put_retirement("z", "noticed", wave=1, notice_at="2026-12-01T00:00:00Z")
        rec = led.put_retirement("z", "held", last_error="in use")
        assert (rec.state, rec.notice_at, rec.last_error) == (
            "held",
            "2026-12-01T00:00:00Z",
            "in use",
        )
        with pytest.raises(ValueError, match="unknown retirement field"):
            led.put_retirement("z", "held", bogus=1)
        cert = build_certificate(
            _spec(),
            evidence={},
            confirmation=Confirmation("a", "because", "t", "t", 0),
            archives=[ArchiveCheck("health-old-01", "t" * 64, "m" * 64, 1, 1)],
            archive_dir="/x",
            checks=[],
            issued_at="2026-12-02T10:01:00.000Z",
            run_id=None,
        )
        led.add_certificate(cert)
        led.put_retirement("health-stats-2019", "retired", certificate_id=cert.certificate_id)
        led.mark_restored(cert.certificate_id, by="ops")
        got = led.certificate(cert.certificate_id)
        assert got is not None and got.restored_by == "ops" and got.body == cert.body
    finally:
        led.close()
    view = LedgerView.read(path)
    assert view.retired_ids() == {"health-stats-2019"}
    assert view.retirement("z") is not None


def test_the_report_counts_retired_from_the_ledger(tmp_path: Path) -> None:
    from onecloud.report import progress

    path = tmp_path / "ledger.sqlite"
    led = Ledger.open(path)
    led.put_retirement("health-stats-2019", "retired")
    led.put_retirement("civil-wechat-backend", "held")
    led.close()
    p = progress(load_plan(PLAN), LedgerView.read(path))
    assert (p.total.retire_planned, p.total.retired) == (2, 1)


def test_cli_usage_errors_are_messages_not_tracebacks(tmp_path: Path, capsys) -> None:
    base = ["retire", "--plan", str(PLAN), "--ledger", str(tmp_path / "l.sqlite")]
    assert main(base) == 2
    assert "say what to retire" in capsys.readouterr().err
    assert main([*base, "--system", "edu-portal"]) == 2
    assert "the plan says migrate" in capsys.readouterr().err
    assert main([*base, "--system", "health-stats-2019", "--confirm"]) == 2
    assert "--by NAME --reason" in capsys.readouterr().err
    assert main([*base, "--restore", "health-stats-2019"]) == 2
    assert "only a retired system can be restored" in capsys.readouterr().err
    assert main([*base, "--status"]) == 0
    out = capsys.readouterr().out
    assert "health-st" in out and "planned" in out

"""One `onecloud retire` run (and a restore), without terminal output.

plan + census -> retire specs -> fresh evidence (probe_usage.yml) -> verdict per system ->
notice and confirmation in the ledger -> archive to the controller (archive_system.yml) ->
read-back against the manifest -> shutdown (shutdown_system.yml) -> testinfra -> certificate.
A system is shut down only once every one of its archives verified; a system the evidence
contradicts is held; a retired system is left alone (said so).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from onecloud import paths
from onecloud.census import load_census
from onecloud.contract import Certificate, Ledger, RetirementRecord
from onecloud.contract._ledger import now, parse_time
from onecloud.errors import MigrationError, UsageError
from onecloud.migrate import PlaybookResult, load_plan, run_playbook
from onecloud.plan import Plan
from onecloud.retire._certificate import Confirmation, build_certificate
from onecloud.retire._evidence import (
    HostEvidence,
    Rules,
    Verdict,
    evidence_document,
    judge,
    parse_probe,
)
from onecloud.retire._inventory import render_inventory
from onecloud.retire._manifest import ArchiveCheck, system_digest, verify_archive
from onecloud.retire._spec import (
    RetireSpec,
    UsageClaim,
    build_retire_spec,
    select_retiring,
    usage_claims,
)
from onecloud.verify import Check, CheckResult, run_checks

__all__ = [
    "RestoreOutcome",
    "RetireError",
    "RetireOutcome",
    "RetireRequest",
    "StatusRow",
    "archive_root",
    "events_of",
    "restore_system",
    "retire_systems",
    "retirement_status",
    "serving_checks",
    "shutdown_checks",
]

log = logging.getLogger(__name__)

Status = Literal["retired", "already", "held", "waiting", "dry-run", "failed"]


class RetireError(MigrationError):
    """A retirement or restore that failed on a host (exit 6); the ledger says why."""


def archive_root() -> Path:
    """The controller's archive store: `$ONECLOUD_STATE_DIR/archive/<system>/<host>/`."""
    return paths.state_dir() / "archive"


@dataclass(frozen=True)
class RetireRequest:
    wave: int | None = None
    systems: tuple[str, ...] = ()
    plan_path: Path | None = None
    census_dir: Path | None = None
    confirm: bool = False
    by: str | None = None
    reason: str | None = None
    notice_days: int = 14
    ssh_config: Path | None = None
    ledger: str | None = None
    forks: int = 10
    rules: Rules = field(default_factory=Rules)
    archive_dir: Path | None = None
    #: test hook: called with (system, its archive dir) between the copy and the read-back
    after_copy: Callable[[str, Path], None] | None = None


@dataclass
class RetireOutcome:
    system: str
    status: Status
    detail: str
    hosts: tuple[str, ...] = ()
    verdict: Verdict | None = None
    certificate: Certificate | None = None
    steps: list[str] = field(default_factory=list)  # what a dry run would do
    seconds: float = 0.0
    archive_bytes: int = 0
    archive_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("retired", "already", "dry-run")


@dataclass
class RestoreOutcome:
    system: str
    status: Literal["restored", "already", "dry-run"]
    detail: str
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class StatusRow:
    system: str
    wave: int
    status: str  # plan status (zombie, shadow, unknown)
    record: RetirementRecord | None
    certificate: Certificate | None


# -- set-up ----------------------------------------------------------------------------------
def _census_dir(req_dir: Path | None, plan_path: Path | None) -> Path | None:
    if req_dir is not None:
        return req_dir
    plan = plan_path or paths.plan_file()
    beside = plan.parent / "census"
    if beside.is_dir():
        return beside
    return paths.census_dir() if plan_path is None else None


def _specs(
    req_plan: Path | None,
    req_census: Path | None,
    *,
    wave: int | None,
    systems: Sequence[str],
    say: Callable[[str], None],
) -> tuple[Plan, list[RetireSpec]]:
    plan = load_plan(req_plan)
    chosen = select_retiring(plan, wave=wave, system_ids=list(systems) or None)
    census_dir = _census_dir(req_census, req_plan)
    claims: dict[str, UsageClaim] = {}
    if census_dir is not None and census_dir.is_dir():
        census = load_census(census_dir)
        if census.digest != plan.census_digest:
            say(
                f"warning: the census {census_dir} changed since the plan was made; the usage"
                " evidence is today's census's"
            )
        claims = dict(usage_claims(census))
    else:
        say("no census next to the plan: the census's usage evidence is unknown")
    return plan, [build_retire_spec(s, claims.get(s.id)) for s in chosen]


def _hosts(specs: Sequence[RetireSpec]) -> list[str]:
    return sorted({h.name for s in specs for h in s.hosts})


def _stores(specs: Sequence[RetireSpec], root: Path) -> dict[str, Path]:
    return {s.id: root / s.id for s in specs}


def _inventory(
    specs: Sequence[RetireSpec],
    run_id: str,
    *,
    ssh_config: Path | None,
    root: Path,
    manifests: dict[str, str] | None = None,
) -> Path:
    out = paths.state_dir() / "retire" / "inventory" / run_id
    return render_inventory(
        specs, ssh_config=ssh_config, stores=_stores(specs, root), out_dir=out, manifests=manifests
    )


def _play(
    playbook: str, inventory: Path, specs: Sequence[RetireSpec], forks: int
) -> PlaybookResult:
    return run_playbook(
        playbook,
        inventory=inventory,
        hosts=_hosts(specs),
        private_data_dir=paths.ansible_dir(),
        forks=forks,
    )


def _host_failure(result: PlaybookResult, spec: RetireSpec) -> str | None:
    for h in spec.hosts:
        o = result.hosts.get(h.name)
        if o is None or not o.ok:
            if o is None:
                return f"{h.name}: not in the play"
            what = "unreachable" if o.unreachable else f"task '{o.failed_task}'"
            return f"{o.failed_on or h.name}: {what}: {o.message}"
    return None


# -- checks (testinfra through onecloud.verify) ---------------------------------------------
def shutdown_checks(spec: RetireSpec) -> list[Check]:
    out: list[Check] = []
    for h in spec.hosts:
        for svc in spec.services:
            p = {"service": svc.name}
            out.append(Check(spec.id, h.name, "service_stopped", f"{h.name} {svc.name} stopped", p))
            out.append(
                Check(spec.id, h.name, "service_disabled", f"{h.name} {svc.name} disabled", p)
            )
            out.append(
                Check(
                    spec.id,
                    h.name,
                    "port_closed",
                    f"{h.name} no longer serves {h.address}:{svc.port}",
                    {"address": h.address, "port": svc.port},
                )
            )
    return out


def serving_checks(spec: RetireSpec) -> list[Check]:
    out: list[Check] = []
    for h in spec.hosts:
        for svc in spec.services:
            p = {"service": svc.name}
            out.append(Check(spec.id, h.name, "service_running", f"{h.name} {svc.name} running", p))
            out.append(Check(spec.id, h.name, "service_enabled", f"{h.name} {svc.name} enabled", p))
            addrs = [h.address, "127.0.0.1"] if svc.engine else [h.address]
            out.append(
                Check(
                    spec.id,
                    h.name,
                    "port_listening",
                    f"{h.name} listens on {' or '.join(addrs)}:{svc.port}",
                    {"addresses": addrs, "port": svc.port},
                )
            )
            if svc.health_path:
                url = f"http://{h.address}:{svc.port}{svc.health_path}"
                out.append(
                    Check(spec.id, h.name, "health", f"{h.name} {url} answers 200", {"url": url})
                )
    return out


def _results(results: Sequence[CheckResult]) -> list[tuple[str, bool, str]]:
    return [(r.check.name, r.ok, r.detail) for r in results]


# -- the evidence ------------------------------------------------------------------------------
def _probe(
    specs: Sequence[RetireSpec], inventory: Path, forks: int
) -> tuple[PlaybookResult, dict[str, dict[str, HostEvidence]], dict[str, str]]:
    """(the play, system -> host -> evidence, system -> why its probe failed)."""
    result = _play("probe_usage.yml", inventory, specs, forks)
    raw = result.stats.get("probe_usage") or {}
    evidence: dict[str, dict[str, HostEvidence]] = {}
    failed: dict[str, str] = {}
    for s in specs:
        why = _host_failure(result, s)
        if why is None:
            missing = [h.name for h in s.hosts if h.name not in raw]
            why = f"{', '.join(missing)}: the probe reported nothing" if missing else None
        if why is not None:
            failed[s.id] = why
            continue
        evidence[s.id] = {h.name: parse_probe(h.name, raw[h.name]) for h in s.hosts}
    return result, evidence, failed


def _notice_end(notice_at: str, days: int) -> dt.datetime:
    return parse_time(notice_at) + dt.timedelta(days=days)


# -- retire ----------------------------------------------------------------------------------
def retire_systems(
    req: RetireRequest, *, say: Callable[[str], None] | None = None
) -> list[RetireOutcome]:
    """Retire (or, without `confirm`, describe retiring) the selected systems. Raises only for
    usage problems and held locks; held, waiting and failed systems are outcomes."""
    say = say or (lambda m: log.info("%s", m))
    if req.confirm and not ((req.by or "").strip() and len((req.reason or "").strip()) >= 3):
        raise UsageError(
            "--confirm needs who confirms and why: the ledger records both",
            hint="add --by NAME --reason 'WHY' (the owner's confirmation)",
        )
    if req.notice_days < 0:
        raise UsageError(f"--notice-days {req.notice_days} is negative", hint="use 0 or more")
    _plan, specs = _specs(
        req.plan_path, req.census_dir, wave=req.wave, systems=req.systems, say=say
    )
    root = req.archive_dir or archive_root()
    ssh_config = req.ssh_config or paths.ssh_config()
    ledger = Ledger.open(req.ledger)
    run_id = f"retire-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    held_locks: list[str] = []
    t_start = time.monotonic()
    outcomes: dict[str, RetireOutcome] = {}
    try:
        todo = []
        for s in specs:
            rec = ledger.retirement(s.id)
            if rec is not None and rec.state == "retired":
                outcomes[s.id] = RetireOutcome(
                    s.id,
                    "already",
                    f"already retired (certificate {rec.certificate_id}); nothing to do",
                    hosts=tuple(h.name for h in s.hosts),
                )
            else:
                todo.append(s)
        if todo and req.confirm:
            for s in todo:
                ledger.acquire(f"retire:{s.id}", run_id, sys.argv)
                held_locks.append(f"retire:{s.id}")
        if todo:
            inventory = _inventory(todo, run_id, ssh_config=ssh_config, root=root)
            say(f"probing {len(_hosts(todo))} host(s) of {len(todo)} system(s) for fresh evidence")
            probe, evidence, failed = _probe(todo, inventory, req.forks)
            ready = []
            for s in todo:
                out = _decide(ledger, s, evidence.get(s.id), failed.get(s.id), req, run_id, probe)
                if out is None:
                    ready.append(s)
                else:
                    outcomes[s.id] = out
            if ready:
                for out in _retire_ready(ledger, ready, req, run_id, root, ssh_config, say):
                    outcomes[out.system] = out
        total = time.monotonic() - t_start
        for o in outcomes.values():
            if not o.seconds:
                o.seconds = total
        return [outcomes[s.id] for s in specs]
    finally:
        ok = all(o.ok for o in outcomes.values())
        for name in held_locks:
            try:
                ledger.release(name, run_id, "ok" if ok else "failed")
            except MigrationError as exc:
                log.warning("could not release the lock %s: %s", name, exc)
        ledger.close()


def _decide(
    ledger: Ledger,
    spec: RetireSpec,
    hosts: dict[str, HostEvidence] | None,
    probe_failed: str | None,
    req: RetireRequest,
    run_id: str,
    probe: PlaybookResult,
) -> RetireOutcome | None:
    """Record the evidence and the verdict; None when the system is ready to retire now."""
    names = tuple(h.name for h in spec.hosts)
    rec = ledger.retirement(spec.id)
    if hosts is None:
        detail = f"no fresh evidence: {probe_failed}"
        ledger.record(
            spec.id,
            "evidence",
            "failed",
            run_id=run_id,
            detail=detail,
            playbook_run=probe.ident,
            finished_at=now(),
        )
        ledger.put_retirement(
            spec.id, rec.state if rec else "planned", wave=spec.wave, last_error=detail
        )
        return RetireOutcome(spec.id, "failed", detail + "; nothing was changed", names)
    verdict = judge(spec, hosts, req.rules)
    doc = evidence_document(spec, hosts, verdict)
    stamp = now()
    ledger.record(
        spec.id,
        "evidence",
        "held" if verdict.held else "agrees",
        run_id=run_id,
        detail=verdict.summary + ("; " + "; ".join(verdict.reasons) if verdict.reasons else ""),
        playbook_run=probe.ident,
        finished_at=stamp,
    )
    if verdict.held:
        ledger.put_retirement(
            spec.id,
            "held",
            wave=spec.wave,
            verdict="hold",
            evidence=json.dumps(doc, ensure_ascii=False),
            evidence_at=stamp,
            notice_at=None,
            last_error="held: " + "; ".join(verdict.reasons),
        )
        return RetireOutcome(
            spec.id,
            "held",
            "held, nothing stopped: the fresh evidence contradicts the plan: "
            + "; ".join(verdict.reasons),
            names,
            verdict,
        )
    notice_at = (rec.notice_at if rec is not None else None) or stamp
    if rec is None or rec.notice_at is None:
        ledger.record(
            spec.id,
            "notice",
            "given",
            run_id=run_id,
            detail=f"notice of retirement given on {notice_at[:10]}; owner {spec.owner or '-'}",
            finished_at=stamp,
        )
    ledger.put_retirement(
        spec.id,
        "noticed",
        wave=spec.wave,
        verdict="retire",
        evidence=json.dumps(doc, ensure_ascii=False),
        evidence_at=stamp,
        notice_at=notice_at,
        last_error=None,
    )
    ends = _notice_end(notice_at, req.notice_days)
    steps = [
        f"archive {', '.join(spec.data_paths) or 'no data paths'}"
        + (f" + {len(spec.databases)} database dump(s)" if spec.databases else "")
        + " + application files and access logs to the controller, sha256 manifest, read back",
        f"stop and disable {', '.join(s.name for s in spec.services) or 'no declared service'};"
        f" remove the data; ports {', '.join(map(str, spec.ports)) or '-'} closed (testinfra)",
        f"release {', '.join(f'{h.name} {h.address}' for h in spec.hosts)}; certificate",
    ]
    if not req.confirm:
        when = "now" if ends <= dt.datetime.now(dt.UTC) else f"from {ends:%Y-%m-%d %H:%M} UTC"
        return RetireOutcome(
            spec.id,
            "dry-run",
            f"evidence agrees ({verdict.summary}); would retire {when} with --confirm",
            names,
            verdict,
            steps=steps,
        )
    if dt.datetime.now(dt.UTC) < ends:
        return RetireOutcome(
            spec.id,
            "waiting",
            f"notice given on {notice_at[:10]} runs until {ends:%Y-%m-%d %H:%M} UTC"
            f" ({req.notice_days} days); run again then, or with --notice-days 0 if the owner"
            " waives it",
            names,
            verdict,
        )
    return None


def _fail(
    ledger: Ledger, spec: RetireSpec, step: str, detail: str, run_id: str, ident: str | None
) -> RetireOutcome:
    ledger.record(
        spec.id, step, "failed", run_id=run_id, detail=detail, playbook_run=ident, finished_at=now()
    )
    ledger.put_retirement(spec.id, "failed", last_error=f"{step}: {detail}")
    return RetireOutcome(
        spec.id, "failed", f"{step} failed: {detail}", tuple(h.name for h in spec.hosts)
    )


def _retire_ready(
    ledger: Ledger,
    ready: list[RetireSpec],
    req: RetireRequest,
    run_id: str,
    root: Path,
    ssh_config: Path | None,
    say: Callable[[str], None],
) -> list[RetireOutcome]:
    outcomes: list[RetireOutcome] = []
    by = (req.by or "").strip()
    reason = (req.reason or "").strip()
    confirmed_at = now()
    for s in ready:
        ledger.put_retirement(
            s.id, "noticed", confirmed_by=by, confirm_reason=reason, confirmed_at=confirmed_at
        )
        ledger.record(
            s.id,
            "confirm",
            "ok",
            run_id=run_id,
            detail=f"confirmed by {by}: {reason}",
            finished_at=confirmed_at,
        )
        shutil.rmtree(root / s.id, ignore_errors=True)
    inventory = _inventory(ready, run_id, ssh_config=ssh_config, root=root)
    say(f"archiving {len(ready)} system(s) to {root}")
    t0 = time.monotonic()
    archive = _play("archive_system.yml", inventory, ready, req.forks)
    archive_seconds = time.monotonic() - t0
    figures = archive.stats.get("archive_system") or {}
    verified: list[tuple[RetireSpec, list[ArchiveCheck]]] = []
    for s in ready:
        why = _host_failure(archive, s)
        if why is not None:
            outcomes.append(
                _fail(ledger, s, "archive", why + "; nothing was shut down", run_id, archive.ident)
            )
            continue
        if req.after_copy is not None:
            req.after_copy(s.id, root / s.id)
        checks = [
            verify_archive(
                h.name,
                root / s.id / h.name / "archive.tar",
                root / s.id / h.name / "manifest.sha256",
                expected_tar_sha256=str((figures.get(h.name) or {}).get("tar_sha256") or "")
                or None,
            )
            for h in s.hosts
        ]
        bad = [f"{c.host}: {p}" for c in checks for p in c.problems]
        if bad:
            outcomes.append(
                _fail(
                    ledger,
                    s,
                    "archive",
                    "the archive failed verification, nothing was shut down: " + "; ".join(bad),
                    run_id,
                    archive.ident,
                )
            )
            continue
        size = sum(c.bytes for c in checks)
        digest = system_digest({c.host: c.manifest_sha256 for c in checks})
        mbps = size / 1e6 / archive_seconds if archive_seconds else 0.0
        ledger.record(
            s.id,
            "archive",
            "ok",
            run_id=run_id,
            detail=f"{sum(c.files for c in checks)} files, {size / 1e6:.1f} MB verified against"
            f" the manifest (digest {digest[:16]}); {mbps:.1f} MB/s",
            playbook_run=archive.ident,
            finished_at=now(),
        )
        for c in checks:
            ledger.put_manifest(
                s.id, c.host, "retire-archive", str(root / s.id / c.host), c.tar_sha256
            )
            ledger.put_manifest(
                s.id, c.host, "retire-manifest", str(root / s.id / c.host), c.manifest_sha256
            )
        verified.append((s, checks))
    if not verified:
        return outcomes
    specs = [s for s, _ in verified]
    manifests = {s.id: system_digest({c.host: c.manifest_sha256 for c in cs}) for s, cs in verified}
    inventory = _inventory(specs, run_id, ssh_config=ssh_config, root=root, manifests=manifests)
    say(f"shutting down {len(specs)} system(s)")
    down = _play("shutdown_system.yml", inventory, specs, req.forks)
    say("verifying with testinfra: services stopped and disabled, ports closed")
    for s, checks in verified:
        why = _host_failure(down, s)
        if why is not None:
            outcomes.append(
                _fail(
                    ledger, s, "shutdown", why + "; run the same command again", run_id, down.ident
                )
            )
            continue
        results = _results(run_checks(shutdown_checks(s), ssh_config, workers=8))
        failed = [f"{n}: {d}" for n, ok, d in results if not ok]
        if failed:
            outcomes.append(
                _fail(
                    ledger,
                    s,
                    "shutdown",
                    "verification failed: " + "; ".join(failed),
                    run_id,
                    down.ident,
                )
            )
            continue
        rec = ledger.retirement(s.id)
        assert rec is not None and rec.notice_at is not None
        evidence = json.loads(rec.evidence or "{}")
        issued = now()
        cert = build_certificate(
            s,
            evidence=evidence,
            confirmation=Confirmation(by, reason, confirmed_at, rec.notice_at, req.notice_days),
            archives=checks,
            archive_dir=str(root / s.id),
            checks=results,
            issued_at=issued,
            run_id=run_id,
        )
        ledger.add_certificate(cert)
        (root / s.id / "certificate.json").write_text(
            json.dumps(json.loads(cert.body), ensure_ascii=False, indent=1) + "\n", "utf-8"
        )
        ledger.record(
            s.id,
            "shutdown",
            "ok",
            run_id=run_id,
            detail=f"{len(results)} checks passed: services stopped and disabled, ports closed",
            playbook_run=down.ident,
            finished_at=issued,
        )
        ledger.record(
            s.id,
            "release",
            "ok",
            run_id=run_id,
            detail="addresses released: " + ", ".join(f"{h.name} {h.address}" for h in s.hosts),
            finished_at=issued,
        )
        ledger.put_retirement(s.id, "retired", certificate_id=cert.certificate_id, last_error=None)
        ledger.record(
            s.id,
            "retire",
            "ok",
            run_id=run_id,
            detail=f"certificate {cert.certificate_id}",
            finished_at=issued,
        )
        outcomes.append(
            RetireOutcome(
                s.id,
                "retired",
                f"retired: certificate {cert.certificate_id}, manifest {cert.manifest_digest[:16]}",
                tuple(h.name for h in s.hosts),
                certificate=cert,
                archive_bytes=cert.archive_bytes,
                archive_seconds=archive_seconds,
            )
        )
    return outcomes


# -- restore ---------------------------------------------------------------------------------
def restore_system(
    system_id: str,
    *,
    confirm: bool,
    by: str | None = None,
    reason: str | None = None,
    plan_path: Path | None = None,
    ssh_config: Path | None = None,
    ledger_url: str | None = None,
    archive_dir: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> RestoreOutcome:
    """Bring a retired system back from its archive: copied back, checked against the manifest,
    services enabled and started, verified by testinfra; the certificate is marked restored."""
    say = say or (lambda m: log.info("%s", m))
    if confirm and not (by or "").strip():
        raise UsageError("--restore --confirm needs who asks for it", hint="add --by NAME")
    plan = load_plan(plan_path)
    chosen = select_retiring(plan, system_ids=[system_id])
    spec = build_retire_spec(chosen[0])
    root = archive_dir or archive_root()
    ssh_config = ssh_config or paths.ssh_config()
    ledger = Ledger.open(ledger_url)
    try:
        rec = ledger.retirement(system_id)
        if rec is not None and rec.state == "restored":
            return RestoreOutcome(system_id, "already", "already restored; nothing to do")
        if rec is None or rec.state != "retired" or not rec.certificate_id:
            state = rec.state if rec else "not retired"
            raise UsageError(
                f"{system_id} is {state}: only a retired system can be restored",
                hint=f"see `onecloud retire --status --system {system_id}`",
            )
        cert = ledger.certificate(rec.certificate_id)
        assert cert is not None
        body = json.loads(cert.body)
        hosts = body["archive"]["hosts"]
        checks = [
            verify_archive(
                h.name,
                root / system_id / h.name / "archive.tar",
                root / system_id / h.name / "manifest.sha256",
                expected_tar_sha256=hosts.get(h.name, {}).get("tar_sha256"),
            )
            for h in spec.hosts
        ]
        bad = [f"{c.host}: {p}" for c in checks for p in c.problems]
        if bad:
            raise RetireError(
                f"the archive of {system_id} under {root / system_id} does not match its"
                " certificate: " + "; ".join(bad),
                hint="restore the archive store from its backup; nothing was changed",
            )
        if not confirm:
            return RestoreOutcome(
                system_id,
                "dry-run",
                f"would copy {cert.archive_files} files ({cert.archive_bytes / 1e6:.1f} MB) back"
                f" to {', '.join(h.name for h in spec.hosts)}, check them against the manifest,"
                f" enable and start {', '.join(s.name for s in spec.services) or 'no service'};"
                " add --confirm --by NAME to do it",
            )
        run_id = f"restore-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        lock = f"retire:{system_id}"
        ledger.acquire(lock, run_id, sys.argv)
        t0 = time.monotonic()
        try:
            inventory = _inventory(
                [spec],
                run_id,
                ssh_config=ssh_config,
                root=root,
                manifests={system_id: cert.manifest_digest},
            )
            say(f"restoring {system_id} from {root / system_id}")
            result = _play("restore_system.yml", inventory, [spec], 5)
            why = _host_failure(result, spec)
            if why is not None:
                ledger.record(
                    system_id,
                    "restore",
                    "failed",
                    run_id=run_id,
                    detail=why,
                    playbook_run=result.ident,
                    finished_at=now(),
                )
                raise RetireError(
                    f"restore of {system_id} failed on {why}",
                    hint="fix the host and run the same command again",
                )
            say("verifying with testinfra: services running and enabled, ports, health")
            results = _results(run_checks(serving_checks(spec), ssh_config, workers=8))
            failed = [f"{n}: {d}" for n, ok, d in results if not ok]
            if failed:
                ledger.record(
                    system_id,
                    "restore",
                    "failed",
                    run_id=run_id,
                    detail="verification failed: " + "; ".join(failed),
                    playbook_run=result.ident,
                    finished_at=now(),
                )
                raise RetireError(
                    f"{system_id} was restored but does not serve: " + "; ".join(failed),
                    hint="see the services' logs on the host; the archive is untouched",
                )
            at = now()
            who = (by or "").strip()
            ledger.mark_restored(cert.certificate_id, by=who, at=at)
            ledger.put_retirement(
                system_id,
                "restored",
                notice_at=None,
                confirmed_by=None,
                confirm_reason=None,
                confirmed_at=None,
                last_error=None,
            )
            ledger.record(
                system_id,
                "restore",
                "ok",
                run_id=run_id,
                playbook_run=result.ident,
                detail=f"restored by {who}"
                + (f": {reason}" if reason else "")
                + f"; {len(results)} checks passed; addresses back in use: "
                + ", ".join(f"{h.name} {h.address}" for h in spec.hosts),
                finished_at=at,
            )
        finally:
            ledger.release(lock, run_id, "done")
        return RestoreOutcome(
            system_id,
            "restored",
            f"restored from certificate {cert.certificate_id}; {len(results)} checks passed",
            results,
            time.monotonic() - t0,
        )
    finally:
        ledger.close()


# -- status ----------------------------------------------------------------------------------
def retirement_status(
    *, plan_path: Path | None = None, ledger_url: str | None = None, systems: Sequence[str] = ()
) -> list[StatusRow]:
    """Every system the plan retires (or those named) with its ledger record and certificate."""
    plan = load_plan(plan_path)
    chosen = (
        select_retiring(plan, system_ids=list(systems))
        if systems
        else [s for s in plan.systems if s.disposition == "retire"]
    )
    ledger = Ledger.open(ledger_url)
    try:
        rows = []
        for s in chosen:
            rec = ledger.retirement(s.id)
            cert = ledger.certificate(rec.certificate_id) if rec and rec.certificate_id else None
            rows.append(StatusRow(s.id, s.wave or 1, s.status, rec, cert))
        return rows
    finally:
        ledger.close()


def events_of(system_id: str, ledger_url: str | None = None) -> list[Any]:
    """The retirement steps of a system's audit trail."""
    ledger = Ledger.open(ledger_url)
    try:
        steps = (
            "evidence",
            "notice",
            "confirm",
            "archive",
            "shutdown",
            "release",
            "retire",
            "restore",
        )
        return [e for e in ledger.events(system_id) if e.step in steps]
    finally:
        ledger.close()

"""The retirement certificate: what was seen, what was archived, who confirmed, when. Pure.

The body is canonical JSON (sorted keys, no spaces), so its sha256 names it exactly; the ledger
keeps both (`retirement_certificates`), and a copy lies next to the archive.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from onecloud.contract import Certificate
from onecloud.retire._manifest import ArchiveCheck, system_digest
from onecloud.retire._spec import RetireSpec

__all__ = ["Confirmation", "build_certificate", "canonical"]

SCHEMA = "onecloud.retirement/1"


@dataclass(frozen=True)
class Confirmation:
    by: str
    reason: str
    at: str  # ISO-8601 UTC
    notice_at: str
    notice_days: int


def canonical(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build_certificate(
    spec: RetireSpec,
    *,
    evidence: Mapping[str, Any],
    confirmation: Confirmation,
    archives: Sequence[ArchiveCheck],
    archive_dir: str,
    checks: Sequence[tuple[str, bool, str]],
    issued_at: str,
    run_id: str | None,
) -> Certificate:
    """The certificate of one retirement (every archive verified, every check passed)."""
    manifests = {a.host: a.manifest_sha256 for a in archives}
    digest = system_digest(manifests)
    addresses = [{"host": h.name, "address": h.address} for h in spec.hosts]
    body = {
        "schema": SCHEMA,
        "system": spec.id,
        "name": spec.name,
        "department": spec.department,
        "status": spec.status,
        "plan_reason": spec.reason,
        "owner": spec.owner,
        "evidence": dict(evidence),
        "notice": {"given_at": confirmation.notice_at, "days": confirmation.notice_days},
        "confirmed": {"by": confirmation.by, "reason": confirmation.reason, "at": confirmation.at},
        "archive": {
            "dir": archive_dir,
            "manifest_digest": digest,
            "hosts": {
                a.host: {
                    "tar_sha256": a.tar_sha256,
                    "manifest_sha256": a.manifest_sha256,
                    "files": a.files,
                    "bytes": a.bytes,
                }
                for a in archives
            },
        },
        "shutdown": {
            "services": [s.name for s in spec.services],
            "data_paths_removed": list(spec.data_paths),
            "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in checks],
        },
        "addresses_released": addresses,
        "issued_at": issued_at,
        "run_id": run_id,
    }
    text = canonical(body)
    sha = hashlib.sha256(text.encode()).hexdigest()
    stamp = issued_at.replace("-", "").replace(":", "").replace(".", "")[:15]
    return Certificate(
        certificate_id=f"rc-{spec.id}-{stamp}-{sha[:8]}",
        system_id=spec.id,
        run_id=run_id,
        issued_at=issued_at,
        manifest_digest=digest,
        archive_dir=archive_dir,
        archive_bytes=sum(a.bytes for a in archives),
        archive_files=sum(a.files for a in archives),
        confirmed_by=confirmation.by,
        confirm_reason=confirmation.reason,
        confirmed_at=confirmation.at,
        addresses=json.dumps(addresses),
        body=text,
        body_sha256=sha,
        restored_at=None,
        restored_by=None,
    )

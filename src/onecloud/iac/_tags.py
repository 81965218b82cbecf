"""Tags and metadata every declared resource carries, and how the policy pack reads them back.

OpenStack has two places for labels: `tags` (a list of strings: Keystone projects, Neutron
objects, Nova servers, Glance images) and `metadata` (a string map: Nova servers, Cinder
volumes). We write `key=value` tags and the same pairs as metadata, so that the guardrails, the
operators (`openstack port list --tags system=edu-portal`) and the DR drill find resources the
same way wherever they live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["SHARED_DEPARTMENT", "SHARED_SYSTEM", "labels", "parse_tags", "to_metadata", "to_tags"]

#: department/system labels of shared landing-zone resources (networks, routers, images)
SHARED_DEPARTMENT = "shared"
SHARED_SYSTEM = "landing-zone"
MARK = "onecloud"


def labels(department: str, system: str, **extra: str | int | None) -> dict[str, str]:
    """The label pairs of one resource; None values are left out."""
    out = {"department": department, "system": system}
    out.update({k: str(v) for k, v in extra.items() if v is not None})
    return out


def to_tags(pairs: Mapping[str, str]) -> list[str]:
    """`key=value` tags, sorted (providers return tags as a set: sorted input never diffs)."""
    return sorted([MARK, *(f"{k}={v}" for k, v in pairs.items())])


def to_metadata(pairs: Mapping[str, str]) -> dict[str, str]:
    return {f"{MARK}:{k}": v for k, v in pairs.items()}


def parse_tags(
    tags: Iterable[str] | None = None, metadata: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Labels back from `tags` and/or `metadata` (as a provider or the policy engine sees them)."""
    out: dict[str, str] = {}
    for t in tags or ():
        k, sep, v = str(t).partition("=")
        if sep:
            out[k] = v
    for k, v in (metadata or {}).items():
        if str(k).startswith(MARK + ":"):
            out[str(k)[len(MARK) + 1 :]] = str(v)
    return out

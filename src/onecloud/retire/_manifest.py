"""The archive's checksum manifest: parse it, read the copy back against it, digest it.

A host's archive is `archive.tar` and `manifest.sha256` (`sha256sum` lines, names relative to
/). The copy on the controller is verified by reading it back: the tar's own sha256 must be the
one the source computed, and every regular file in the tar must be in the manifest with the
same sha256, and every manifest entry in the tar. Only then is anything shut down.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ArchiveCheck",
    "file_sha256",
    "parse_manifest",
    "system_digest",
    "verify_archive",
]

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _unescape(name: str) -> str:
    """sha256sum escapes names holding a backslash or a line break (and marks the line)."""
    out, i = [], 0
    while i < len(name):
        ch = name[i]
        if ch == "\\" and i + 1 < len(name):
            nxt = name[i + 1]
            out.append({"n": "\n", "r": "\r", "\\": "\\"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_manifest(text: str) -> dict[str, str]:
    """name (relative to /) -> sha256. Raises ValueError naming the first bad line."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        escaped = line.startswith("\\")
        body = line[1:] if escaped else line
        digest, sep, name = body.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"manifest line {n} is not `<sha256>  <name>`: {line[:80]!r}")
        name = _unescape(name) if escaped else name
        if name.startswith("/") or name in out:
            raise ValueError(f"manifest line {n}: bad or repeated name {name[:80]!r}")
        out[name] = digest
    return out


@dataclass
class ArchiveCheck:
    """The read-back of one host's archive."""

    host: str
    tar_sha256: str = ""
    manifest_sha256: str = ""
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_archive(
    host: str, tar_path: Path, manifest_path: Path, *, expected_tar_sha256: str | None
) -> ArchiveCheck:
    """Read the archive back: its digest, then every file in it against the manifest."""
    check = ArchiveCheck(host)
    try:
        manifest_bytes = manifest_path.read_bytes()
        check.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        manifest = parse_manifest(manifest_bytes.decode("utf-8", "surrogateescape"))
    except (OSError, ValueError) as exc:
        check.problems.append(f"manifest {manifest_path}: {exc}")
        return check
    try:
        check.tar_sha256 = file_sha256(tar_path)
    except OSError as exc:
        check.problems.append(f"archive {tar_path}: {exc}")
        return check
    if expected_tar_sha256 and check.tar_sha256 != expected_tar_sha256:
        check.problems.append(
            f"archive {tar_path} has sha256 {check.tar_sha256[:16]}..., the source made"
            f" {expected_tar_sha256[:16]}... (the copy differs)"
        )
    seen: set[str] = set()
    try:
        with tarfile.open(tar_path, "r:") as tar:
            for member in tar:
                if not member.isreg():
                    continue
                name = member.name
                fh = tar.extractfile(member)
                assert fh is not None
                h = hashlib.sha256()
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
                seen.add(name)
                check.files += 1
                check.bytes += member.size
                want = manifest.get(name)
                if want is None:
                    check.problems.append(f"{name}: in the archive, not in the manifest")
                elif want != h.hexdigest():
                    check.problems.append(
                        f"{name}: sha256 {h.hexdigest()[:16]}... in the archive, {want[:16]}..."
                        " in the manifest"
                    )
    except (OSError, tarfile.TarError, EOFError) as exc:
        check.problems.append(f"archive {tar_path} cannot be read: {exc}")
        return check
    missing = sorted(set(manifest) - seen)
    if missing:
        check.problems.append(
            f"{len(missing)} manifest file(s) not in the archive, e.g. {missing[0]}"
        )
    if len(check.problems) > 10:
        extra = len(check.problems) - 10
        check.problems = [*check.problems[:10], f"... and {extra} more"]
    return check


def system_digest(manifests: Mapping[str, str]) -> str:
    """One digest for a system over its hosts' manifest digests (host -> sha256)."""
    text = "".join(f"{h} {d}\n" for h, d in sorted(manifests.items()))
    return hashlib.sha256(text.encode()).hexdigest()

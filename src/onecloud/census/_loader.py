"""Load `inventory/census/*.yml`: parse, validate, cross-check, and report every problem at once.

I/O lives here only; validation and checks are pure functions over parsed sources.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from onecloud.census._checks import Declared, cross_check
from onecloud.census._models import Census, DepartmentFile, NetworksFile, SitesFile
from onecloud.census._perf import gc_paused
from onecloud.census._problems import Problems
from onecloud.census._validation import validate
from onecloud.census._yamlsource import Source, YamlProblem, parse_file
from onecloud.errors import CensusError, UsageError

SITES = "sites.yml"
NETWORKS = "networks.yml"
DEPT_PREFIX = "dept-"


def _shown(path: Path) -> str:
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:  # outside the working directory: show it in full
        return str(absolute)


def census_files(directory: Path) -> list[Path]:
    """The census files in reading order: sites, networks, then departments by name."""
    if not directory.is_dir():
        raise UsageError(
            f"census directory {directory} does not exist",
            hint="pass the directory holding sites.yml, networks.yml and dept-*.yml",
        )
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml"))
    order = {SITES: 0, NETWORKS: 1}
    return sorted(files, key=lambda p: (order.get(p.name, 2), p.name))


def digest_files(files: list[Path], raws: list[bytes]) -> str:
    h = hashlib.sha256()
    for path, raw in zip(files, raws, strict=True):
        h.update(path.name.encode() + b"\0" + hashlib.sha256(raw).digest())
    return h.hexdigest()


def load_census(directory: Path | str) -> Census:
    """Read and check a census directory; raise CensusError listing every problem."""
    with gc_paused():  # parsing allocates many acyclic objects; see gc_paused
        return _load(Path(directory))


def _load(directory: Path) -> Census:
    files = census_files(directory)
    problems = Problems()
    raws: list[bytes] = []
    sources: list[tuple[str, Source]] = []
    for path in files:
        name = _shown(path)
        try:
            src, raw = parse_file(path, name)
        except YamlProblem as exc:
            raws.append(path.read_bytes())
            for msg in exc.problems:
                problems.add_raw(name, int(msg.split(":")[1]) if ":" in msg else 1, msg)
            continue
        raws.append(raw)
        sources.append((path.name, src))
    if not any(p.name == SITES for p in files):
        problems.add_raw(
            str(directory),
            0,
            f"{_shown(directory)}: no {SITES}; add it (cities, rooms, clouds, segments)",
        )
    return _check(sources, problems, digest_files(files, raws))


def census_from_data(files: dict[str, Any]) -> Census:
    """Validate an in-memory census ({file name: parsed YAML data}) exactly as files would be.

    For generated censuses (benchmarks, tests): no YAML round trip, no line numbers (problems
    then say line 1). The digest covers the data's canonical JSON.
    """
    with gc_paused():
        order = {SITES: 0, NETWORKS: 1}
        names = sorted(files, key=lambda n: (order.get(n, 2), n))
        sources = [(n, Source(name=n, data=files[n])) for n in names]
        h = hashlib.sha256()
        for n in names:
            h.update(n.encode() + b"\0")
            h.update(json.dumps(files[n], sort_keys=True, default=str).encode())
        problems = Problems()
        if SITES not in files:
            problems.add_raw("(data)", 0, f"(data): no {SITES}")
        return _check(sources, problems, h.hexdigest())


def _check(sources: list[tuple[str, Source]], problems: Problems, digest: str) -> Census:
    """Validate each parsed file, cross-check them, and build the census (or raise)."""
    sites: tuple[SitesFile, Source] | None = None
    networks: tuple[NetworksFile, Source] | None = None
    depts: list[tuple[DepartmentFile, Source]] = []
    for file_name, src in sources:
        if file_name == SITES:
            s = validate(SitesFile, src, problems)
            if s is not None:
                sites = (s, src)
        elif file_name == NETWORKS:
            n = validate(NetworksFile, src, problems)
            if n is not None:
                networks = (n, src)
        elif file_name.startswith(DEPT_PREFIX):
            d = validate(DepartmentFile, src, problems)
            if d is not None:
                depts.append((d, src))
                expected = f"{DEPT_PREFIX}{d.department.id}{Path(file_name).suffix}"
                if file_name != expected:
                    problems.add(
                        src,
                        ("department", "id"),
                        f"department `{d.department.id}` is kept in {file_name}",
                        f"rename the file to {expected} (one file per department)",
                    )
        else:
            problems.add_raw(
                src.name,
                1,
                f"{src.name}:1: unexpected census file; name it {SITES}, {NETWORKS} or "
                f"{DEPT_PREFIX}<department-id>.yml",
            )
    if sites is None:
        raise CensusError(problems.messages())
    declared = Declared.build(sites, networks, depts)
    # with invalid files missing, unknown references would only repeat their problems
    cross_check(declared, problems, partial=bool(problems))
    if problems:
        raise CensusError(problems.messages())
    return declared.to_census(digest)

"""Load `inventory/census/*.yml`: parse, validate, cross-check, and report every problem at once.

I/O lives here only; validation and checks are pure functions over parsed sources.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from onecloud.census.checks import Declared, cross_check
from onecloud.census.models import Census, DepartmentFile, NetworksFile, SitesFile
from onecloud.census.perf import gc_paused
from onecloud.census.problems import Problems
from onecloud.census.validation import validate
from onecloud.census.yamlsource import Source, YamlProblem, parse_file
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
    sites: tuple[SitesFile, Source] | None = None
    networks: tuple[NetworksFile, Source] | None = None
    depts: list[tuple[DepartmentFile, Source]] = []
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
        if path.name == SITES:
            s = validate(SitesFile, src, problems)
            if s is not None:
                sites = (s, src)
        elif path.name == NETWORKS:
            n = validate(NetworksFile, src, problems)
            if n is not None:
                networks = (n, src)
        elif path.name.startswith(DEPT_PREFIX):
            d = validate(DepartmentFile, src, problems)
            if d is not None:
                depts.append((d, src))
                expected = f"{DEPT_PREFIX}{d.department.id}{path.suffix}"
                if path.name != expected:
                    problems.add(
                        src,
                        ("department", "id"),
                        f"department `{d.department.id}` is kept in {path.name}",
                        f"rename the file to {expected} (one file per department)",
                    )
        else:
            problems.add_raw(
                name,
                1,
                f"{name}:1: unexpected census file; name it {SITES}, {NETWORKS} or "
                f"{DEPT_PREFIX}<department-id>.yml",
            )
    if not any(p.name == SITES for p in files):
        problems.add_raw(
            str(directory),
            0,
            f"{_shown(directory)}: no {SITES}; add it (cities, rooms, clouds, segments)",
        )
    if sites is None:
        raise CensusError(problems.messages())
    declared = Declared.build(sites, networks, depts)
    # with invalid files missing, unknown references would only repeat their problems
    cross_check(declared, problems, partial=bool(problems))
    if problems:
        raise CensusError(problems.messages())
    return declared.to_census(digest_files(files, raws))

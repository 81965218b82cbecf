"""Load `inventory/census/*.yml`: parse, validate, cross-check, and report every problem at once.

I/O lives here only; validation and checks are pure functions over parsed sources. Only files
named like census files are read; any other `*.yml`/`*.yaml` (any case) is reported by name,
unread. A census file that cannot be read as a regular file (a directory, a symbolic link loop
or to nothing, a pipe or device, a file without read permission, one above `MAX_FILE_BYTES`)
is a problem at `file:1`, never a traceback or a hang.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from onecloud.census._checks import Declared, cross_check
from onecloud.census._models import Census, DepartmentFile, NetworksFile, SitesFile
from onecloud.census._perf import gc_paused
from onecloud.census._problems import Problems
from onecloud.census._validation import validate
from onecloud.census._yamlsource import Source, YamlProblem, parse_bytes
from onecloud.errors import CensusError, UsageError

SITES = "sites.yml"
NETWORKS = "networks.yml"
DEPT_PREFIX = "dept-"
#: names of the files the loader reads
CENSUS_NAME = re.compile(r"sites\.yml|networks\.yml|dept-[^/]+\.ya?ml")
#: a census file larger than this is refused unread (a real department file is far smaller)
MAX_FILE_BYTES = 16 * 1024 * 1024


def _shown(path: Path) -> str:
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:  # outside the working directory: show it in full
        return str(absolute)


def census_files(directory: Path) -> list[Path]:
    """Every `*.yml`/`*.yaml` entry (any case) in reading order: sites, networks, the rest by
    name. Which of them are census files is `CENSUS_NAME`'s to say."""
    if not directory.is_dir():
        raise UsageError(
            f"census directory {directory} does not exist",
            hint="pass the directory holding sites.yml, networks.yml and dept-*.yml",
        )
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        raise UsageError(
            f"census directory {directory} cannot be listed ({exc.strerror})",
            hint="make the directory readable",
        ) from None
    files = [p for p in entries if p.suffix.lower() in (".yml", ".yaml")]
    order = {SITES: 0, NETWORKS: 1}
    return sorted(files, key=lambda p: (order.get(p.name, 2), p.name))


def _unreadable(exc: OSError) -> str:
    """What is wrong with a census file that could not be opened, and how to fix it."""
    if exc.errno == errno.ELOOP:
        return "the file is a symbolic link that loops; point the link at a real file or remove it"
    if exc.errno == errno.ENOENT:
        return "the file is a symbolic link to nothing; fix the link or remove it"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "the file cannot be read (permission denied); make it readable (chmod a+r)"
    if exc.errno == errno.ENXIO:
        return "the file is a socket, not a regular file; replace it with a census file"
    return f"the file cannot be read ({exc.strerror or exc}); make it a readable regular file"


def read_census_file(path: Path) -> bytes:
    """The file's bytes; anything else raises `ValueError("what is wrong; how to fix it")`.

    Opened without blocking (a named pipe would block a plain open forever) and checked to be a
    regular file of at most MAX_FILE_BYTES before a byte is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ValueError(_unreadable(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError("this is a directory, not a census file; rename or remove it")
        if not stat.S_ISREG(info.st_mode):
            kind = "a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device or special file"
            raise ValueError(
                f"the file is {kind}, not a regular file; replace it with a census file"
            )
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(_too_big(info.st_size))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:  # it grew while being read
            raise ValueError(_too_big(size))
        return b"".join(chunks)
    except OSError as exc:
        raise ValueError(_unreadable(exc)) from None
    finally:
        os.close(fd)


def _too_big(size: int) -> str:
    return (
        f"the file holds {size:,} bytes, more than the {MAX_FILE_BYTES:,} a census file may "
        "hold; split it or remove what is not census"
    )


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
    problems = Problems()
    read: list[Path] = []
    raws: list[bytes] = []
    sources: list[tuple[str, Source]] = []
    files = census_files(directory)
    for path in files:
        name = _shown(path)
        if CENSUS_NAME.fullmatch(path.name) is None:  # never parsed: only named
            problems.add_raw(name, 1, _unexpected(name, path))
            continue
        try:
            raw = read_census_file(path)
        except ValueError as exc:
            problems.add_raw(name, 1, f"{name}:1: {exc}")
            continue
        read.append(path)
        raws.append(raw)
        try:
            src = parse_bytes(raw, name)
        except YamlProblem as exc:
            for msg in exc.problems:
                problems.add_raw(name, _line_of(msg, name), msg)
            continue
        sources.append((path.name, src))
    if not any(p.name == SITES for p in files):
        problems.add_raw(
            str(directory),
            0,
            f"{_shown(directory)}: no {SITES}; add it (cities, rooms, clouds, segments)",
        )
    return _check(sources, problems, digest_files(read, raws))


def _line_of(message: str, name: str) -> int:
    """The line of a `name:line: ...` message (1 when it has none)."""
    head = message.removeprefix(f"{name}:").split(":", 1)[0]
    return int(head) if head.isdigit() else 1


def _unexpected(name: str, path: Path) -> str:
    if path.is_dir():
        return f"{name}:1: this is a directory, not a census file; rename or remove it"
    lower = path.name.lower()
    if CENSUS_NAME.fullmatch(lower) is not None:
        return f"{name}:1: census file names are lower-case; rename it to {lower}"
    return (
        f"{name}:1: unexpected census file; name it {SITES}, {NETWORKS} or "
        f"{DEPT_PREFIX}<department-id>.yml"
    )


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
        else:  # census_from_data: the loader never parses a file of another name
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

"""Hostile census input through the real command: a clean `file:line:` problem and exit 3, never a
traceback, a hang or a crash; an alias bomb is refused at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from census_cases import FIXTURES, build, made, read_yaml

from onecloud.census._loader import load_census
from onecloud.census._yamlsource import ALIAS_FIX, YamlProblem, parse_text
from onecloud.errors import CensusError

ONECLOUD = Path(sys.executable).with_name("onecloud")
#: the classes of hostile input (tests/fixtures/census/<case>); each is refused by `census check`
CENSUS_CLASSES = [
    "unsafe-names",
    "unsafe-text",
    "name-lengths",
    "data-paths",
    "yaml-aliases",
    "yaml-merge",
    "yaml-deep",
    "file-kinds",
    "duplicate-address",
    "ipv6",
    "retired-override",
]
#: the classes the plan refuses (tests/fixtures/plan/<case>); `census check` accepts them
PLAN_CLASSES = ["retired-dependency", "unsupported-engine"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    return subprocess.run(
        [str(ONECLOUD), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def _expected_prefixes(case: Path) -> list[str]:
    """`census/<file>:<line>:` of each expected problem (root reads a mode-000 file: skip it)."""
    skip = set()
    if os.geteuid() == 0:
        skip = {n for n, kind in made(case).items() if kind == "unreadable"}
    expected = read_yaml(case / "expected.yml")
    lines = expected.get("errors") or expected.get("error", [])[1:]
    return [
        "census/" + ":".join(p.split(":", 2)[:2]) + ":"
        for p in lines
        if p.split(":")[0] not in skip
    ]


@pytest.fixture(scope="module")
def census_runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    """`onecloud census check census` on every class, run side by side."""

    def one(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        work = tmp_path_factory.mktemp(name)
        build(FIXTURES / "census" / name, work)
        return name, _run(["census", "check", "census"], work)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, CENSUS_CLASSES))


@pytest.mark.parametrize("name", CENSUS_CLASSES)
def test_census_check_refuses_each_class_cleanly(name: str, census_runs) -> None:
    run = census_runs[name]
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "error: the census has" in run.stderr
    for prefix in _expected_prefixes(FIXTURES / "census" / name):
        assert f"\n{prefix}" in run.stderr, prefix


@pytest.mark.parametrize("name", PLAN_CLASSES)
def test_plan_refuses_each_class_cleanly(name: str, tmp_path: Path) -> None:
    build(FIXTURES / "plan" / name, tmp_path)
    assert _run(["census", "check", "census"], tmp_path).returncode == 0
    run = _run(["plan", "census", "--out", "plan.yml", "--report", "none"], tmp_path)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    for prefix in _expected_prefixes(FIXTURES / "plan" / name):
        assert f"\n{prefix}" in run.stderr, prefix
    assert not (tmp_path / "plan.yml").exists()


@pytest.mark.parametrize("name", CENSUS_CLASSES)
def test_every_problem_is_one_line(name: str, tmp_path: Path, monkeypatch) -> None:
    """The problems themselves never hold a line break, whatever the census holds."""
    monkeypatch.chdir(tmp_path)
    build(FIXTURES / "census" / name, tmp_path)
    with pytest.raises(CensusError) as info:
        load_census("census")
    for p in info.value.problems:
        assert "\n" not in p and "\r" not in p and p.startswith("census/")


def test_each_problem_stays_on_one_line_when_stderr_is_no_terminal(census_runs) -> None:
    run = census_runs["unsafe-names"]
    problems = read_yaml(FIXTURES / "census" / "unsafe-names" / "expected.yml")["errors"]
    lines = run.stderr.splitlines()
    for p in problems:
        assert f"census/{p}" in lines


def _bomb(levels: int, width: int = 9) -> str:
    rows = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


def test_alias_bomb_is_refused_quickly_in_little_memory() -> None:
    text = _bomb(30)  # 9**30 strings if expanded
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(YamlProblem) as info:
        parse_text(text, "f.yml")
    took = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert took < 0.5
    assert peak < 5 * 1024 * 1024
    assert info.value.problems[0] == f"f.yml:2: {ALIAS_FIX}"
    assert len(info.value.problems) == 29  # one per line holding aliases


def test_alias_bomb_census_check_is_quick_and_small(tmp_path: Path) -> None:
    build(FIXTURES / "census" / "yaml-aliases", tmp_path)
    (tmp_path / "census" / "dept-county.yml").write_text(_bomb(40), encoding="utf-8")
    err = tmp_path / "stderr"
    started = time.perf_counter()
    with err.open("w") as f:
        proc = subprocess.Popen(
            [str(ONECLOUD), "census", "check", "census"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=f,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 3
    assert "Traceback" not in err.read_text()
    assert took < 2.0
    # KiB; the bound. ru_maxrss can include the pytest process this child was forked
    # from (before exec), so it is no measure of expansion: the in-process test bounds that
    assert usage.ru_maxrss < 500 * 1024


def test_a_file_above_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch) -> None:
    from onecloud.census import _loader

    build(FIXTURES / "census" / "base", tmp_path)
    size = (tmp_path / "census" / "dept-prov.yml").stat().st_size
    monkeypatch.setattr(_loader, "MAX_FILE_BYTES", size - 1)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CensusError) as info:
        load_census("census")
    assert (
        f"census/dept-prov.yml:1: the file holds {size:,} bytes, more than the {size - 1:,} a "
        "census file may hold; split it or remove what is not census"
    ) in info.value.problems

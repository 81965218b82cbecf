"""Reading the plan file: the fast reader gives exactly what YAML gives, and errors stay clear.

`_yamlout.loads` reads the writer's own block-style subset; anything else (hand-edited, broken)
must raise `NotOurs` so that `parse_plan` falls back to ruamel and its messages.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from onecloud.errors import PlanError
from onecloud.plan._io import dump_plan, load_plan, parse_plan
from onecloud.plan._yamlout import NotOurs, dumps, loads

ROOT = Path(__file__).resolve().parents[3]
PLAN_FILES = [
    ROOT / "inventory" / "plan.yml",
    ROOT / "tests" / "fixtures" / "migrate" / "plan.yml",
]


def _yaml12(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types and key order (and NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


STRINGS = [
    "edu-portal",
    "教育厅",
    "198.19.1.12",
    "198.19.1.0/24",
    "2026-12-31",
    "/srv/webapp/data",
    "",
    " lead",
    "trail ",
    "a: b",
    "#x",
    "- x",
    "x #y",
    "'q'",
    '"dq"',
    "back\\slash",
    "multi\nline",
    "tab\there",
    "ctl\x01\x1f",
    "yes",
    "No",
    "ON",
    "True",
    "NULL",
    "~",
    "y",
    "1",
    "-1",
    "007",
    "0x10",
    "1e3",
    "0.5",
    ".inf",
    "-.nan",
    "<<",
    "=",
    "😀",
    "{}",
    "[]",
    "-",
    "_under",
    "a@b+c",
]
SCALARS: list[Any] = [
    *STRINGS,
    0,
    -2,
    12345678901234567890,
    0.1,
    -0.0,
    1e-05,
    2.5e20,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
    None,
]


def _random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice(SCALARS)
    if roll < 0.75:
        return {
            rng.choice(STRINGS) + str(i): _random_value(rng, depth + 1)
            for i in range(rng.randint(0, 4))
        }
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


@pytest.mark.parametrize("seed", range(30))
def test_reads_what_yaml_reads(seed: int) -> None:
    rng = random.Random(seed)
    data = {f"k{i}": _random_value(rng, 0) for i in range(6)}
    text = dumps(data)
    assert _same(loads(text), _yaml12(text))


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.parent.name)
def test_plan_files_read_as_yaml_reads_them(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _same(loads(text), _yaml12(text))
    assert load_plan(path).model_dump() == parse_plan_with_ruamel(text).model_dump()


def parse_plan_with_ruamel(text: str) -> Any:
    from onecloud.plan._models import Plan

    return Plan.model_validate(_yaml12(text))


def test_round_trip_of_a_built_plan(plan: Any) -> None:
    assert parse_plan(dump_plan(plan)) == plan


@pytest.mark.parametrize(
    "text",
    [
        "a: {b: 1}\n",  # flow style
        "a:\n    b: 1\n",  # other indentation
        "a:\n  - 1\n",  # indented sequence
        "a:\n\tb: 1\n",  # tab
        "a: 1\r\nb: 2\r\n",  # CRLF
        "a: 1\na: 2\n",  # duplicate key
        "a:\n",  # empty value (null in YAML)
        "a: \n",
        "a: yes\n",  # a YAML 1.1 boolean
        "a: True\n",
        "a: ~\n",
        "a: 0x10\n",
        "a: 1e3\n",
        "a: 007\n",
        "a: 'single'\n",
        "a: b c\n",
        "a: b # comment\n",
        "a: 1\n  # indented comment\n",
        "---\na: 1\n",
        "a: &x 1\nb: *x\n",
        'a: "line\u2028break"\n',  # a YAML line break inside a string
        'a: "\\ud83d\\ude00"\n',  # escaped surrogates: JSON pairs them, YAML does not
        'a: "\\x41"\n',  # a YAML escape JSON lacks
        'a: "open\n',
        '"a" : 1\n',
        "- 1\n- 2\nb: 1\n",
        "1: one\n",
        "\ufeffa: 1\n",
        "a: b\x7f\n",
        "# only a comment\n",
        "",
    ],
)
def test_anything_else_is_left_to_yaml(text: str) -> None:
    with pytest.raises(NotOurs):
        loads(text)


def test_hand_written_plan_still_loads(tmp_path: Path) -> None:
    """Valid YAML in another style (flow mappings) goes through ruamel, with the same result."""
    path = ROOT / "tests" / "fixtures" / "iac" / "plan_small.yml"
    text = path.read_text(encoding="utf-8")
    with pytest.raises(NotOurs):
        loads(text)
    assert load_plan(path).model_dump() == parse_plan_with_ruamel(text).model_dump()


def _plan_text() -> str:
    return (ROOT / "inventory" / "plan.yml").read_text(encoding="utf-8")


def test_broken_yaml_names_file_line_and_problem(tmp_path: Path) -> None:
    text = _plan_text()
    lines = text.splitlines(keepends=True)
    lines[10] = lines[10].rstrip("\n") + ": [unclosed\n"
    path = tmp_path / "plan.yml"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert info.value.message.startswith(f"{path}: not valid YAML: ")
    assert "line" in info.value.message
    assert info.value.hint == "regenerate it: onecloud plan"


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.yml"
    path.write_text(_plan_text() + "version: 1\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"(?s)not valid YAML: .*duplicate key"):
        load_plan(path)


def test_wrong_field_names_the_place(tmp_path: Path) -> None:
    text = _plan_text().replace("protection_level: ", "protection_level: x", 1)
    path = tmp_path / "plan.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert info.value.message.startswith(f"{path}: does not match the plan model (1 errors;")
    assert "`systems.0.protection_level`" in info.value.message
    assert info.value.hint == "regenerate it from the census: onecloud plan"


def test_truncated_plan_is_an_error(tmp_path: Path) -> None:
    text = _plan_text()
    path = tmp_path / "plan.yml"
    path.write_text(text[: text.index("\nwaves:")] + "\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"does not match the plan model .*`waves`: Field required"):
        load_plan(path)


def test_missing_plan(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no plan at"):
        load_plan(tmp_path / "absent.yml")

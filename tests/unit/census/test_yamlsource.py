"""The line-aware YAML reader."""

from __future__ import annotations

import datetime as dt

import pytest

from onecloud.census._yamlsource import YamlProblem, parse_text


def test_values_and_lines() -> None:
    src = parse_text(
        "a: 1\nb:\n  - x: 2026-01-02\n    y: [1.5, true, null, '7']\n  - 中文\n", "f.yml"
    )
    assert src.data == {
        "a": 1,
        "b": [{"x": dt.date(2026, 1, 2), "y": [1.5, True, None, "7"]}, "中文"],
    }
    assert src.line(("b", 0, "y")) == 4
    assert src.line(("b", 1)) == 5
    assert src.line(("b", 0, "missing")) == 3  # nearest existing parent
    assert src.where(("a",)) == "f.yml:1"


def test_yaml12_keeps_yes_and_octal_like_strings() -> None:
    src = parse_text("a: yes\nb: 0x1F\nc: 010\nd: -3\n", "f.yml")
    assert src.data == {"a": "yes", "b": 31, "c": 10, "d": -3}


def test_empty_file_is_an_empty_mapping() -> None:
    assert parse_text("", "f.yml").data == {}


def test_duplicate_keys_are_reported() -> None:
    with pytest.raises(YamlProblem) as info:
        parse_text("a: 1\nb: 2\na: 3\n", "f.yml")
    assert info.value.problems == ["f.yml:3: duplicate key 'a' (first at line 1); keep one of them"]

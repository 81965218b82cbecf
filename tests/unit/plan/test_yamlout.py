"""The fast YAML writer reads back identically under YAML 1.2 (ruamel) and YAML 1.1 readers."""

from __future__ import annotations

from ruamel.yaml import YAML

from onecloud.plan._yamlout import dumps

TRICKY = {
    "plain": "edu-portal",
    "chinese": "教育厅",
    "ip": "198.19.1.12",
    "cidr": "198.19.1.0/24",
    "date": "2026-12-31",
    "bools": ["yes", "no", "on", "off", "true", "null", "y", "N", "~"],
    "numbers": ["1", "0x10", "1e3", "0.5", "010", ".inf"],
    "punct": ["a: b", "#x", "- x", "x #y", "'q'", '"dq"', "*star", "&amp", "!bang", "%p", "@at"],
    "space": [" lead", "trail ", "", "multi\nline", "tab\there"],
    "path": "/srv/webapp/data",
    "values": [1, -2, 0.1, 1e-05, 2.5e20, float("inf"), True, False, None, 12345678901234567890],
    "nested": {"empty_list": [], "empty_map": {}, "lists": [[1, 2], [], [{"a": 1}]]},
    "list_of_maps": [{"a": 1, "b": [1, 2], "c": {"d": None}}, {}],
}


def test_round_trip_yaml12() -> None:
    text = dumps(TRICKY)
    assert YAML(typ="safe").load(text) == TRICKY


def test_round_trip_yaml11_reader() -> None:
    import yaml  # PyYAML, a YAML 1.1 reader (installed with ansible-core)

    assert yaml.safe_load(dumps(TRICKY)) == TRICKY


def test_block_style_and_plain_words() -> None:
    text = dumps(
        {"systems": [{"id": "edu-portal", "name": "教育厅门户", "deadline": "2026-12-15"}]}
    )
    assert text == 'systems:\n- id: edu-portal\n  name: 教育厅门户\n  deadline: "2026-12-15"\n'

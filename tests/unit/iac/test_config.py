"""Stack config validation: good configs load, bad ones name the key, file, line and fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from ruamel.yaml import YAML

from onecloud.errors import ConfigError
from onecloud.iac._config import load_stack_config

ERRORS = YAML(typ="safe").load((FIXTURES / "config_errors.yml").read_text(encoding="utf-8"))
STACKS = Path(__file__).resolve().parents[3] / "stacks"


def _strings(config: dict[str, Any]) -> dict[str, str]:
    """As the engine passes config: strings, objects and lists as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


@pytest.mark.parametrize("case", ERRORS, ids=[c["name"] for c in ERRORS])
def test_bad_config_is_one_clear_error(case: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_config(_strings(case["config"]), "lab")
    for part in case["message"]:
        assert part in exc.value.message, exc.value.message
    for part in case["hint"]:
        assert part in (exc.value.hint or ""), exc.value.hint


def test_error_names_stack_file_and_line(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.lab.yaml"
    stack_file.write_text(
        "config:\n  openstack:cloud: c\n  onecloud:declare: [network]\n  onecloud:dhcp: maybe\n"
    )
    raw = {"openstack:cloud": "c", "onecloud:declare": '["network"]', "onecloud:dhcp": "maybe"}
    with pytest.raises(ConfigError) as exc:
        load_stack_config(raw, "lab", stack_file)
    assert exc.value.message.startswith(f"{stack_file}:4: onecloud:dhcp:")


@pytest.mark.parametrize("path", sorted(STACKS.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_every_stack_file_of_the_repository_is_valid(path: Path) -> None:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    cfg = load_stack_config(_strings(data["config"]), stack, path)
    assert cfg.stack == stack and cfg.declare


def test_defaults_and_decoding() -> None:
    cfg = load_stack_config(
        _strings(
            {
                "openstack:cloud": "onecloud-lab",
                "onecloud:declare": ["dr", "network"],
                "onecloud:dhcp": "true",
                "onecloud:waves": [2, 1, 2],
                "aws:region": "ignored",
            }
        ),
        "lab",
    )
    assert cfg.declare == ["network", "dr"]  # canonical order
    assert cfg.dhcp is True and cfg.waves == [1, 2]
    assert (
        cfg.region == "RegionOne"
        and cfg.dr.region == "RegionDR"
        and cfg.external_network == "public"
    )
    assert cfg.carries_system("lab") and not cfg.carries_system("city-foshan")
    assert cfg.in_waves(2) and not cfg.in_waves(3) and not cfg.in_waves(None)

"""The playbooks: they parse, and they follow the house style (production-profile habits)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from onecloud.contract._spec import SystemSpec
from onecloud.migrate import _playbooks
from onecloud.migrate._inventory import render

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
ROLES = sorted(p for p in (PLAYBOOKS / "roles").iterdir() if p.is_dir())
PLAYS = sorted(PLAYBOOKS.glob("*.yml"))
_TASK_KEYS = {
    "name",
    "when",
    "register",
    "loop",
    "loop_control",
    "delegate_to",
    "no_log",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "vars",
    "tags",
    "block",
    "rescue",
    "always",
    "become",
    "ignore_errors",
    "run_once",
    "notify",
}


def _tasks(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for t in items or []:
        out.append(t)
        for key in ("block", "rescue", "always"):
            out += _tasks(t.get(key))
    return out


def _role_tasks(role: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted((role / "tasks").glob("*.yml")):
        out += _tasks(yaml.safe_load(f.read_text()))
    return out


def test_plays_are_verb_object_and_thin() -> None:
    assert {p.name for p in PLAYS} >= {
        "preflight_system.yml",
        "presync_system.yml",
        "freeze_system.yml",
        "sync_system.yml",
        "switch_system.yml",
        "rollback_system.yml",
        "retire_system.yml",
    }
    for p in PLAYS:
        assert re.fullmatch(r"[a-z]+_[a-z]+\.yml", p.name), p.name
        plays = yaml.safe_load(p.read_text())
        for play in plays:
            assert play["name"][0].isupper(), p.name
            assert "tasks" not in play, f"{p.name}: logic belongs in roles"
            assert play["roles"], p.name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_role_layout_and_variable_names(role: Path) -> None:
    assert (role / "tasks" / "main.yml").exists()
    defaults = role / "defaults" / "main.yml"
    assert defaults.exists()
    lines = defaults.read_text().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^([a-z_][a-z0-9_]*):", line)
        if m:
            assert m.group(1).startswith(role.name + "_"), f"{defaults}:{i + 1}"
            assert lines[i - 1].startswith("#") or lines[i - 1].startswith("  "), (
                f"{defaults}:{i + 1}: a default needs a comment above it"
            )
    text = "\n".join(f.read_text() for f in (role / "tasks").glob("*.yml"))
    for var in set(re.findall(r"\b(\w+?)__\w+", text)):
        assert var == role.name, f"{role.name}: internal variable prefix {var}__"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_tasks_are_named_and_fully_qualified(role: Path) -> None:
    for t in _role_tasks(role):
        assert t.get("name") and t["name"][0].isupper(), f"{role.name}: {t}"
        if "block" in t:
            continue
        modules = [k for k in t if k not in _TASK_KEYS]
        assert len(modules) == 1, f"{role.name}: {t['name']}: {modules}"
        assert modules[0].startswith("ansible.builtin."), f"{role.name}: {t['name']}"


def test_secrets_are_never_logged() -> None:
    for role in ROLES:
        for t in _role_tasks(role):
            blob = yaml.safe_dump(t)
            if re.search(r"ssh-keygen|authorized_keys|globals", blob) and "block" not in t:
                assert t.get("no_log") is True, f"{role.name}: {t['name']}"


def test_syntax_check(tmp_path: Path, specs: dict[str, SystemSpec]) -> None:
    inv = render("lab", list(specs.values()), out_dir=tmp_path / "inv", ssh_config=None)
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(PLAYBOOKS / "roles"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_NOCOLOR="1",
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    )
    for p in PLAYS:
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(inv),
                "--syntax-check",
                str(p),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert out.returncode == 0, f"{p.name}: {out.stderr[-800:]}"


def test_ansible_runner_never_rotates_artifacts(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def run(**kwargs: Any) -> object:
        seen.update(kwargs)
        return object()

    _playbooks._call_runner(
        run,
        "presync_system.yml",
        inventory=tmp_path,
        hosts=["h"],
        private_data_dir=tmp_path,
        forks=1,
        tags=None,
        extravars=None,
        ident="i",
        events=_playbooks._PlayEvents(["h"], None),
        timeout=None,
    )
    assert seen["rotate_artifacts"] == 0  # ledger events point to the artifacts


def test_prune_keeps_artifacts_the_ledger_references_and_young_ones(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    now = 1_000_000_000.0
    for name, age_days in (("old-referenced", 90), ("old-orphan", 90), ("young-orphan", 1)):
        (root / name).mkdir(parents=True)
        (root / name / "stdout").write_text("x")
        t = now - age_days * 86400
        os.utime(root / name, (t, t))
    removed = _playbooks.prune_artifacts(tmp_path, {"old-referenced"}, older_than_days=30, now=now)
    assert removed == ["old-orphan"]
    assert sorted(p.name for p in root.iterdir()) == ["old-referenced", "young-orphan"]
    assert _playbooks.prune_artifacts(tmp_path / "none", set()) == []

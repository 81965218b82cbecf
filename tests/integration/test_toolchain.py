"""The real engine, built by the project, runs a Python program with the local file backend."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from onecloud import toolchain

pytestmark = pytest.mark.integration

PROGRAM = """
import pulumi

class Segment(pulumi.ComponentResource):
    def __init__(self, name, cidr, opts=None):
        super().__init__("onecloud:test:Segment", name, None, opts)
        self.cidr = pulumi.Output.from_input(cidr)
        self.register_outputs({"cidr": self.cidr})

cfg = pulumi.Config()
seg = Segment("extranet-province", cfg.require("cidr"))
pulumi.export("cidr", seg.cidr)
"""


def _pulumi(tc: toolchain.Toolchain, cwd: Path, *args: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(tc.pulumi), *args, "--non-interactive"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_engine_and_provider_versions() -> None:
    tc = toolchain.ensure()
    env = tc.env()
    out = subprocess.run([str(tc.pulumi), "version"], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == f"v{toolchain.PULUMI_VERSION}"
    plugins = subprocess.run(
        [str(tc.pulumi), "plugin", "ls", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    names = {(p["name"], p["version"]) for p in json.loads(plugins.stdout)}
    assert ("openstack", toolchain.OPENSTACK_PROVIDER_VERSION) in names


def test_preview_up_and_no_changes(tmp_path: Path) -> None:
    tc = toolchain.ensure()
    (tmp_path / "Pulumi.yaml").write_text("name: tcheck\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    state = tmp_path / "state"
    state.mkdir()
    env = tc.env({"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "t"})
    _pulumi(tc, tmp_path, "stack", "init", "dev", env=env)
    _pulumi(tc, tmp_path, "config", "set", "cidr", "198.19.1.0/24", env=env)
    preview = _pulumi(tc, tmp_path, "preview", env=env)
    assert "onecloud:test:Segment" in preview
    _pulumi(tc, tmp_path, "up", "--yes", env=env)
    outputs = json.loads(_pulumi(tc, tmp_path, "stack", "output", "--json", env=env))
    assert outputs == {"cidr": "198.19.1.0/24"}
    _pulumi(tc, tmp_path, "preview", "--expect-no-changes", env=env)
    _pulumi(tc, tmp_path, "destroy", "--yes", env=env)

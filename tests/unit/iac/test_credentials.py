"""Scoped providers name no clouds.yaml entry, whatever OS_CLOUD the shell exports.

Left unset, `cloud` is filled by the SDK from OS_CLOUD (`onecloud lab env` exports it): the
providers' inputs would then differ between `onecloud stack` and plain `pulumi` in another shell
(`[diff: +cloud]`), and the provider would authenticate with that entry's project instead of the
department's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from harness import run
from ruamel.yaml import YAML

from onecloud.iac._credentials import NO_CLOUD

ADMIN_PROVIDERS = {"admin", "dr-admin"}


def _providers(small_plan: Any) -> dict[str, dict[str, Any]]:
    spec = YAML(typ="safe").load(Path(FIXTURES / "cases" / "lab.yml").read_text(encoding="utf-8"))
    graph = run(small_plan, spec["config"], spec["stack"])
    return {r.name: r.inputs for r in graph.of_type("pulumi:providers:openstack")}


@pytest.mark.parametrize("os_cloud", [None, "someone-elses-cloud"])
def test_scoped_providers_set_cloud_empty(
    small_plan: Any, monkeypatch: pytest.MonkeyPatch, os_cloud: str | None
) -> None:
    if os_cloud is None:
        monkeypatch.delenv("OS_CLOUD", raising=False)
    else:
        monkeypatch.setenv("OS_CLOUD", os_cloud)
    providers = _providers(small_plan)
    scoped = {name: inputs for name, inputs in providers.items() if name not in ADMIN_PROVIDERS}
    assert scoped, providers
    for name, inputs in scoped.items():
        assert inputs.get("cloud") == NO_CLOUD, (name, inputs)
        assert inputs.get("tenantName"), (name, inputs)
    for name in ADMIN_PROVIDERS & set(providers):
        assert providers[name]["cloud"] == "onecloud-lab", providers[name]

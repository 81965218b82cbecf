"""At the CLI edge, the lab's legacy hosts come from the census, seeded by what runs there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from onecloud import paths
from onecloud.census import load_census
from onecloud.cli._labhosts import legacy_specs_of_census
from onecloud.errors import LabError

CENSUS = paths.PROJECT_ROOT / "inventory" / "census"


def test_every_census_host_with_its_workload() -> None:
    specs = {s.name: s for s in legacy_specs_of_census(load_census(CENSUS), CENSUS)}
    assert len(specs) == 8
    assert specs["edu-web-01"].address == "198.18.0.11/24"
    assert specs["edu-web-01"].workloads == ("webapp",)
    assert specs["health-db-01"].workloads == ("postgresql",)
    assert specs["civil-app-01"].workloads == ("sqlite",)
    assert specs["edu-mail-01"].workloads == ()  # consolidated: nothing of ours to seed
    assert {s.role for s in specs.values()} == {"legacy"}


def test_a_host_outside_the_lab_range_is_refused(tmp_path: Path) -> None:
    census = tmp_path / "census"
    shutil.copytree(CENSUS, census)
    edu = census / "dept-edu.yml"
    edu.write_text(edu.read_text(encoding="utf-8").replace("198.18.0.21", "10.1.0.21"), "utf-8")
    networks = census / "networks.yml"
    text = networks.read_text(encoding="utf-8")
    networks.write_text(
        text.replace("cidrs: [198.18.0.0/24]", "cidrs: [198.18.0.0/24, 10.1.0.0/24]", 1), "utf-8"
    )
    with pytest.raises(LabError) as err:
        legacy_specs_of_census(load_census(census), census)
    assert "edu-mail-01" in err.value.message
    assert "198.18.0.0/15" in err.value.message

"""The province-scale generator: the programme's shape, valid and plannable."""

from __future__ import annotations

from pathlib import Path

from onecloud.census._generate import GeneratorSpec, write_census
from onecloud.census._loader import load_census
from onecloud.plan._build import build_plan


def test_generated_province_has_the_programme_shape(tmp_path: Path) -> None:
    write_census(GeneratorSpec(systems=800, seed=1), tmp_path)
    census = load_census(tmp_path)
    assert len(census.systems) == 800
    assert 55 <= len(census.departments) <= 65
    assert len(census.sites.rooms) >= 100
    assert len(census.networks) >= 60
    retired = sum(1 for s in census.systems if s.status in ("zombie", "shadow"))
    assert 0.2 <= retired / 800 <= 0.4
    plan = build_plan(census)
    assert plan.renumbered, "some private CIDRs overlap"
    assert plan.totals.consolidated > 0
    assert plan.totals.migrated > 0
    assert len(plan.waves) > 1
    assert any("cycle" in n for w in plan.waves for n in w.notes)
    # every migrating system lands in a wave no earlier than its migrating dependencies
    wave = {s.id: s.wave for s in plan.systems if s.disposition == "migrate"}
    for s in plan.systems:
        for d in s.depends_on:
            if s.id in wave and d in wave:
                assert wave[d] <= wave[s.id]


def test_in_memory_census_matches_the_files(tmp_path: Path) -> None:
    from onecloud.census._generate import generate
    from onecloud.census._loader import census_from_data

    spec = GeneratorSpec(systems=150, seed=3)
    write_census(spec, tmp_path)
    from_files = load_census(tmp_path)
    from_data = census_from_data(generate(spec))
    assert from_files.systems == from_data.systems
    assert from_files.hosts == from_data.hosts
    assert from_files.sites == from_data.sites
    assert build_plan(from_files).systems == build_plan(from_data).systems

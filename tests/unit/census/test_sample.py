"""The committed lab census: valid, and holding exactly what the lab migrates."""

from __future__ import annotations

import ipaddress

from onecloud.census._loader import load_census
from onecloud.paths import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "inventory" / "census"


def test_sample_census_loads_with_chinese_names() -> None:
    census = load_census(SAMPLE)
    names = {d.id: d.name for d in census.departments}
    assert names == {"edu": "教育厅", "health": "卫生健康委", "nanhai-civil": "南海区民政局"}
    hosts = {h.id: h for h in census.hosts}
    assert hosts["edu-web-01"].address == "198.18.0.11"
    assert hosts["health-db-01"].address == "198.18.0.12"
    assert hosts["civil-app-01"].address == "198.18.0.13"
    lab = ipaddress.ip_network("198.19.0.0/16")
    for seg in census.sites.segments:  # nothing else is routable in the lab
        assert ipaddress.ip_network(seg.cidr).subnet_of(lab)
    statuses = {s.id: s.status for s in census.systems}
    assert "zombie" in statuses.values() and "shadow" in statuses.values()

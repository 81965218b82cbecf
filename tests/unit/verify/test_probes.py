"""The probe logic over fake testinfra hosts (the real ones run in tests/integration)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from onecloud.contract._spec import SystemSpec
from onecloud.verify._checks import checks_for
from onecloud.verify._probes import run_check


@dataclass
class _Out:
    rc: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass
class _Svc:
    is_running: bool


@dataclass
class _Sock:
    is_listening: bool


@dataclass
class _File:
    exists: bool
    content_string: str = ""


@dataclass
class FakeHost:
    running: set[str] = field(default_factory=set)
    listening: set[str] = field(default_factory=set)
    digest: str = "abc"
    counts: dict[str, int] = field(default_factory=dict)
    http: str = "200"
    files: dict[str, str] = field(default_factory=dict)

    def service(self, name: str) -> _Svc:
        return _Svc(name in self.running)

    def socket(self, spec: str) -> _Sock:
        return _Sock(spec in self.listening)

    def file(self, path: str) -> _File:
        return _File(path in self.files, self.files.get(path, ""))

    def run(self, cmd: str) -> _Out:
        if "tree_digest" in cmd:
            return _Out(stdout=self.digest + "\n")
        if "count(*)" in cmd:
            return _Out(stdout=json.dumps(self.counts))
        if "urlopen" in cmd:
            return _Out(stdout=self.http + "\n")
        raise AssertionError(cmd)


class Pool:
    def __init__(self, hosts: dict[str, Any]) -> None:
        self.hosts = hosts

    def get(self, name: str) -> Any:
        if name not in self.hosts:
            raise RuntimeError(f"ssh: connect to host {name} port 22: No route to host")
        return self.hosts[name]


def _results(spec: SystemSpec, pool: Pool) -> dict[str, tuple[bool, str]]:
    out = {}
    for c in checks_for(spec, "migrated"):
        r = run_check(c, pool)  # type: ignore[arg-type]
        out[c.kind + ":" + c.host] = (r.ok, r.detail)
    return out


def test_a_good_migration_passes(specs: dict[str, SystemSpec]) -> None:
    spec = specs["civil-ledger"]
    key = "sqlite:/srv/ledgerapp/app.db:records"
    target = FakeHost(
        running={"ledgerapp"},
        listening={"tcp://198.19.12.12:8081"},
        counts={key: 10},
        files={"/srv/ledgerapp": ""},
    )
    source = FakeHost(
        files={"/var/lib/onecloud/civil-ledger/rowcounts.json": json.dumps({key: 10})}
    )
    res = _results(spec, Pool({"civil-ledger-1": target, "civil-app-01": source}))
    assert all(ok for ok, _ in res.values()), res
    assert res["row_counts:civil-ledger-1"][1] == "records=10"


def test_differences_are_reported_with_both_values(specs: dict[str, SystemSpec]) -> None:
    spec = specs["civil-ledger"]
    key = "sqlite:/srv/ledgerapp/app.db:records"
    target = FakeHost(
        running={"ledgerapp"},
        listening=set(),
        counts={key: 9},
        http="503",
        digest="aaa",
        files={"/srv/ledgerapp": ""},
    )
    source = FakeHost(
        running={"ledgerapp"}, listening={"tcp://198.18.0.13:8081"}, counts={key: 10}, digest="bbb"
    )
    res = _results(spec, Pool({"civil-ledger-1": target, "civil-app-01": source}))
    assert res["port_listening:civil-ledger-1"] == (False, "nothing listens on 198.19.12.12:8081")
    assert res["health:civil-ledger-1"] == (False, "HTTP 503")
    assert res["data_digest:civil-ledger-1"][0] is False
    assert res["row_counts:civil-ledger-1"] == (
        False,
        "differ (target, source live on the source): sqlite:/srv/ledgerapp/app.db:records: 9 vs 10",
    )
    assert res["service_stopped:civil-app-01"] == (False, "still running")
    assert res["port_closed:civil-app-01"] == (False, "still listening")


def test_data_missing_on_the_target_fails_instead_of_comparing_empty_digests(
    specs: dict[str, SystemSpec],
) -> None:
    """A missing tree digests as empty on both hosts: equal digests would prove nothing."""
    spec = specs["civil-ledger"]
    res = _results(spec, Pool({"civil-ledger-1": FakeHost(), "civil-app-01": FakeHost()}))
    assert res["data_digest:civil-ledger-1"] == (
        False,
        "data path(s) missing on civil-ledger-1: /srv/ledgerapp",
    )


def test_unreachable_host_is_a_failed_check(specs: dict[str, SystemSpec]) -> None:
    res = _results(specs["edu-portal"], Pool({}))
    assert all(not ok for ok, _ in res.values())
    assert res["service_running:edu-portal-1"][1] == (
        "could not check: ssh: connect to host edu-portal-1 port 22: No route to host"
    )

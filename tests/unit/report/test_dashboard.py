"""The figures document (`--format json`) and the HTML dashboard rendered from it."""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from onecloud.cli import main
from onecloud.contract import LedgerView
from onecloud.paths import PROJECT_ROOT
from onecloud.plan import load_plan
from onecloud.report import figures, render_html

PLAN = PROJECT_ROOT / "inventory" / "plan.yml"
LATE = date(2026, 12, 20)  # after wave 1's deadline, 2026-12-10
EARLY = date(2026, 12, 1)


class _Page(HTMLParser):
    """What the tests look at in a page: figures, scripts, links, rows, charts, text."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, list[str]] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self.ids: set[str] = set()
        self.rows: dict[str, str] = {}  # row id -> class
        self.charts: dict[str, int] = {}  # chart name -> paths inside it
        self.styles: list[str] = []
        self._figure: str | None = None
        self._chart: str | None = None
        self._style = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "script":
            self.scripts.append(a)
        if tag in ("link", "a", "img", "iframe", "object", "embed", "source"):
            self.links.append(a)
        if tag == "tr" and a.get("id"):
            self.rows[a["id"] or ""] = a.get("class") or ""
        if "data-figure" in a:
            self._figure = a["data-figure"]
        if tag == "svg" and a.get("data-chart"):
            self._chart = a["data-chart"]
            self.charts[self._chart or ""] = 0
        if tag == "path" and self._chart:
            self.charts[self._chart] += 1
        self._style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        if tag == "style":
            self._style = False

    def handle_data(self, data: str) -> None:
        if self._figure is not None:
            self.figures.setdefault(self._figure, []).append(data)
            self._figure = None
        if self._style:
            self.styles.append(data)
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_headline_keeps_planned_apart_from_done(late_doc: dict[str, Any]) -> None:
    h = late_doc["headline"]
    assert (h["systems_census"], h["systems_planned"]) == (8, 8)
    assert (h["migrate_planned"], h["migrated"], h["moving"], h["failed"], h["waiting"]) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert (h["retire_planned"], h["retired"]) == (2, 0)
    assert (h["consolidated_planned"], h["retained_planned"]) == (2, 1)
    assert (h["rooms_before"], h["rooms_vacated_planned"], h["rooms_vacated"]) == (3, 2, 0)
    assert (h["networks_vacated_planned"], h["networks_vacated"]) == (2, 0)
    assert (h["egress_before"], h["egress_after_planned"]) == (2, 1)
    assert h["downtime_seconds_max"] == 90.0
    assert h["behind_schedule"] == 2  # the failed one and the moving one
    assert late_doc["ledger"]["status"] == "read" and late_doc["notes"] == []


def test_every_system_of_a_wave_with_state_downtime_and_error(late_doc: dict[str, Any]) -> None:
    (wave,) = late_doc["waves"]
    assert (wave["number"], wave["deadline"], wave["systems_planned"]) == (1, "2026-12-10", 3)
    assert wave["counts"] == {"planned": 0, "moving": 1, "failed": 1, "completed": 1}
    assert wave["behind_schedule"] and not wave["complete"]
    by_id = {s["id"]: s for s in wave["systems"]}
    assert list(by_id) == ["civil-ledger", "edu-portal", "health-permits"]
    edu, health, civil = by_id["edu-portal"], by_id["health-permits"], by_id["civil-ledger"]
    assert (edu["state"], edu["downtime_seconds"], edu["completed_on"]) == (
        "completed",
        90.0,
        "2026-12-03",
    )
    assert not edu["behind_schedule"]
    assert (health["state"], health["ledger_state"], health["rollback_pending"]) == (
        "failed",
        "presynced",
        True,
    )
    assert health["last_error"].startswith("rsync 23") and health["behind_schedule"]
    assert (civil["state"], civil["ledger_state"], civil["behind_schedule"]) == (
        "moving",
        "synced",
        True,
    )
    (failure,) = late_doc["failures"]
    assert failure["id"] == "health-permits"
    assert failure["command"] == "onecloud migrate status --system health-permits --events"


def test_behind_schedule_depends_on_the_injected_today(ledger_file: Path) -> None:
    plan, view = load_plan(PLAN), LedgerView.read(ledger_file)
    early = figures(plan, view, today=EARLY)
    assert early["headline"]["behind_schedule"] == 0
    assert not any(r["behind_schedule"] for r in early["by_city"] + early["by_department"])
    late = figures(plan, view, today=LATE)
    cities = {r["key"]: r for r in late["by_city"]}
    assert (cities["province"]["migrate_planned"], cities["province"]["migrated"]) == (2, 1)
    assert cities["province"]["behind"] == 1 and cities["province"]["behind_schedule"]
    assert cities["foshan"]["behind_schedule"]  # civil-ledger (nanhai-civil) is still moving
    depts = {r["key"]: r for r in late["by_department"]}
    assert depts["edu"]["migrated"] == 1 and not depts["edu"]["behind_schedule"]
    assert depts["health"]["failed"] == 1 and depts["health"]["behind_schedule"]


def test_burnup_counts_completions_per_day_against_deadlines(late_doc: dict[str, Any]) -> None:
    b = late_doc["burnup"]
    assert b["total"] == 3
    assert b["actual"] == [{"date": "2026-12-03", "completed": 1, "cumulative": 1}]
    assert b["planned"] == [{"date": "2026-12-10", "due": 3, "cumulative": 3}]


def test_segments_by_network_and_level(late_doc: dict[str, Any]) -> None:
    segs = {g["name"]: g for g in late_doc["segments"]}
    assert segs["extranet-province"]["systems"] == ["edu-portal"]
    assert segs["extranet-province"]["done"] == 1
    levels = {(lv["network"], lv["level"]): lv for lv in late_doc["network_levels"]}
    assert levels[("intranet", "city")]["planned"] == 1
    assert sum(lv["planned"] for lv in levels.values()) == 3


def test_without_a_ledger_everything_is_planned(tmp_path: Path) -> None:
    doc = figures(load_plan(PLAN), LedgerView.read(tmp_path / "absent.sqlite"), today=EARLY)
    assert doc["headline"]["waiting"] == 3 and doc["headline"]["migrated"] == 0
    assert doc["burnup"]["actual"] == [] and doc["failures"] == []
    assert "no ledger" in doc["notes"][0]
    assert "<svg" in render_html(doc)  # empty data still draws every chart


def test_the_document_is_json_and_stable(late_doc: dict[str, Any], ledger_file: Path) -> None:
    again = figures(load_plan(PLAN), LedgerView.read(ledger_file), today=LATE)
    assert json.loads(json.dumps(late_doc)) == late_doc == again
    assert render_html(late_doc) == render_html(again)  # deterministic SVG too


def test_html_is_self_contained_and_shows_the_documents_figures(
    late_doc: dict[str, Any],
) -> None:
    html = render_html(late_doc)
    page = _parse(html)
    assert all("src" not in s for s in page.scripts)  # inline only
    for a in page.links:
        for attr in ("href", "src", "data"):
            value = a.get(attr) or ""
            assert not value.startswith(("http:", "https:", "//", "file:")), a
    assert "url(" not in "".join(page.styles) and "@import" not in "".join(page.styles)
    for needle in ("<script src", '<link href="http', "url(http", "https://", "http://"):
        assert needle not in html.replace("http://www.w3.org/", "")  # SVG/XLink namespaces
    # every headline key is on the page, and every data-figure equals the document's value
    assert set(page.figures) == set(late_doc["headline"])
    for key, texts in page.figures.items():
        assert all(json.loads(t) == late_doc["headline"][key] for t in texts), key
    # each chart drew (paths inside a non-empty svg)
    assert set(page.charts) == {"progress", "burnup", "waves", "cities"}
    assert all(n > 5 for n in page.charts.values()), page.charts


def test_html_links_failures_and_highlights_rows_behind(late_doc: dict[str, Any]) -> None:
    html = render_html(late_doc)
    page = _parse(html)
    assert 'href="#system-health-permits"' in html
    assert "onecloud migrate status --system health-permits --events" in "".join(page.text)
    assert page.rows["system-health-permits"] == "behind"
    assert page.rows["system-civil-ledger"] == "behind"
    assert page.rows["system-edu-portal"] == ""
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "@media print" in html


def test_cli_json_and_html_agree(tmp_path: Path, ledger_file: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["report", "--plan", str(PLAN), "--ledger", str(ledger_file), "--today", "2026-12-20"]
    assert main([*args, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == figures(load_plan(PLAN), LedgerView.read(ledger_file), today=LATE)
    assert main([*args, "--format", "json", "--out", "fig.json"]) == 0
    assert json.loads((tmp_path / "fig.json").read_text(encoding="utf-8")) == printed
    assert main([*args, "--format", "html"]) == 0  # default: reports/programme.html here
    assert "reports/programme.html" in capsys.readouterr().out
    page = _parse((tmp_path / "reports" / "programme.html").read_text(encoding="utf-8"))
    for key, texts in page.figures.items():
        assert all(json.loads(t) == printed["headline"][key] for t in texts)
    assert main([*args, "--format", "html", "--out", "x/p.html"]) == 0
    assert (tmp_path / "x" / "p.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_refuses_unknown_format_and_bad_date(ledger_file: Path) -> None:
    args = ["report", "--plan", str(PLAN), "--ledger", str(ledger_file)]
    assert main([*args, "--format", "pdf"]) != 0
    assert main([*args, "--format", "json", "--today", "soon"]) != 0

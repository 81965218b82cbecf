"""The HTML dashboard in a real browser: headless Debian Chromium, network off, `file://`.

Needs no lab: the data is the sample census's plan and a temporary ledger written with the
ledger's normal API. Chromium comes from Debian (scripts/browser-packages.sh installs it when
missing); Playwright for Python drives it through `executable_path` and never downloads a
browser. The screenshot lands in reports/dashboard.png.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from onecloud.cli import main
from onecloud.contract import Ledger
from onecloud.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration

PLAN = PROJECT_ROOT / "inventory" / "plan.yml"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = PROJECT_ROOT / "reports" / "dashboard.png"


def _write_ledger(path: Path) -> None:
    """edu-portal completed (90 s downtime), health-permits failed, civil-ledger moving."""
    led = Ledger.open(path)
    try:
        for sid in ("edu-portal", "health-permits", "civil-ledger"):
            led.ensure_system(sid, stack="lab", wave=1)
        led.set_state("edu-portal", "frozen")
        led.mark_freeze_start("edu-portal", "2026-12-03T10:00:00.000Z")
        led.mark_serving("edu-portal", "2026-12-03T10:01:30.000Z")
        led.set_state("edu-portal", "completed")
        led.set_state("health-permits", "presynced", rollback_pending=True, last_error="rsync 23")
        led.set_state("civil-ledger", "synced")
    finally:
        led.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    start = time.monotonic()
    subprocess.run([str(PROJECT_ROOT / "scripts" / "browser-packages.sh")], check=True)
    print(f"browser packages: {time.monotonic() - start:.1f} s")
    assert CHROMIUM.exists(), "scripts/browser-packages.sh did not install /usr/bin/chromium"
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            # no network at all: every non-file request goes to a dead proxy (and is aborted
            # by the route below before that)
            args=[
                "--no-sandbox",
                "--proxy-server=http://127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dashboard")
    db = tmp / "ledger.sqlite"
    _write_ledger(db)
    args = ["report", "--plan", str(PLAN), "--ledger", str(db), "--today", "2026-12-20"]
    page = tmp / "programme.html"
    assert main([*args, "--format", "html", "--out", str(page)]) == 0
    assert main([*args, "--format", "json", "--out", str(tmp / "figures.json")]) == 0
    return page, json.loads((tmp / "figures.json").read_text(encoding="utf-8"))


def test_dashboard_loads_offline_and_shows_the_json(
    browser: Browser, dashboard: tuple[Path, dict[str, Any]]
) -> None:
    path, doc = dashboard
    url = path.resolve().as_uri()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, offline=True)
    requests: list[str] = []
    errors: list[str] = []
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url == url else route.abort(),
    )
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = time.monotonic()
    page.goto(url, wait_until="load")
    print(f"load: {time.monotonic() - start:.2f} s ({path.stat().st_size} bytes)")
    try:
        assert errors == []
        assert requests == [url]  # the file itself, nothing else
        shown = page.eval_on_selector_all(
            "[data-figure]", "els => els.map(e => [e.dataset.figure, e.textContent])"
        )
        assert {k for k, _ in shown} == set(doc["headline"])
        for key, text in shown:
            assert json.loads(text) == doc["headline"][key], key
        charts = page.eval_on_selector_all(
            "svg.chart",
            "els => els.map(e => [e.dataset.chart, e.querySelectorAll('path').length,"
            " e.getBoundingClientRect().width, e.getBoundingClientRect().height])",
        )
        assert {c[0] for c in charts} == {"progress", "burnup", "waves", "cities"}
        for name, paths, width, height in charts:
            assert paths > 5 and width > 100 and height > 50, name
        assert page.locator("tr#system-health-permits.behind").count() == 1
        assert page.locator('a[href="#system-health-permits"]').count() == 1
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))  # the top of the page, as a reader first sees it
        assert SCREENSHOT.stat().st_size > 10_000
        # the tables sort (inline script): by system id, descending after two clicks
        heading = page.locator("#systems th", has_text="system").first
        heading.click()
        heading.click()
        first = page.locator("#systems tbody tr").first.get_attribute("id")
        assert first == "system-health-permits"
        assert errors == []
    finally:
        context.close()

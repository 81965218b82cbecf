"""Benchmark: `onecloud report --format html` over an 800-system census, and the page's load.

Generates a census (`onecloud census generate`), plans it, fills a ledger with every kind of
state (completed with downtimes spread over days, retired, moving at each step, failed with a
rollback pending, planned), then times the command end to end as a subprocess (process start to
file written) over a few runs, and the load of the page in headless Chromium (Playwright, from
launch to the load event, network off) when /usr/bin/chromium is there.

    .venv/bin/python benchmarks/bench_report.py [--systems 800] [--runs 5] [--keep]

Prints figures and the targets (render < 2 s, load < 2 s); asserts nothing about time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onecloud.contract import STATES, Ledger
from onecloud.plan import load_plan

ONECLOUD = str(Path(sys.executable).with_name("onecloud"))
CHROMIUM = Path("/usr/bin/chromium")
MOVING = [s for s in STATES if s not in ("planned", "completed", "retired")]


def _run(*args: str) -> None:
    subprocess.run([ONECLOUD, *args], check=True, stdout=subprocess.DEVNULL)


def _fill(ledger_path: Path, plan_path: Path) -> dict[str, int]:
    """Every migrated system gets a state by its position: a full set of kinds."""
    plan = load_plan(plan_path)
    led = Ledger.open(ledger_path)
    kinds: dict[str, int] = {}
    try:
        systems = [s for s in plan.systems if s.disposition == "migrate"]
        for i, s in enumerate(systems):
            led.ensure_system(s.id, stack=s.stack, wave=s.wave)
            kind = ("completed", "completed", "retired", "moving", "failed", "planned")[i % 6]
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind in ("completed", "retired"):
                day = 1 + i % 28
                led.mark_freeze_start(s.id, f"2026-11-{day:02d}T10:00:00.000Z")
                led.mark_serving(s.id, f"2026-11-{day:02d}T10:{1 + i % 50:02d}:00.000Z")
                led.set_state(s.id, "completed")
                if kind == "retired":
                    led.set_state(s.id, "retired")
            elif kind == "moving":
                led.set_state(s.id, MOVING[i % len(MOVING)])
            elif kind == "failed":
                led.set_state(s.id, "presynced", rollback_pending=True, last_error=f"rsync {i}")
    finally:
        led.close()
    return kinds


def _load_times(page: Path, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    url = page.resolve().as_uri()
    with sync_playwright() as pw:
        for _ in range(runs):
            start = time.perf_counter()
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--proxy-server=http://127.0.0.1:9"],
            )
            tab = browser.new_page(viewport={"width": 1366, "height": 768})
            tab.goto(url, wait_until="load")
            times.append(time.perf_counter() - start)
            browser.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", type=int, default=800)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        census, plan, ledger = work / "census", work / "plan.yml", work / "ledger.sqlite"
        start = time.perf_counter()
        _run("census", "generate", str(census), "--systems", str(args.systems))
        _run("plan", str(census), "--out", str(plan), "--report", "none")
        kinds = _fill(ledger, plan)
        print(f"setup: {time.perf_counter() - start:.1f} s; ledger: {kinds}")
        out = work / "programme.html"
        cmd = [ONECLOUD, "report", "--plan", str(plan), "--ledger", str(ledger),
               "--format", "html", "--out", str(out), "--today", "2027-01-15"]  # fmt: skip
        times = []
        for _ in range(args.runs):
            out.unlink(missing_ok=True)
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            assert out.exists()
            times.append(time.perf_counter() - start)
        size = out.stat().st_size
        print(
            f"render ({args.systems} systems): median {statistics.median(times):.2f} s,"
            f" min {min(times):.2f} s, max {max(times):.2f} s over {args.runs} runs"
            f" (target < 2 s); page {size / 1024:.0f} KiB"
        )
        if CHROMIUM.exists():
            loads = _load_times(out, args.runs)
            print(
                f"browser load (launch to load event): median {statistics.median(loads):.2f} s,"
                f" min {min(loads):.2f} s (target < 2 s)"
            )
        else:
            print("browser load: skipped (no /usr/bin/chromium; scripts/browser-packages.sh)")
        if args.keep:
            print(f"kept {work}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

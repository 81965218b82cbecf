"""Run the checks of many systems in parallel over their hosts; no terminal output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onecloud.contract import SystemSpec
from onecloud.verify._checks import Check, Phase, checks_for
from onecloud.verify._probes import CheckResult, HostPool, run_check

__all__ = ["run_checks", "summarize", "verify_for_migration", "verify_systems"]


def run_checks(checks: Sequence[Check], ssh_config: Path | None, *, workers: int = 16,
               on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Every check in a thread pool; results in the order of `checks`."""
    pool = HostPool(ssh_config)
    if not checks:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(checks)))) as ex:
        futures = [ex.submit(run_check, c, pool) for c in checks]
        results = []
        for f in futures:
            r = f.result()
            if on_result is not None:
                on_result(r)
            results.append(r)
    return results


def verify_systems(specs: Sequence[tuple[SystemSpec, Phase]], ssh_config: Path | None, *,
                   workers: int = 16, on_result: Callable[[CheckResult], None] | None = None
                   ) -> list[CheckResult]:
    checks = [c for spec, phase in specs for c in checks_for(spec, phase)]
    return run_checks(checks, ssh_config, workers=workers, on_result=on_result)


def summarize(results: Sequence[CheckResult]) -> str:
    failed = [r for r in results if not r.ok]
    if not failed:
        return f"{len(results)} checks passed"
    return f"{len(failed)} of {len(results)} checks failed: " + "; ".join(
        f"{r.check.name}: {r.detail}" for r in failed)


def verify_for_migration(spec: SystemSpec, *, ssh_config: Path | None) -> tuple[bool, str]:
    """The verify step of a migration: all checks of the switched system."""
    results = verify_systems([(spec, "migrated")], ssh_config, workers=8)
    return all(r.ok for r in results), summarize(results)

"""Run the checks of many systems in parallel over their hosts; no terminal output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onecloud.contract import SystemSpec
from onecloud.verify._checks import Check, Kind, Phase, checks_for
from onecloud.verify._probes import CheckResult, HostPool, run_check

__all__ = ["no_checks_result", "run_checks", "summarize", "verify_for_migration", "verify_systems"]

#: the kind of the failed result a system with no checks gets (not a probe: never run)
_NO_CHECKS: Kind = "no_checks"


def run_checks(
    checks: Sequence[Check],
    ssh_config: Path | None,
    *,
    workers: int = 16,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
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


def no_checks_result(spec: SystemSpec, phase: Phase) -> CheckResult:
    """The failed result of a system none of whose checks could be derived: passing it
    would prove nothing."""
    pairs = spec.pairs
    host = (
        (pairs[0].target.name if phase == "migrated" else pairs[0].source.name)
        if pairs
        else spec.id
    )
    detail = (
        f"no checks derived for {spec.id}: it declares no services, ports, health URLs"
        " or data; add them to the census or retire it"
    )
    return CheckResult(Check(spec.id, host, _NO_CHECKS, "checks derived"), False, detail, 0.0)


def verify_systems(
    specs: Sequence[tuple[SystemSpec, Phase]],
    ssh_config: Path | None,
    *,
    workers: int = 16,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Every check of every system; a system with no checks gets one failed result."""
    per_system = [(spec, phase, checks_for(spec, phase)) for spec, phase in specs]
    checks = [c for _spec, _phase, cs in per_system for c in cs]
    results = run_checks(checks, ssh_config, workers=workers, on_result=on_result)
    for spec, phase, cs in per_system:
        if not cs:
            r = no_checks_result(spec, phase)
            if on_result is not None:
                on_result(r)
            results.append(r)
    return results


def summarize(results: Sequence[CheckResult]) -> str:
    failed = [r for r in results if not r.ok]
    if not failed:
        return f"{len(results)} checks passed"
    return f"{len(failed)} of {len(results)} checks failed: " + "; ".join(
        f"{r.check.name}: {r.detail}" for r in failed
    )


def verify_for_migration(spec: SystemSpec, *, ssh_config: Path | None) -> tuple[bool, str]:
    """The verify step of a migration: all checks of the switched system."""
    results = verify_systems([(spec, "migrated")], ssh_config, workers=8)
    # never vacuous: verify_systems gives a system with no checks a failed result
    return bool(results) and all(r.ok for r in results), summarize(results)

"""Speed of the lab stack: preview and up wall times, resource count, and our program's overhead.

Prints figures, asserts nothing about time. On the lab cloud (it must be up: `onecloud lab up`):

1. if the lab stack is empty, a cold `up` (creates everything) is timed;
2. `preview` (with and without the guardrails policy pack) and a no-change `up` are timed;
3. the baseline: the same resources declared by a minimal program. The stack's state is
   exported into a scratch backend, and a ~40-line program re-declares every resource from it
   (same types, names, parents, providers and inputs; no config, no plan, no components'
   logic, no invokes). Its `preview` against the same state is the engine's own time; the
   difference to ours is what onecloud's program costs.

Run: .venv/bin/python benchmarks/bench_stacks.py [--cold]   (--cold destroys and re-creates)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onecloud import paths
from onecloud.iac import StackCli

STACK = "lab"

MINIMAL_PROGRAM = r"""
import json, os
import pulumi

SIG = "4dabf18193072939515e22adb298388d"

def plain(v):
    if isinstance(v, dict):
        if v.get(SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return pulumi.Output.secret(json.loads(v["plaintext"]))
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v

state = json.load(open(os.environ["ONECLOUD_BENCH_STATE"]))["deployment"]
by_urn = {}
for r in state["resources"]:
    t, urn = r["type"], r["urn"]
    name = urn.split("::")[-1]
    if t == "pulumi:pulumi:Stack":
        stack_outputs = r.get("outputs", {})
        continue
    parent = by_urn.get(r.get("parent"))
    provider = by_urn.get(r.get("provider", "").rsplit("::", 1)[0]) if r.get("provider") else None
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, protect=r.get("protect", False))
    inputs = plain(r.get("inputs", {}))
    if t.startswith("pulumi:providers:"):
        by_urn[urn] = pulumi.ProviderResource(t.split(":")[-1], name, inputs, opts)
    elif r.get("custom"):
        by_urn[urn] = pulumi.CustomResource(t, name, inputs, opts)
    else:
        by_urn[urn] = pulumi.ComponentResource(t, name, None, opts)
for k, v in stack_outputs.items():
    pulumi.export(k, plain(v))
"""


def _timed(label: str, fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    ok = fn()
    dt = time.monotonic() - t0
    print(f"  {label:<44} {dt:7.1f} s{'' if ok else '   (FAILED)'}", flush=True)
    return dt


def _quiet(runner: StackCli, args: list[str]) -> bool:
    return runner.run(args, capture=True).ok


def baseline(runner: StackCli) -> float:
    """Preview of the minimal program over a copy of the lab stack's state."""
    state = runner.run(
        ["stack", "export", "--show-secrets", "--stack", STACK], capture=True, check=True
    )
    with tempfile.TemporaryDirectory(prefix="onecloud-bench-") as tmp:
        d = Path(tmp)
        (d / "state.json").write_text(state.stdout)
        (d / "backend").mkdir()
        (d / "Pulumi.yaml").write_text("name: onecloud\nruntime: python\n")
        (d / "__main__.py").write_text(MINIMAL_PROGRAM)
        env = runner.env_for(STACK)
        env.update(
            PULUMI_BACKEND_URL=f"file://{d / 'backend'}",
            ONECLOUD_BENCH_STATE=str(d / "state.json"),
        )

        def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(runner.toolchain.pulumi), *args, "--non-interactive"],
                cwd=d,
                env=env,
                capture_output=True,
                text=True,
            )

        for args in (
            ("stack", "init", STACK, "--secrets-provider", "passphrase"),
            ("stack", "import", "--file", str(d / "state.json")),
        ):
            p = pulumi(*args)
            if p.returncode:
                sys.exit(f"baseline setup failed: {' '.join(args)}: {p.stderr or p.stdout}")
        t0 = time.monotonic()
        p = pulumi("preview", "--stack", STACK, "--expect-no-changes")
        dt = time.monotonic() - t0
        tail = (
            ""
            if p.returncode == 0
            else "   (changes or errors: " + (p.stdout + p.stderr)[-300:] + ")"
        )
        print(f"  {'minimal program: preview (no policy)':<44} {dt:7.1f} s{tail}", flush=True)
        return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--cold", action="store_true", help="destroy first and time a cold up")
    args = ap.parse_args()
    runner = StackCli()
    policy = ["--policy-pack", str(runner_policy())]
    apply = ["--yes", "--non-interactive", "--skip-preview"]
    print(f"lab stack, clouds.yaml {runner.env.get('OS_CLIENT_CONFIG_FILE')}")
    if args.cold and runner.resource_count(STACK):
        _timed(
            "destroy (unprotect first)", lambda: runner.destroy(STACK, yes=True, unprotect=True).ok
        )
    if runner.resource_count(STACK) == 0:
        _timed(
            "cold up: create everything (with policy)",
            lambda: _quiet(runner, ["up", "--stack", STACK, *apply, *policy]),
        )
    print(f"  resources in the stack: {runner.resource_count(STACK)}")
    nochange = ["--stack", STACK, "--expect-no-changes"]
    ours_policy = _timed(
        "preview, no changes (with policy)", lambda: _quiet(runner, ["preview", *nochange, *policy])
    )
    ours = _timed("preview, no changes (no policy)", lambda: _quiet(runner, ["preview", *nochange]))
    _timed(
        "up, no changes (with policy)", lambda: _quiet(runner, ["up", *nochange, *apply, *policy])
    )
    base = baseline(runner)
    print(
        f"  onecloud program overhead over the engine: {ours - base:+.1f} s "
        f"({(ours - base) / base * 100:+.0f}% of the minimal preview)"
    )
    print(f"  policy pack overhead: {ours_policy - ours:+.1f} s")


def runner_policy() -> Path:
    return paths.policy_dir() / "analyzer"


if __name__ == "__main__":
    main()

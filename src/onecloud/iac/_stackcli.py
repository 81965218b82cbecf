"""Run the pulumi CLI for one stack through the project's toolchain.

`onecloud stack up|preview|destroy|output` and the integration tests and benchmark go through
here, so every run gets the same environment: the pinned engine and provider, the local state
backend, the passphrase secrets provider, the lab's clouds.yaml when nothing else is set, and
the guardrails policy pack. `systems_output(stack)` is the one reader of a stack's outputs
that other parts get (as data, from the CLI edge).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from onecloud import paths, toolchain
from onecloud.errors import OnecloudError, UsageError

__all__ = ["PulumiRun", "StackCli", "known_stacks", "systems_output"]

log = logging.getLogger(__name__)



def known_stacks() -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for p in paths.stacks_dir().glob("Pulumi.*.yaml")
    )


def check_stack(stack: str) -> None:
    if stack not in known_stacks():
        raise UsageError(
            f"no stack {stack!r}: there is no {paths.stacks_dir() / f'Pulumi.{stack}.yaml'}",
            hint="valid stacks: " + ", ".join(known_stacks()),
        )


@dataclass(frozen=True)
class PulumiRun:
    """The outcome of one pulumi command (expected failures are data, not exceptions)."""

    args: list[str]
    returncode: int
    seconds: float
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _lab_env() -> dict[str, str]:
    """Point openstacksdk and the provider at the lab's clouds.yaml unless the user chose one."""
    if os.environ.get("OS_CLIENT_CONFIG_FILE"):
        return {}
    lab_clouds = paths.lab_dir() / "clouds.yaml"
    return {"OS_CLIENT_CONFIG_FILE": str(lab_clouds)} if lab_clouds.is_file() else {}


class StackCli:
    """The pulumi CLI of the pinned toolchain, in the project directory."""

    def __init__(
        self, extra_env: dict[str, str] | None = None, *, tc: toolchain.Toolchain | None = None
    ) -> None:
        self.toolchain = tc or toolchain.ensure()
        self.env = self.toolchain.env({**_lab_env(), **(extra_env or {})})

    def run(
        self,
        args: Sequence[str],
        *,
        capture: bool = False,
        check: bool = False,
        quiet: bool = False,
        timeout: float | None = None,
    ) -> PulumiRun:
        """Run `pulumi ARGS`; `capture` keeps stdout, `quiet` also keeps stderr out of the
        terminal (in `PulumiRun.stderr`)."""
        cmd = [str(self.toolchain.pulumi), *args]
        t0 = time.monotonic()
        proc = subprocess.run(
            cmd,
            cwd=paths.PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.PIPE if capture or quiet else None,
            stderr=subprocess.PIPE if quiet else None,
            text=True,
            timeout=timeout,
        )
        result = PulumiRun(
            list(args), proc.returncode, time.monotonic() - t0, proc.stdout or "", proc.stderr or ""
        )
        if check and not result.ok:
            raise OnecloudError(
                f"`pulumi {' '.join(args)}` failed (exit {proc.returncode})",
                hint="read the engine's message above; `onecloud stack preview -s <stack>` shows "
                "what it wants to do",
            )
        return result

    def select(self, stack: str) -> None:
        """Select the stack, creating it (passphrase secrets) on first use."""
        check_stack(stack)
        self.run(
            [
                "stack",
                "select",
                "--create",
                "--secrets-provider",
                "passphrase",
                "--non-interactive",
                stack,
            ],
            capture=True,
            check=True,
        )

    def _policy(self, policy: bool) -> list[str]:
        # the pack's executable (see policy/analyzer for why not the directory)
        return ["--policy-pack", str(paths.policy_dir() / "analyzer")] if policy else []

    def preview(
        self,
        stack: str,
        *,
        expect_no_changes: bool = False,
        policy: bool = True,
        diff: bool = False,
    ) -> PulumiRun:
        self.select(stack)
        args = ["preview", "--stack", stack, "--non-interactive", *self._policy(policy)]
        args += ["--expect-no-changes"] if expect_no_changes else []
        args += ["--diff"] if diff else []
        return self.run(args)

    def up(
        self,
        stack: str,
        *,
        yes: bool,
        expect_no_changes: bool = False,
        policy: bool = True,
        refresh: bool = False,
    ) -> PulumiRun:
        if not yes and not sys.stdin.isatty():
            raise UsageError(
                "`stack up` asks for confirmation, and there is no terminal",
                hint="pass --yes to apply without asking",
            )
        self.select(stack)
        args = ["up", "--stack", stack, *self._policy(policy)]
        # no --skip-preview: the preview runs the stack-wide guardrails before anything changes
        args += ["--yes", "--non-interactive"] if yes else []
        args += ["--expect-no-changes"] if expect_no_changes else []
        args += ["--refresh"] if refresh else []
        return self.run(args)

    def destroy(self, stack: str, *, yes: bool, unprotect: bool = False) -> PulumiRun:
        if not yes and not sys.stdin.isatty():
            raise UsageError(
                "`stack destroy` asks for confirmation, and there is no terminal",
                hint="pass --yes to destroy without asking",
            )
        self.select(stack)
        if unprotect:
            self.run(["state", "unprotect", "--all", "--yes", "--stack", stack], check=True)
        args = ["destroy", "--stack", stack]
        args += ["--yes", "--non-interactive", "--skip-preview"] if yes else []
        return self.run(args)

    def outputs(self, stack: str, *, show_secrets: bool = False) -> dict:
        self.select(stack)
        args = ["stack", "output", "--json", "--stack", stack]
        args += ["--show-secrets"] if show_secrets else []
        res = self.run(args, capture=True, check=True)
        return json.loads(res.stdout or "{}")

    def resource_count(self, stack: str) -> int:
        """Resources in the stack's state (without the stack itself)."""
        self.select(stack)
        res = self.run(["stack", "export", "--stack", stack], capture=True, check=True)
        deployment = json.loads(res.stdout).get("deployment", {})
        return sum(
            1 for r in deployment.get("resources") or [] if r.get("type") != "pulumi:pulumi:Stack"
        )


def systems_output(stack: str) -> dict[str, Any] | None:
    """The stack's `systems` output (per system: its target servers and addresses), or None
    when the toolchain is not built or the stack has no outputs (the caller then uses the
    plan's planned addresses and says so)."""
    tc = toolchain.find()
    if tc is None:
        log.info("no Pulumi toolchain built: using the plan's planned addresses")
        return None
    args = ["stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        res = StackCli(tc=tc).run(args, quiet=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("pulumi stack output failed (%s): using the plan", exc)
        return None
    if not res.ok:
        log.info("stack %s has no outputs (%s): using the plan", stack, res.stderr.strip()[:200])
        return None
    try:
        systems = json.loads(res.stdout or "{}").get("systems")
    except ValueError:
        return None
    return systems if isinstance(systems, dict) else None

"""Run the pulumi CLI for one stack through the project's toolchain.

`onecloud stack up|preview|destroy|output` and the integration tests and benchmark go through
here, so every run gets the same environment: the pinned engine and provider, the local state
backend, the passphrase secrets provider, the lab's clouds.yaml when nothing else is set, and
the guardrails policy pack. Other parts read stack outputs with `stack_outputs(stack)`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from onecloud import paths
from onecloud.errors import OnecloudError, UsageError

__all__ = ["PulumiRun", "Runner", "known_stacks", "stack_outputs"]

POLICY_DIR = paths.PROJECT_ROOT / "policy"
STACKS_DIR = paths.PROJECT_ROOT / "stacks"


def known_stacks() -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for p in STACKS_DIR.glob("Pulumi.*.yaml")
    )


def check_stack(stack: str) -> None:
    if stack not in known_stacks():
        raise UsageError(
            f"no stack {stack!r}: there is no {STACKS_DIR / f'Pulumi.{stack}.yaml'}",
            hint="valid stacks: " + ", ".join(known_stacks()),
        )


@dataclass(frozen=True)
class PulumiRun:
    """The outcome of one pulumi command (expected failures are data, not exceptions)."""

    args: list[str]
    returncode: int
    seconds: float
    stdout: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _lab_env() -> dict[str, str]:
    """Point openstacksdk and the provider at the lab's clouds.yaml unless the user chose one."""
    if os.environ.get("OS_CLIENT_CONFIG_FILE"):
        return {}
    lab_clouds = paths.lab_dir() / "clouds.yaml"
    return {"OS_CLIENT_CONFIG_FILE": str(lab_clouds)} if lab_clouds.is_file() else {}


class Runner:
    """The pulumi CLI of the pinned toolchain, in the project directory."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        from onecloud import toolchain

        self.toolchain = toolchain.ensure()
        self.env = self.toolchain.env({**_lab_env(), **(extra_env or {})})

    def run(self, args: Sequence[str], *, capture: bool = False, check: bool = False) -> PulumiRun:
        import time

        cmd = [str(self.toolchain.pulumi), *args]
        t0 = time.monotonic()
        proc = subprocess.run(
            cmd,
            cwd=paths.PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.PIPE if capture else None,
            text=True,
        )
        result = PulumiRun(list(args), proc.returncode, time.monotonic() - t0, proc.stdout or "")
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
        return ["--policy-pack", str(POLICY_DIR / "analyzer")] if policy else []

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


def stack_outputs(stack: str) -> dict:
    """The outputs of `stack` (e.g. `systems` for the migration runner)."""
    return Runner().outputs(stack)


def project_root() -> Path:
    return paths.PROJECT_ROOT

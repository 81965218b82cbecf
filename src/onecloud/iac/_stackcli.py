"""Run the pulumi CLI for one stack through the project's toolchain.

`onecloud stack up|preview|destroy|output` and the integration tests and benchmark go through
here, so every run gets the same environment: the pinned engine and provider, the local state
backend, the secrets provider's key, the lab's clouds.yaml when nothing else is set, and the
guardrails policy pack. `systems_output(stack)` is the one reader of a stack's outputs that
other parts get (as data, from the CLI edge).

Secrets: the lab's public passphrase (`toolchain.LAB_PASSPHRASE`) is given to lab stacks only
(`is_lab_stack`). Every other stack needs the user's `PULUMI_CONFIG_PASSPHRASE` or
`PULUMI_CONFIG_PASSPHRASE_FILE`, or a non-passphrase `secretsprovider:` in its stack file;
without one, `select` (and so every command) stops before pulumi runs (`SecretsKeyMissing`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from onecloud import paths, toolchain
from onecloud.errors import ExitStatus, OnecloudError, ToolchainError, UsageError

__all__ = [
    "LAB_STACK",
    "PulumiRun",
    "SecretsKeyMissing",
    "StackCli",
    "StackOutputsUnreadable",
    "is_lab_stack",
    "known_stacks",
    "systems_output",
]

log = logging.getLogger(__name__)

#: the stack of the local lab (the demo and CI run `onecloud stack up -s lab`)
LAB_STACK = "lab"


class SecretsKeyMissing(ToolchainError):
    """A stack that is not the lab's has no key for its secrets.

    Exit 4 (toolchain), not 3: the stack's config is valid; what is missing is part of the
    environment the pulumi CLI runs in, which the user sets like `PULUMI_BACKEND_URL`.
    """

    exit_code = ExitStatus.TOOLCHAIN


class StackOutputsUnreadable(ToolchainError):
    """A stack's outputs exist (or may) but pulumi cannot read them: wrong or missing
    passphrase, state backend unreachable. Never silently replaced by the plan's addresses.

    Exit 4 (toolchain): the state is there and valid; the pulumi CLI's environment (its key,
    its backend) is what the user must fix.
    """

    exit_code = ExitStatus.TOOLCHAIN


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


def _lab_clouds_yaml() -> Path:
    return paths.lab_dir() / "clouds.yaml"


def _lab_env() -> dict[str, str]:
    """Point openstacksdk and the provider at the lab's clouds.yaml unless the user chose one."""
    if os.environ.get("OS_CLIENT_CONFIG_FILE"):
        return {}
    lab_clouds = _lab_clouds_yaml()
    return {"OS_CLIENT_CONFIG_FILE": str(lab_clouds)} if lab_clouds.is_file() else {}


def _stack_file(stack: str) -> dict[str, Any]:
    """The top level of stacks/Pulumi.<stack>.yaml ({} if it is missing or unreadable)."""
    try:
        found = YAML(typ="safe").load(
            (paths.stacks_dir() / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        )
    except (OSError, YAMLError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def stack_cloud(stack: str) -> str | None:
    """The clouds.yaml entry a stack deploys to (`openstack:cloud` of its stack file)."""
    config = _stack_file(stack).get("config")
    cloud = config.get("openstack:cloud") if isinstance(config, dict) else None
    return cloud if isinstance(cloud, str) else None


def stack_management_cidrs(stack: str) -> list[str]:
    """Where a stack admits SSH from (`onecloud:managementCidrs`, else the program's default)."""
    from onecloud.iac._config import DEFAULT_MANAGEMENT_CIDRS

    config = _stack_file(stack).get("config")
    found = config.get("onecloud:managementCidrs") if isinstance(config, dict) else None
    if isinstance(found, list) and all(isinstance(c, str) for c in found):
        return list(found)
    return list(DEFAULT_MANAGEMENT_CIDRS)


def _lab_cloud_names(clouds_yaml: Path) -> set[str]:
    """The entries of the lab's clouds.yaml (the lab writes it; the product never imports the
    lab). Empty when it does not exist or this user may not read it."""
    try:
        found = YAML(typ="safe").load(clouds_yaml.read_text(encoding="utf-8"))
    except (OSError, YAMLError, ValueError):
        return set()
    clouds = found.get("clouds") if isinstance(found, dict) else None
    return {str(name) for name in clouds} if isinstance(clouds, dict) else set()


def is_lab_stack(stack: str, env: Mapping[str, str]) -> bool:
    """Does `stack` only ever hold the local lab's secrets, so the lab's public passphrase fits?

    The `lab` stack always; another stack (a test's throwaway stack) only if its
    `openstack:cloud` is an entry of the lab's clouds.yaml and `env` points the provider at
    that very file: then the only credentials it can reach are the lab's own.
    """
    if stack == LAB_STACK:
        return True
    chosen = env.get("OS_CLIENT_CONFIG_FILE")
    lab_clouds = _lab_clouds_yaml()
    if not chosen or not lab_clouds.is_file():
        return False
    try:
        if not Path(chosen).resolve().samefile(lab_clouds):
            return False
    except OSError:
        return False
    cloud = stack_cloud(stack)
    return cloud is not None and cloud in _lab_cloud_names(lab_clouds)


def _secrets_provider(stack: str) -> str:
    """The stack file's `secretsprovider` (`passphrase` when it names none)."""
    return str(_stack_file(stack).get("secretsprovider") or "passphrase")


def secrets_env(stack: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """What `stack` needs added to `env` for its secrets: the lab's passphrase for a lab stack
    whose user gave none; nothing for any other stack (its key is the user's business)."""
    if stack is None or toolchain.passphrase_given(env) or not is_lab_stack(stack, env):
        return {}
    return {"PULUMI_CONFIG_PASSPHRASE": toolchain.LAB_PASSPHRASE}


def require_secrets_key(stack: str, env: Mapping[str, str]) -> None:
    """SecretsKeyMissing unless pulumi can open `stack`'s secrets without asking anyone."""
    if toolchain.passphrase_given(env) or is_lab_stack(stack, env):
        return
    provider = _secrets_provider(stack)
    if provider != "passphrase":  # a KMS / Vault provider: its own credentials, not ours
        return
    raise SecretsKeyMissing(
        f"stack {stack} keeps its secrets with the passphrase provider and no passphrase is "
        "set: PULUMI_CONFIG_PASSPHRASE and PULUMI_CONFIG_PASSPHRASE_FILE are both unset or "
        f"empty (the lab's passphrase is for the {LAB_STACK} stack only); pulumi was not run",
        hint="export PULUMI_CONFIG_PASSPHRASE='<your passphrase>' (or "
        "PULUMI_CONFIG_PASSPHRASE_FILE=<file holding it>), or give the stack a KMS or Vault "
        f"provider (`secretsprovider:` in stacks/Pulumi.{stack}.yaml); see docs/stacks.md, "
        "Secrets",
    )


def _stack_arg(args: Sequence[str]) -> str | None:
    """The stack a pulumi command line names (`--stack S`, `-s S`, `--stack=S`)."""
    for i, arg in enumerate(args):
        if arg in ("--stack", "-s") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--stack="):
            return arg.split("=", 1)[1]
    return None


class StackCli:
    """The pulumi CLI of the pinned toolchain, in the project directory."""

    def __init__(
        self, extra_env: dict[str, str] | None = None, *, tc: toolchain.Toolchain | None = None
    ) -> None:
        self.toolchain = tc or toolchain.ensure()
        #: the environment of every run, without the lab's passphrase (see `env_for`)
        self.env = self.toolchain.env({**_lab_env(), **(extra_env or {})})

    def env_for(self, stack: str | None) -> dict[str, str]:
        """The environment of a run for `stack`: the lab's passphrase only for a lab stack."""
        return {**self.env, **secrets_env(stack, self.env)}

    def run(
        self,
        args: Sequence[str],
        *,
        capture: bool = False,
        check: bool = False,
        quiet: bool = False,
        timeout: float | None = None,
        stack: str | None = None,
    ) -> PulumiRun:
        """Run `pulumi ARGS` for `stack` (default: the one ARGS name with --stack); `capture`
        keeps stdout, `quiet` also keeps stderr out of the terminal (in `PulumiRun.stderr`)."""
        cmd = [str(self.toolchain.pulumi), *args]
        t0 = time.monotonic()
        proc = subprocess.run(
            cmd,
            cwd=paths.PROJECT_ROOT,
            env=self.env_for(stack or _stack_arg(args)),
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
        """Select the stack, creating it on first use with the secrets provider its stack file
        names (passphrase by default). Every command selects first, so a stack whose secrets
        have no key stops here, before pulumi runs (`SecretsKeyMissing`)."""
        check_stack(stack)
        require_secrets_key(stack, self.env)
        self.run(
            [
                "stack",
                "select",
                "--create",
                "--secrets-provider",
                _secrets_provider(stack),
                "--non-interactive",
                stack,
            ],
            capture=True,
            check=True,
            stack=stack,
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
        args = ["stack", "output", "--json", "--non-interactive", "--stack", stack]
        args += ["--show-secrets"] if show_secrets else []
        res = self.run(args, capture=True, quiet=True)
        found = read_outputs(stack, res)
        return {} if found is None else found

    def resource_count(self, stack: str) -> int:
        """Resources in the stack's state (without the stack itself)."""
        self.select(stack)
        res = self.run(["stack", "export", "--stack", stack], capture=True, check=True)
        deployment = json.loads(res.stdout).get("deployment", {})
        return sum(
            1 for r in deployment.get("resources") or [] if r.get("type") != "pulumi:pulumi:Stack"
        )


#: pulumi's words for "there is no such stack" (file / S3 backends; the service's 404)
_NO_STACK = re.compile(r"no stack named '[^']*' found|\[404\] stack not found", re.I)


def _first_line(stderr: str) -> str:
    """The line of pulumi's stderr that says what went wrong (its first `error:` line)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error:")]
    return (errors or lines or ["(pulumi wrote nothing on stderr)"])[0][:300]


def _hint(line: str) -> str:
    low = line.lower()
    if "passphrase" in low or "decrypt" in low:
        return (
            "the stack's secrets need the passphrase they were made with: set "
            "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to it; the lab's "
            f"passphrase applies to the {LAB_STACK} stack only"
        )
    return (
        "check that the state backend answers (PULUMI_BACKEND_URL, its credentials and "
        "network), then try again; `onecloud toolchain show` prints the backend in use"
    )


def read_outputs(stack: str, res: PulumiRun) -> dict[str, Any] | None:
    """Classify `pulumi stack output --json` for `stack`: its outputs; None if the stack does
    not exist or has none yet; StackOutputsUnreadable when they exist but cannot be read."""
    if not res.ok:
        line = _first_line(res.stderr)
        if _NO_STACK.search(res.stderr):
            return None
        raise StackOutputsUnreadable(
            f"the outputs of stack {stack} cannot be read (pulumi exit {res.returncode}): {line}",
            hint=_hint(line),
        )
    try:
        found = json.loads(res.stdout or "{}")
    except ValueError as exc:
        raise StackOutputsUnreadable(
            f"pulumi printed outputs of stack {stack} that are not JSON: {exc}",
            hint="run `onecloud stack output -s " + stack + "` to see them",
        ) from exc
    if not isinstance(found, dict):
        raise StackOutputsUnreadable(
            f"pulumi printed outputs of stack {stack} that are not a JSON object",
            hint="run `onecloud stack output -s " + stack + "` to see them",
        )
    return found or None


def systems_output(stack: str) -> dict[str, Any] | None:
    """The stack's `systems` output (per system: its target servers and addresses), or None
    when the toolchain is not built, the stack does not exist or has no `systems` output yet
    (the caller then uses the plan's planned addresses and says so).

    Outputs that exist but cannot be read (wrong passphrase, state backend down, pulumi hung)
    raise StackOutputsUnreadable: a migration must never target planned addresses silently
    when the stack says otherwise.
    """
    tc = toolchain.find()
    if tc is None:
        log.info("no Pulumi toolchain built: using the plan's planned addresses")
        return None
    args = ["stack", "output", "--json", "--show-secrets", "--non-interactive", "--stack", stack]
    timeout = 120
    try:
        res = StackCli(tc=tc).run(args, quiet=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise StackOutputsUnreadable(
            f"the outputs of stack {stack} cannot be read: pulumi did not answer in {timeout} s",
            hint=_hint("backend"),
        ) from exc
    except OSError as exc:
        raise StackOutputsUnreadable(
            f"the outputs of stack {stack} cannot be read: cannot run {tc.pulumi}: {exc}",
            hint="rebuild the toolchain: `onecloud toolchain build`",
        ) from exc
    found = read_outputs(stack, res)
    if found is None:
        log.info("stack %s does not exist or has no outputs yet: using the plan", stack)
        return None
    systems = found.get("systems")
    if not isinstance(systems, dict):
        log.info("stack %s has no `systems` output: using the plan", stack)
        return None
    return systems

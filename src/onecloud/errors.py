"""The error hierarchy. Only `onecloud.cli.main` turns these into messages and exit codes.

Every message says what is wrong, where (file:line, host, step) and how to fix it.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "CensusError",
    "ConfigError",
    "ExitStatus",
    "LabError",
    "MigrationError",
    "OnecloudError",
    "PlanError",
    "ToolchainError",
    "UsageError",
    "VerificationError",
]


class ExitStatus(IntEnum):
    """The process exit codes of `onecloud`: the CLI, the errors and the docs share these."""

    OK = 0
    FAILED = 1  # a command reported a failure (a check failed, a service is down)
    USAGE = 2  # bad flag, missing file, something that cannot be done as asked
    INVALID = 3  # census, plan or stack config invalid
    TOOLCHAIN = 4
    LAB = 5
    MIGRATION = 6
    VERIFICATION = 7
    INTERRUPTED = 130

    @classmethod
    def table(cls) -> str:
        """One line per code, for `--help` and the docs."""
        return "; ".join(f"{int(c)} {c.name.lower()}" for c in cls)


class OnecloudError(Exception):
    """Root of every error onecloud raises on purpose."""

    #: process exit code used by the CLI for this class of error
    exit_code: ExitStatus = ExitStatus.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(OnecloudError, ValueError):
    """The user asked for something that cannot be done as asked (bad flag, missing file)."""

    exit_code = ExitStatus.USAGE


class CensusError(OnecloudError, ValueError):
    """The census has problems; `problems` lists every one as `file:line: what; fix`."""

    exit_code = ExitStatus.INVALID

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        n = len(problems)
        super().__init__(
            f"the census has {n} problem{'s' if n != 1 else ''}:\n" + "\n".join(problems)
        )


class PlanError(OnecloudError, ValueError):
    exit_code = ExitStatus.INVALID


class ConfigError(OnecloudError, ValueError):
    """A stack config or settings file is invalid."""

    exit_code = ExitStatus.INVALID


class ToolchainError(OnecloudError, RuntimeError):
    """The Pulumi toolchain could not be found or built."""

    exit_code = ExitStatus.TOOLCHAIN


class LabError(OnecloudError, RuntimeError):
    """The local lab (OpenStack services, SSH hosts) could not be brought up or down."""

    exit_code = ExitStatus.LAB


class MigrationError(OnecloudError, RuntimeError):
    exit_code = ExitStatus.MIGRATION


class VerificationError(OnecloudError, RuntimeError):
    exit_code = ExitStatus.VERIFICATION

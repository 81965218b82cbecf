"""The error hierarchy. Only `onecloud.cli.main` turns these into messages and exit codes.

Every message says what is wrong, where (file:line, host, step) and how to fix it.
"""

from __future__ import annotations


class OnecloudError(Exception):
    """Root of every error onecloud raises on purpose."""

    #: process exit code used by the CLI for this class of error
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(OnecloudError, ValueError):
    """The user asked for something that cannot be done as asked (bad flag, missing file)."""

    exit_code = 2


class CensusError(OnecloudError, ValueError):
    """The census has problems; `problems` lists every one as `file:line: what; fix`."""

    exit_code = 3

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        n = len(problems)
        super().__init__(
            f"the census has {n} problem{'s' if n != 1 else ''}:\n" + "\n".join(problems)
        )


class PlanError(OnecloudError, ValueError):
    exit_code = 3


class ConfigError(OnecloudError, ValueError):
    """A stack config or settings file is invalid."""

    exit_code = 3


class ToolchainError(OnecloudError, RuntimeError):
    """The Pulumi toolchain could not be found or built."""

    exit_code = 4


class LabError(OnecloudError, RuntimeError):
    """The local lab (OpenStack services, SSH hosts) could not be brought up or down."""

    exit_code = 5


class MigrationError(OnecloudError, RuntimeError):
    exit_code = 6


class VerificationError(OnecloudError, RuntimeError):
    exit_code = 7

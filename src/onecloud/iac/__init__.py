"""The Pulumi program of onecloud: landing zones from the plan (see docs/stacks.md).

`__main__` is the program the engine runs (Pulumi.yaml `main: src/onecloud/iac/`): it validates
the stack's config (`_config`), and `_program` wires the components of `components/`. The face
is what the rest of onecloud uses: the pulumi CLI through the project's toolchain
(`StackCli`) and the one reader of a stack's outputs (`systems_output`).
"""

from onecloud.iac._stackcli import (
    PulumiRun,
    StackCli,
    known_stacks,
    stack_cloud,
    stack_management_cidrs,
    systems_output,
)

__all__ = [
    "PulumiRun",
    "StackCli",
    "known_stacks",
    "stack_cloud",
    "stack_management_cidrs",
    "systems_output",
]

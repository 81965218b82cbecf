"""The Pulumi program of onecloud: landing zones from the plan (see docs/stacks.md).

`__main__` is the program the engine runs (Pulumi.yaml `main: src/onecloud/iac/`); `config`
validates a stack's config; `program` wires the components of `components/`; `cli` runs the
pulumi CLI through the project's toolchain (`onecloud stack up -s lab`).
"""

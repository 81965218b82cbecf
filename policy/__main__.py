"""The policy pack: onecloud's guardrails, mandatory on every preview and up.

The rules are pure functions in `onecloud.iac._guardrails` (unit-tested there); this module turns
the engine's view of the stack into their input and their violations into reports that name the
rule and the system.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from onecloud.iac import _guardrails as g


def _res(r: PolicyResource) -> g.Res:
    return g.Res(
        type=r.resource_type,
        name=r.name,
        urn=r.urn,
        props=r.props,
        deps={k: [d.urn for d in v] for k, v in (r.property_dependencies or {}).items()},
    )


def _report(violations: list[g.Violation], report: ReportViolation) -> None:
    for v in violations:
        report(str(v), v.urn)


def _labels(args: ResourceValidationArgs, report: ReportViolation) -> None:
    res = g.Res(type=args.resource_type, name=args.name, urn=args.urn, props=args.props)
    _report(g.check_labels(res), report)


def _stack(check):  # type: ignore[no-untyped-def]
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        _report(check([_res(r) for r in args.resources]), report)

    return validate


PolicyPack(
    name="onecloud-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="resources-carry-labels",
            description=g.RULES["resources-carry-labels"],
            validate=_labels,
        ),
        StackValidationPolicy(
            name="intranet-stays-off-extranet",
            description=g.RULES["intranet-stays-off-extranet"],
            validate=_stack(g.check_intranet),
        ),
        StackValidationPolicy(
            name="no-world-open-rules",
            description=g.RULES["no-world-open-rules"],
            validate=_stack(g.check_world_open),
        ),
        StackValidationPolicy(
            name="protected-systems-have-dr",
            description=g.RULES["protected-systems-have-dr"],
            validate=_stack(g.check_dr),
        ),
    ],
)

"""Run the landing-zone program under Pulumi's mocks and record the resource graph.

`run(plan, raw_config, stack)` declares everything `onecloud.iac._program.declare` declares and
returns a `Graph`: each registered resource with its type, inputs, parent, provider, protect flag
and dependencies, plus the stack outputs. Mocks return the inputs as outputs, ids
`<name>_id`, and a few computed values a real provider would fill in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from onecloud.iac._config import load_stack_config
from onecloud.iac._credentials import ScopeCredentials
from onecloud.iac._program import declare
from onecloud.plan._models import Plan

CREDENTIALS = ScopeCredentials(
    auth_url="http://127.0.0.1:5000/v3",
    username="admin",
    password="lab-secret",
    user_domain_name="Default",
)


@dataclass
class Res:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None  # logical name of the parent (None: the stack)
    provider: str | None  # logical name of the explicit provider
    protect: bool
    depends_on: list[str] = field(default_factory=list)
    urn: str = ""
    #: input property -> URNs of the resources it was computed from
    property_deps: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Graph:
    resources: dict[str, Res]
    outputs: dict[str, Any]
    calls: list[tuple[str, dict]]

    def of_type(self, type_: str) -> list[Res]:
        return [r for r in self.resources.values() if r.type == type_]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources.values():
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))


def _name(urn: str) -> str | None:
    if not urn:
        return None
    return urn.split("::")[-1]


def _is_stack(urn: str) -> bool:
    return urn.split("::")[2].split("$")[-1] == "pulumi:pulumi:Stack"


def _provider_name(ref: str) -> str | None:
    # "<urn>::<id>"
    if not ref:
        return None
    urn = ref.rsplit("::", 1)[0]
    return _name(urn)


class _Mocks(Mocks):
    calls: list[tuple[str, dict]]

    def __init__(self, stack_outputs: dict[str, Any] | None = None) -> None:
        self.calls = []
        self.stack_outputs = stack_outputs or {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        out = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.inputs.get("name"), "outputs": self.stack_outputs}
        if args.typ == "openstack:networking/floatingIp:FloatingIp":
            out["address"] = "203.0.113.10"
        if args.typ == "openstack:networking/port:Port":
            out["allFixedIps"] = [
                f.get("ipAddress", "198.19.99.99") for f in args.inputs.get("fixedIps", [])
            ]
        return f"{args.name}_id", out

    def call(self, args: MockCallArgs) -> tuple[dict, list | None]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "openstack:networking/getNetwork:getNetwork":
            return {"id": f"{args.args['name']}-net-id", "name": args.args["name"]}, []
        if args.token == "openstack:identity/getAuthScope:getAuthScope":
            return {
                "id": "scope",
                "name": "current",
                "userId": "operator-user-id",
                "projectId": "admin-project",
            }, []
        if args.token == "openstack:identity/getRole:getRole":
            return {"id": f"role-{args.args['name']}-id", "name": args.args["name"]}, []
        if args.token == "openstack:images/getImage:getImage":
            return {"id": f"image-{args.args['name']}-id", "name": args.args["name"]}, []
        return {}, []


class _Monitor(MockMonitor):
    def __init__(self, mocks: _Mocks) -> None:
        super().__init__(mocks)
        self.recorded: dict[str, Res] = {}

    def ReadResource(self, request: Any) -> Any:
        resp = super().ReadResource(request)
        self.recorded[request.name] = Res(
            type=request.type,
            name=request.name,
            inputs=dict(rpc.deserialize_properties(request.properties)),
            parent=None
            if not request.parent or _is_stack(request.parent)
            else _name(request.parent),
            provider=_provider_name(request.provider),
            protect=False,
            urn=resp.urn,
        )
        return resp

    def RegisterResource(self, request: Any) -> Any:
        resp = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            res = Res(
                type=request.type,
                name=request.name,
                inputs=dict(rpc.deserialize_properties(request.object)),
                parent=None
                if not request.parent or _is_stack(request.parent)
                else _name(request.parent),
                provider=_provider_name(request.provider),
                protect=bool(request.protect),
                depends_on=[n for n in (_name(u) for u in request.dependencies) if n],
                urn=self.make_urn(request.parent, request.type, request.name),
                property_deps={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            )
            assert request.name not in self.recorded, f"two resources named {request.name}"
            self.recorded[request.name] = res
        return resp


def network_stack_outputs(plan: Plan) -> dict[str, Any]:
    """What the network stack would export for `plan` (ids are recognisably fake)."""
    return {
        "segments": {
            s.name: {
                "network": s.network,
                "cidr": s.cidr,
                "network_id": f"ref-{s.network}-id",
                "subnet_id": f"ref-{s.name}-id",
            }
            for s in plan.segments
        }
    }


def run(
    plan: Plan,
    raw_config: dict[str, Any],
    stack: str = "lab",
    image_file: str | None = "/tmp/onecloud-base.raw",
) -> Graph:
    mocks = _Mocks(network_stack_outputs(plan))
    monitor = _Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="onecloud", stack=stack, preview=False, monitor=monitor)
    strs = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw_config.items()}
    pulumi.runtime.set_all_config(strs)
    cfg = load_stack_config(strs, stack)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output:
        outs = declare(cfg, plan, CREDENTIALS, image_file)
        keys = list(outs)
        return pulumi.Output.all(*outs.values()).apply(
            lambda vals: outputs.update(zip(keys, vals, strict=True))
        )

    program()
    return Graph(monitor.recorded, outputs, mocks.calls)

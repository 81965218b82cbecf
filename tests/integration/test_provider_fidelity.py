"""The project's provider behaves as the released pulumi-openstack provider does for its users.

User programs, written as Pulumi users write them (no `name` anywhere: autonaming), run through
the project's toolchain against the lab cloud, each in a temporary project directory with its
own state backend: `up`, `preview --expect-no-changes` (with and without the `OS_CLOUD` that
`onecloud lab env` exports), `destroy`. And the schema the provider serves to
`pulumi package get-schema` has the pinned Python SDK's resources, functions, property names,
secret properties, required inputs and configuration defaults.

Runs on the lab cloud (brought up if needed; fails, never skips, when it cannot come up).
Everything a program creates is destroyed, also when an assertion fails.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import lab_cloud_up

from onecloud import toolchain

pytestmark = pytest.mark.integration

#: a flavor and the image `onecloud lab up` registers
FLAVOR = "oc.small"
IMAGE = "onecloud-base"
#: where the programs name their image (`image_arg`)
IMAGE_ARG = "@IMAGE_ARG@"

#: Pulumi's `openstack-python` template, adapted to the lab's flavor and image names. One line
#: more: every project of the lab sees the lab stacks' shared networks, and Nova refuses a
#: server without networks when more than one is visible ("Multiple possible networks found"),
#: so the server asks for none (`network_mode`), which the template's clouds never needed.
TEMPLATE = f'''"""An OpenStack Python Pulumi program"""

import pulumi
from pulumi_openstack import compute

# Create an OpenStack resource (Compute Instance)
instance = compute.Instance('test',
\tflavor_name='{FLAVOR}',
\t{IMAGE_ARG},
\tnetwork_mode='none')

# Export the IP of the instance
pulumi.export('instance_ip', instance.access_ip_v4)
'''

#: a department's small landing zone, the way a user writes it: a Keystone project, a
#: provider scoped to it (explicit credentials from the stack config, `cloud=""` so that an
#: exported OS_CLOUD does not take over), and in it a network, subnet, router, security group
#: with a rule, a port and a server on it. Nothing has a `name`.
LANDING_ZONE = f'''"""A project with a network and a server, through a provider scoped to it."""

import pulumi
import pulumi_openstack as openstack

config = pulumi.Config()
me = openstack.identity.get_auth_scope(name="current")
member = openstack.identity.get_role(name="member")

project = openstack.identity.Project("fidelity", description="onecloud provider fidelity test")
grant = openstack.identity.RoleAssignment(
    "grant", project_id=project.id, user_id=me.user_id, role_id=member.id
)
scoped = openstack.Provider(
    "scoped",
    cloud="",
    auth_url=config.require("authUrl"),
    user_name=config.require("userName"),
    password=config.require_secret("password"),
    user_domain_name="Default",
    project_domain_name="Default",
    tenant_name=project.name,
    region=config.require("region"),
)
opts = pulumi.ResourceOptions(provider=scoped, depends_on=[grant])

network = openstack.networking.Network("net", admin_state_up=True, opts=opts)
subnet = openstack.networking.Subnet(
    "subnet", network_id=network.id, cidr="10.213.7.0/24", ip_version=4, opts=opts
)
router = openstack.networking.Router("router", opts=opts)
openstack.networking.RouterInterface(
    "router-subnet", router_id=router.id, subnet_id=subnet.id, opts=opts
)
group = openstack.networking.SecGroup("ssh", description="ssh from the subnet", opts=opts)
openstack.networking.SecGroupRule(
    "ssh-in",
    direction="ingress",
    ethertype="IPv4",
    protocol="tcp",
    port_range_min=22,
    port_range_max=22,
    remote_ip_prefix="10.213.7.0/24",
    security_group_id=group.id,
    opts=opts,
)
port = openstack.networking.Port(
    "port",
    network_id=network.id,
    security_group_ids=[group.id],
    fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=subnet.id)],
    opts=opts,
)
server = openstack.compute.Instance(
    "server",
    flavor_name="{FLAVOR}",
    {IMAGE_ARG},
    networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
    opts=opts,
)

pulumi.export("project", {{"id": project.id, "name": project.name}})
pulumi.export("network", {{"id": network.id, "name": network.name}})
pulumi.export("server", {{"id": server.id, "name": server.name, "ip": server.access_ip_v4}})
pulumi.export("names", [router.name, group.name, port.name, subnet.name])
'''


class Program:
    """A Pulumi project in a temporary directory, with its own file backend and passphrase."""

    def __init__(self, root: Path, name: str, code: str, os_env: dict[str, str]) -> None:
        self.dir = root / name
        self.dir.mkdir()
        (self.dir / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
        (self.dir / "__main__.py").write_text(code)
        state = root / f"{name}-state"
        state.mkdir()
        self.tc = toolchain.ensure()
        self.os_env = os_env
        self.base = {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "t"}
        self.seconds: dict[str, float] = {}

    def env(self, *, os_cloud: bool = True) -> dict[str, str]:
        env = self.tc.env({**self.base, **self.os_env})
        if not os_cloud:
            env.pop("OS_CLOUD", None)
        return env

    def run(self, *args: str, os_cloud: bool = True, check: bool = True) -> str:
        started = time.monotonic()
        proc = subprocess.run(
            [str(self.tc.pulumi), *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env(os_cloud=os_cloud),
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.seconds[args[0]] = round(time.monotonic() - started, 1)
        if check:
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        return proc.stdout

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.run("stack", "output", "--json", "--show-secrets"))


@pytest.fixture(scope="module")
def lab_env() -> Iterator[dict[str, str]]:
    """The environment `onecloud lab env` prints (OS_CLIENT_CONFIG_FILE and OS_CLOUD); this
    process reads the lab's clouds.yaml through it too."""
    from onecloud.labcloud import openstack_env

    lab_cloud_up()
    env = openstack_env()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OS_CLIENT_CONFIG_FILE", env["OS_CLIENT_CONFIG_FILE"])
        yield env


@pytest.fixture
def conn(lab_env: dict[str, str]) -> Any:
    from openstack import config as os_config
    from openstack import connection

    from onecloud.labcloud import CLOUD_NAME

    region = os_config.OpenStackConfig(config_files=[lab_env["OS_CLIENT_CONFIG_FILE"]])
    return connection.Connection(config=region.get_one(cloud=CLOUD_NAME))


@pytest.fixture
def image_arg(conn: Any) -> str:
    """`image_name='onecloud-base'`, as a user writes it; the lab's own image by id while
    another stack has uploaded a second image of that name (Nova then refuses the name)."""
    found = sorted(
        (i for i in conn.image.images(name=IMAGE) if i.status == "active"),
        key=lambda i: i.created_at,
    )
    assert found, f"no active image {IMAGE!r}: run `onecloud lab up`"
    return f"image_name='{IMAGE}'" if len(found) == 1 else f"image_id='{found[0].id}'"


@pytest.fixture
def program_factory(tmp_path: Path, lab_env: dict[str, str], image_arg: str) -> Iterator[Any]:
    """Programs made here are destroyed at the end, whatever happened in between."""
    made: list[Program] = []

    def make(name: str, code: str) -> Program:
        prog = Program(tmp_path, name, code.replace(IMAGE_ARG, image_arg), lab_env)
        prog.run("stack", "init", "dev")
        made.append(prog)
        return prog

    yield make
    failures = []
    for prog in made:
        out = subprocess.run(
            [str(prog.tc.pulumi), "destroy", "--yes", "--non-interactive", "--skip-preview"],
            cwd=prog.dir,
            env=prog.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode != 0:
            failures.append(out.stdout[-2000:] + out.stderr[-2000:])
    assert not failures, failures


def _autonamed(name: str, logical: str) -> bool:
    return re.fullmatch(rf"{re.escape(logical)}-[0-9a-f]{{7}}", name) is not None


def test_pulumi_template_up_preview_destroy(program_factory: Any, conn: Any) -> None:
    prog = program_factory("tmpl", TEMPLATE)
    prog.run("up", "--yes")
    state = json.loads(prog.run("stack", "export"))["deployment"]["resources"]
    (instance,) = [r for r in state if r["type"] == "openstack:compute/instance:Instance"]
    name = instance["outputs"]["name"]
    assert _autonamed(name, "test"), name
    assert conn.compute.get_server(instance["id"]).name == name
    # the template's provider is the default one, configured by OS_CLOUD alone
    prog.run("preview", "--expect-no-changes")
    prog.run("destroy", "--yes")
    assert conn.compute.find_server(instance["id"]) is None
    print(f"\ntemplate: up/preview/destroy seconds {prog.seconds}")


def test_landing_zone_through_a_scoped_provider(program_factory: Any, conn: Any) -> None:
    from onecloud.iac._credentials import from_clouds_yaml
    from onecloud.labcloud import CLOUD_NAME, default_settings

    creds = from_clouds_yaml(CLOUD_NAME)
    prog = program_factory("zone", LANDING_ZONE)
    prog.run("config", "set", "authUrl", creds.auth_url)
    prog.run("config", "set", "userName", creds.username)
    prog.run("config", "set", "region", default_settings().region)
    prog.run("config", "set", "--secret", "password", creds.password)
    # the default provider (lookups, the project) from the stack config, as the project's stacks
    prog.run("config", "set", "openstack:cloud", CLOUD_NAME)
    # with OS_CLOUD exported, as `onecloud lab env` leaves a shell
    prog.run("up", "--yes")
    out = prog.outputs()
    project = out["project"]
    assert _autonamed(project["name"], "fidelity"), project
    assert _autonamed(out["network"]["name"], "net"), out
    assert _autonamed(out["server"]["name"], "server"), out
    assert [n.rsplit("-", 1)[0] for n in out["names"]] == ["router", "ssh", "port", "subnet"]
    # the scoped provider worked in the new project, not in the clouds.yaml entry's
    assert conn.network.get_network(out["network"]["id"]).project_id == project["id"]
    server = conn.compute.get_server(out["server"]["id"])
    assert server.project_id == project["id"]
    assert out["server"]["ip"].startswith("10.213.7.")
    # the password is a secret in the state
    state = prog.run("stack", "export")
    assert creds.password not in state
    # the same program, in a shell with and without OS_CLOUD: nothing to change
    for os_cloud in (True, False):
        prog.run("preview", "--expect-no-changes", os_cloud=os_cloud)
    prog.run("destroy", "--yes")
    assert conn.identity.find_project(project["id"]) is None
    assert conn.network.find_network(out["network"]["id"]) is None
    print(f"\nlanding zone: up/preview/destroy seconds {prog.seconds}")


# ---- the schema served to `pulumi package get-schema` against the pinned SDK ----


def _sdk_props(cls: type) -> set[str]:
    from pulumi import _types

    names = set()
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            if isinstance(value, property) and value.fget is not None:
                name = getattr(value.fget, _types._PULUMI_NAME, None)
                if name:
                    names.add(name)
    return names


def _camel(snake: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), snake)


def _sdk() -> dict[str, Any]:
    """Resources (inputs, outputs, secrets, required inputs), functions (arguments, results)
    and configuration defaults, read from the installed pulumi_openstack package."""
    import pulumi_openstack

    root = Path(pulumi_openstack.__file__).parent
    init = (root / "__init__.py").read_text()
    resources: dict[str, Any] = {}
    blobs = re.findall(r'_utilities\.register\(\s*resource_modules="""(.*?)"""', init, re.S)
    for blob in blobs:
        for mod in json.loads(blob):
            module = importlib.import_module(mod["fqn"])
            for tok, cname in mod["classes"].items():
                cls = getattr(module, cname)
                args = getattr(module, cname + "Args")
                source = Path(inspect.getfile(cls)).read_text()
                secrets = set()
                for found in re.findall(r"additional_secret_outputs=\[([^\]]*)\]", source):
                    secrets |= set(re.findall(r'"(\w+)"', found))
                required = {
                    _camel(p)
                    for p, v in inspect.signature(args.__init__).parameters.items()
                    if v.kind is inspect.Parameter.KEYWORD_ONLY and v.default is inspect._empty
                }
                resources[tok] = {
                    "inputs": _sdk_props(args),
                    "outputs": _sdk_props(cls),
                    "secrets": secrets,
                    "required": required,
                }
    functions: dict[str, Any] = {}
    for path in root.rglob("*.py"):
        source = path.read_text()
        for tok in set(re.findall(r"invoke\('(openstack:[\w/]+:\w+)'", source)):
            modname = ".".join(["pulumi_openstack", *path.relative_to(root).with_suffix("").parts])
            module = importlib.import_module(modname)
            results = [
                c
                for n, c in vars(module).items()
                if inspect.isclass(c)
                and n.endswith("Result")
                and not n.startswith("Awaitable")
                and c.__module__ == modname
            ]
            functions[tok] = {
                "inputs": set(re.findall(r"__args__\['(\w+)'\]", source)),
                "outputs": _sdk_props(results[0]) if results else set(),
            }
    config_src = (root / "config" / "vars.py").read_text()
    config = set(re.findall(r"__config__\.get(?:_bool|_int|_object)?\('(\w+)'\)", config_src))
    env = dict(
        re.findall(
            r"__config__\.get(?:_bool|_int)?\('(\w+)'\) or _utilities\.get_env(?:_bool|_int)?"
            r"\('(\w+)'",
            config_src,
        )
    )
    return {"resources": resources, "functions": functions, "config": config, "env": env}


def test_served_schema_matches_the_sdk(lab_env: dict[str, str]) -> None:
    tc = toolchain.ensure()
    proc = subprocess.run(
        [str(tc.pulumi), "package", "get-schema", "openstack"],
        env=tc.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    schema = json.loads(proc.stdout)
    sdk = _sdk()
    served_res, served_fn = schema["resources"], schema["functions"]
    missing_res = sorted(set(sdk["resources"]) - set(served_res))
    missing_fn = sorted(set(sdk["functions"]) - set(served_fn))
    print(
        f"\nschema: {len(served_res)} resources (SDK {len(sdk['resources'])}), "
        f"{len(served_fn)} functions (SDK {len(sdk['functions'])}), {len(proc.stdout)} bytes"
    )
    assert not missing_res and not missing_fn, (missing_res, missing_fn)
    assert schema["version"] == toolchain.OPENSTACK_PROVIDER_VERSION

    differ = []
    for tok, want in sdk["resources"].items():
        res = served_res[tok]
        got = {
            "inputs": set(res.get("inputProperties", {})),
            "outputs": set(res.get("properties", {})),
            "secrets": {k for k, v in res.get("properties", {}).items() if v.get("secret")},
            "required": set(res.get("requiredInputs", [])),
        }
        differ += [(tok, key, got[key] ^ want[key]) for key in got if got[key] != want[key]]
    for tok, want in sdk["functions"].items():
        fn = served_fn[tok]
        got = {
            "inputs": set(fn.get("inputs", {}).get("properties", {})),
            "outputs": set(fn.get("outputs", {}).get("properties", {})),
        }
        differ += [(tok, key, got[key] ^ want[key]) for key in got if got[key] != want[key]]
    assert not differ, differ

    variables = schema["config"]["variables"]
    assert set(variables) == sdk["config"]
    served_env = {
        k: v["defaultInfo"]["environment"] for k, v in variables.items() if "defaultInfo" in v
    }
    assert served_env == {k: [v] for k, v in sdk["env"].items()}
    # autonaming makes `name` optional where the SDK has it optional
    instance = served_res["openstack:compute/instance:Instance"]
    assert "name" not in instance.get("requiredInputs", [])
    assert served_res["openstack:compute/keypair:Keypair"].get("requiredInputs", []) == []

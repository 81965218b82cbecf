"""Credentials for project-scoped providers, read from the clouds.yaml entry of the stack.

Nova and Cinder create servers and volumes in the project of the token, so workloads of a
department are declared through a provider scoped to that department's project. The
terraform-based provider ignores the project when `cloud` is set, so the scoped providers get
the entry's explicit auth fields plus the project's name (known before the project exists, so a
first preview already shows every property; the provider authenticates lazily). The password
travels as a Pulumi secret (encrypted in the state by the stack's secrets provider).

`cloud` is set to "" on purpose: left unset, the SDK fills it from `OS_CLOUD` (which
`onecloud lab env` exports for the openstack CLI), so the provider's inputs would depend on the
shell (a perpetual `[diff: +cloud]` between `onecloud stack` and plain `pulumi`) and, worse, the
provider would authenticate with that clouds.yaml entry, in its project, not the department's.
The project's provider build (toolchain/provider/main.go) treats an explicit empty `cloud` as
"no clouds.yaml entry" even when OS_CLOUD is exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from onecloud.errors import ConfigError, OnecloudError

__all__ = ["NO_CLOUD", "ScopeCredentials", "check_reachable", "from_clouds_yaml"]

#: the `cloud` of a scoped provider: explicitly none, whatever OS_CLOUD says (module docstring)
NO_CLOUD = ""


@dataclass(frozen=True)
class ScopeCredentials:
    auth_url: str
    username: str
    password: str
    user_domain_name: str | None = None
    user_domain_id: str | None = None
    project_domain_name: str | None = None
    project_domain_id: str | None = None
    cacert_file: str | None = None
    insecure: bool | None = None

    def scoped_provider(
        self, name: str, *, project_name: str, region: str, opts: pulumi.ResourceOptions
    ) -> openstack.Provider:
        """A provider whose token is scoped to `project_name` (authenticates on first use)."""
        no_user_domain = not (self.user_domain_name or self.user_domain_id)
        return openstack.Provider(
            name,
            cloud=NO_CLOUD,
            auth_url=self.auth_url,
            user_name=self.username,
            password=pulumi.Output.secret(self.password),
            user_domain_name="Default" if no_user_domain else self.user_domain_name,
            user_domain_id=self.user_domain_id,
            project_domain_id=self.project_domain_id,
            project_domain_name=None
            if self.project_domain_id
            else (self.project_domain_name or "Default"),
            tenant_name=project_name,
            region=region,
            cacert_file=self.cacert_file,
            insecure=self.insecure,
            opts=opts,
        )


def from_clouds_yaml(cloud: str) -> ScopeCredentials:
    """Read `cloud` from clouds.yaml (OS_CLIENT_CONFIG_FILE or the usual places)."""
    from openstack import config as os_config
    from openstack import exceptions as os_exc

    try:
        region = os_config.OpenStackConfig().get_one(cloud=cloud)
    except (os_exc.ConfigException, KeyError) as exc:
        raise ConfigError(
            f"openstack:cloud: no usable entry {cloud!r} in clouds.yaml ({exc})",
            hint="point OS_CLIENT_CONFIG_FILE at the clouds.yaml that has it "
            "(the lab writes /var/lib/onecloud-lab/clouds.yaml with entry onecloud-lab)",
        ) from None
    auth = region.config.get("auth", {})
    missing = [k for k in ("auth_url", "username", "password") if not auth.get(k)]
    if missing:
        raise ConfigError(
            f"clouds.yaml entry {cloud!r} lacks {', '.join(missing)}",
            hint="scoped providers need password auth: add auth_url, username and password",
        )
    verify = region.config.get("verify")
    cacert = region.config.get("cacert")
    return ScopeCredentials(
        auth_url=auth["auth_url"],
        username=auth["username"],
        password=auth["password"],
        user_domain_name=auth.get("user_domain_name"),
        user_domain_id=auth.get("user_domain_id"),
        project_domain_name=auth.get("project_domain_name"),
        project_domain_id=auth.get("project_domain_id"),
        cacert_file=cacert if isinstance(cacert, str) else None,
        insecure=(not verify) if isinstance(verify, bool) else None,
    )


def check_reachable(auth_url: str, cloud: str, timeout: float = 5.0) -> None:
    """Fail early, in one sentence, when the cloud's identity endpoint does not answer.

    Otherwise the first lookup the program makes fails deep inside the engine with a traceback.
    """
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(auth_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        raise OnecloudError(
            f"the cloud {cloud!r} does not answer at {auth_url} ({exc.strerror or exc})",
            hint="start the lab (onecloud lab up) or point OS_CLIENT_CONFIG_FILE / "
            "openstack:cloud at a reachable cloud",
        ) from None

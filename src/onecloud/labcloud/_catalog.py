"""Register what the lab cloud offers, through openstacksdk from our own venv.

Keystone's bootstrap made the admin and the identity endpoints in the first region; this adds
the second region, the service project, role and users, every service's endpoints in both
regions, the external network `public` and a tiny image. Every step is find-or-create, so it
can run on every first boot attempt.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from onecloud.labcloud._daemons import CATALOG, catalog_port
from onecloud.labcloud._settings import SERVICE_USERS, Settings

log = logging.getLogger(__name__)

#: the test image: a few KB, raw/bare; the fake virt driver never reads it
IMAGE_NAME = "onecloud-base"
IMAGE_SIZE = 16 * 1024


def connect(settings: Settings, admin_password: str, region: str | None = None) -> Any:
    """An admin connection straight from settings (clouds.yaml may not exist yet)."""
    import openstack

    return openstack.connect(
        auth_url=settings.auth_url,
        username="admin",
        password=admin_password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=region or settings.region,
        identity_api_version="3",
        interface="public",
        load_yaml_config=False,
        load_envvars=False,
    )


def image_bytes() -> bytes:
    """Deterministic content, so the checksum is the same on every machine."""
    head = b"onecloud lab image: the lab's servers are fakes and never read this disk\n"
    return head + b"\0" * (IMAGE_SIZE - len(head))


def _ensure_identity(conn: Any, settings: Settings, service_password: str) -> None:
    idn = conn.identity
    for region in (settings.region, settings.region_dr):
        if idn.find_region(region) is None:
            idn.create_region(id=region, description=f"onecloud lab {region}")
    project = idn.find_project("service", domain_id="default") or idn.create_project(
        name="service", domain_id="default", description="OpenStack service users"
    )
    admin_role = idn.find_role("admin")
    service_role = idn.find_role("service") or idn.create_role(name="service")
    for name in SERVICE_USERS:
        user = idn.find_user(name, domain_id="default")
        if user is None:
            user = idn.create_user(name=name, password=service_password, domain_id="default")
        else:
            idn.update_user(user, password=service_password)
        for role in (admin_role, service_role):
            if not idn.validate_user_has_project_role(project, user, role):
                idn.assign_project_role_to_user(project, user, role)

    wanted: list[tuple[str, str, str]] = [("identity", "keystone", settings.auth_url)]
    for stype, sname, path in CATALOG:
        wanted.append((stype, sname, settings.url(catalog_port(settings, stype), path)))
    existing_services = {s.type: s for s in idn.services()}
    existing_endpoints = {(e.service_id, e.region_id, e.interface) for e in idn.endpoints()}
    for stype, sname, url in wanted:
        service = existing_services.get(stype) or idn.create_service(
            name=sname, type=stype, is_enabled=True
        )
        for region in (settings.region, settings.region_dr):
            for interface in ("public", "internal", "admin"):
                if (service.id, region, interface) not in existing_endpoints:
                    idn.create_endpoint(
                        service_id=service.id, region_id=region, interface=interface, url=url
                    )


def _ensure_network(conn: Any, settings: Settings) -> None:
    n = settings.network
    net = conn.network.find_network(n.name)
    if net is None:
        net = conn.network.create_network(
            name=n.name,
            is_router_external=True,
            is_shared=False,
            provider_network_type="flat",
            provider_physical_network=n.physnet,
        )
    if conn.network.find_subnet(f"{n.name}-subnet", network_id=net.id) is None:
        conn.network.create_subnet(
            name=f"{n.name}-subnet",
            network_id=net.id,
            ip_version=4,
            cidr=n.cidr,
            gateway_ip=n.gateway,
            is_dhcp_enabled=False,
            allocation_pools=[{"start": n.pool_start, "end": n.pool_end}],
        )


def _ensure_image(conn: Any) -> None:
    image = conn.image.find_image(IMAGE_NAME)
    if image is not None and image.status == "active":
        return
    if image is not None:  # an upload that did not finish
        conn.image.delete_image(image)
    conn.image.create_image(
        name=IMAGE_NAME,
        data=image_bytes(),
        disk_format="raw",
        container_format="bare",
        visibility="public",
        min_disk=0,
        min_ram=0,
    )


def register_identity(settings: Settings, secrets: dict[str, str]) -> None:
    """Regions, service users and endpoints: needs only Keystone."""
    conn = connect(settings, secrets["admin"])
    try:
        _ensure_identity(conn, settings, secrets["service"])
    finally:
        conn.close()


def register_resources(settings: Settings, secrets: dict[str, str]) -> None:
    """The external network and the image: needs Neutron and Glance."""
    conn = connect(settings, secrets["admin"])
    try:
        _ensure_network(conn, settings)
        _ensure_image(conn)
    finally:
        conn.close()


def uncarried_networks(settings: Settings, admin_password: str) -> list[str]:
    """Networks of a type this lab no longer carries (`vlan`, from labs before the data
    plane): their router ports fail in the linuxbridge agent's one batch and stall every other
    port (docs/lab.md), so they must be recreated."""
    conn = connect(settings, admin_password)
    try:
        return sorted(
            f"{n.name} ({n.id})"
            for n in conn.network.networks()
            if n.provider_network_type not in ("flat", "local")
        )
    finally:
        conn.close()


def _fresh(state_ok: bool, stamp: str | None, since: datetime | None) -> bool:
    """Up, and (if `since` is given) with a heartbeat at or after `since` (UTC)."""
    if not state_ok:
        return False
    if since is None:
        return True
    if not stamp:
        return False
    when = datetime.fromisoformat(stamp.replace("Z", "")).replace(tzinfo=None)
    return when >= since.replace(tzinfo=None, microsecond=0)


def heartbeats(
    settings: Settings, admin_password: str, since: datetime | None = None
) -> dict[str, bool]:
    """Which workers report in: nova-compute, cinder-volume, the Neutron agents.

    With `since` (naive UTC), a heartbeat counts only if it is that recent: a service record
    stays "up" for a minute after its process died, so a restart must see a new beat.
    """
    conn = connect(settings, admin_password)
    try:
        found = {
            "nova-compute": any(
                s.binary == "nova-compute" and _fresh(s.state == "up", s.updated_at, since)
                for s in conn.compute.services()
            ),
            # a fresh cinder-volume is ready once the scheduler has its pool: after a restart
            # the scheduler knows no backend until the volume service reports its capabilities,
            # and every volume created before that goes to `error` ("No valid backend")
            "cinder-volume": any(
                s.binary == "cinder-volume" and _fresh(s.state == "up", s.updated_at, since)
                for s in conn.block_storage.services()
            )
            and any(True for _ in conn.block_storage.backend_pools()),
        }
        agents = list(conn.network.agents())
        for kind in ("Linux bridge agent", "L3 agent"):
            found[kind] = any(
                a.agent_type == kind and _fresh(bool(a.is_alive), a.last_heartbeat_at, since)
                for a in agents
            )
    finally:
        conn.close()
    return found

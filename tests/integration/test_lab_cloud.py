"""The lab cloud, for real: bring it up, then drive it through openstacksdk like the stacks do.

Needs root (the lab starts system daemons); fails, never skips, when the lab cannot come up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clouds_yaml() -> Path:
    from onecloud.labcloud import ensure_up

    return ensure_up()


def _connect(clouds_yaml: Path, cloud: str, **auth: str) -> Any:
    import openstack
    from openstack.config import loader

    config = loader.OpenStackConfig(config_files=[str(clouds_yaml)], load_envvars=False)
    region = config.get_one(cloud=cloud)
    if auth:
        region.config["auth"] = {**region.config["auth"], **auth}
    return openstack.connection.Connection(config=region)


@pytest.fixture(scope="module")
def admin(clouds_yaml: Path) -> Iterator[Any]:
    from onecloud.labcloud import CLOUD_NAME

    conn = _connect(clouds_yaml, CLOUD_NAME)
    yield conn
    conn.close()


def test_status_reports_every_service_answering(clouds_yaml: Path) -> None:
    from onecloud.labcloud import status

    rows = status()
    assert {r.name for r in rows} >= {"keystone", "nova-api", "nova-compute", "cinder-volume"}
    assert [r.name for r in rows if not (r.running and r.answering)] == []


def test_second_region_is_in_the_catalog(admin: Any, clouds_yaml: Path) -> None:
    from onecloud.labcloud import CLOUD_NAME_DR, REGION, REGION_DR

    regions = {r.id for r in admin.identity.regions()}
    assert {REGION, REGION_DR} <= regions
    compute = next(s for s in admin.identity.services() if s.type == "compute")
    in_regions = {e.region_id for e in admin.identity.endpoints(service_id=compute.id)}
    assert {REGION, REGION_DR} <= in_regions
    dr = _connect(clouds_yaml, CLOUD_NAME_DR)
    try:
        assert dr.config.get_region_name() == REGION_DR
        assert dr.network.find_network("public") is not None
    finally:
        dr.close()


def test_external_network_and_image_exist(admin: Any) -> None:
    from onecloud.labcloud._catalog import IMAGE_NAME

    public = admin.network.find_network("public")
    assert public is not None and public.is_router_external
    subnet = admin.network.find_subnet("public-subnet", network_id=public.id)
    assert subnet.cidr.startswith("198.18.")
    image = admin.image.find_image(IMAGE_NAME)
    assert image is not None and image.status == "active"


def test_project_network_router_server_volume(admin: Any, clouds_yaml: Path) -> None:
    """A department's first day: its project, its user, and what the user builds in it."""
    from onecloud.labcloud import CLOUD_NAME
    from onecloud.labcloud._catalog import IMAGE_NAME

    tag = "it-" + secrets.token_hex(3)
    password = secrets.token_urlsafe(12)
    idn = admin.identity
    cleanup: list[Any] = []
    try:
        project = idn.create_project(name=tag, domain_id="default", description="integration test")
        cleanup.append(lambda: idn.delete_project(project))
        user = idn.create_user(name=tag, password=password, domain_id="default")
        cleanup.append(lambda: idn.delete_user(user))
        idn.assign_project_role_to_user(project, user, idn.find_role("member"))
        flavor = admin.compute.create_flavor(name=tag, ram=64, vcpus=1, disk=1)
        cleanup.append(lambda: admin.compute.delete_flavor(flavor))

        conn = _connect(clouds_yaml, CLOUD_NAME, username=tag, password=password, project_name=tag)
        cleanup.append(conn.close)
        net = conn.network.create_network(name=f"{tag}-net")
        cleanup.append(lambda: conn.network.delete_network(net))
        subnet = conn.network.create_subnet(
            name=f"{tag}-subnet", network_id=net.id, ip_version=4, cidr="10.77.0.0/24"
        )
        cleanup.append(lambda: conn.network.delete_subnet(subnet))
        public = conn.network.find_network("public")
        router = conn.network.create_router(
            name=f"{tag}-router", external_gateway_info={"network_id": public.id}
        )
        cleanup.append(lambda: conn.network.delete_router(router))
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
        cleanup.append(
            lambda: conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
        )
        assert conn.network.get_router(router.id).external_gateway_info["network_id"] == public.id

        image = conn.image.find_image(IMAGE_NAME)
        server = conn.compute.create_server(
            name=f"{tag}-vm", image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": net.id}]
        )
        cleanup.append(lambda: conn.compute.wait_for_delete(server, wait=120))
        cleanup.append(lambda: conn.compute.delete_server(server))
        server = conn.compute.wait_for_server(server, status="ACTIVE", wait=240)
        assert server.status == "ACTIVE"
        # the port is bound by the linuxbridge mechanism driver (only admin sees the binding)
        (port,) = admin.network.ports(device_id=server.id)
        assert port.binding_vif_type == "bridge"
        assert port.fixed_ips[0]["ip_address"].startswith("10.77.0.")

        volume = conn.block_storage.create_volume(name=f"{tag}-vol", size=1)
        cleanup.append(lambda: conn.block_storage.wait_for_delete(volume, wait=120))
        cleanup.append(lambda: conn.block_storage.delete_volume(volume))
        volume = conn.block_storage.wait_for_status(volume, status="available", wait=120)
        assert volume.status == "available" and volume.size == 1
        assert volume.id in {v.id for v in conn.block_storage.volumes()}
    finally:
        errors = []
        for undo in reversed(cleanup):
            try:
                undo()
            except Exception as exc:  # keep cleaning; report all at the end
                errors.append(repr(exc))
        assert errors == [], f"cleanup failed: {errors}"
    assert idn.find_project(tag, domain_id="default") is None

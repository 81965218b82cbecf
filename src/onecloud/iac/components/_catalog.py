"""The shared catalog of a region: standard flavors, the base image, volume types.

These are region-wide names (Nova refuses two flavors with one name), so exactly one stack per
region declares them (`province-network` in the split layout, `lab` in the lab); the others
refer to them by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_openstack as openstack

from onecloud.iac._tags import SHARED_DEPARTMENT, SHARED_SYSTEM, labels, to_tags

__all__ = ["STANDARD_FLAVORS", "Catalog", "CatalogArgs", "FlavorSpec", "VolumeTypeSpec"]


@dataclass(frozen=True)
class FlavorSpec:
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int


@dataclass(frozen=True)
class VolumeTypeSpec:
    name: str
    description: str
    extra_specs: Mapping[str, str] = field(default_factory=dict)


#: used when the plan carries no flavor catalogue of its own
STANDARD_FLAVORS = (
    FlavorSpec("oc.small", 1, 2048, 10),
    FlavorSpec("oc.medium", 2, 4096, 20),
    FlavorSpec("oc.large", 4, 8192, 40),
    FlavorSpec("oc.xlarge", 8, 16384, 80),
)

STANDARD_VOLUME_TYPES = (VolumeTypeSpec("oc-standard", "data volumes of migrated systems"),)
#: replication-ready: a backend that replicates (e.g. Ceph RBD mirroring) matches this spec
REPLICATED_VOLUME_TYPES = (
    VolumeTypeSpec(
        "oc-replicated",
        "data volumes replicated to the DR centre",
        {"replication_enabled": "<is> True"},
    ),
)


def declare_volume_types(
    name: str, specs: Sequence[VolumeTypeSpec], opts: pulumi.ResourceOptions
) -> dict[str, openstack.blockstorage.VolumeTypeV3]:
    """Public Cinder volume types, named `<component>-<type>` (the catalog and the DR centre)."""
    return {
        v.name: openstack.blockstorage.VolumeTypeV3(
            f"{name}-{v.name}",
            name=v.name,
            description=v.description,
            is_public=True,
            extra_specs=dict(v.extra_specs),
            opts=opts,
        )
        for v in specs
    }


@dataclass(frozen=True)
class CatalogArgs:
    flavors: Sequence[FlavorSpec]
    image_name: str
    #: the image file to upload; None: look the image up by name (uploaded elsewhere)
    image_file: str | None
    image_disk_format: str = "raw"
    volume_types: Sequence[VolumeTypeSpec] = STANDARD_VOLUME_TYPES


class Catalog(pulumi.ComponentResource):
    """Flavors, the base image and volume types of one region."""

    def __init__(self, name: str, args: CatalogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("onecloud:iac:Catalog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.flavors = {
            f.name: openstack.compute.Flavor(
                f"{name}-{f.name}",
                name=f.name,
                vcpus=f.vcpus,
                ram=f.ram_mb,
                disk=f.disk_gb,
                is_public=True,
                opts=child,
            )
            for f in args.flavors
        }
        self.volume_types = declare_volume_types(name, args.volume_types, child)
        if args.image_file is not None:
            image = openstack.images.Image(
                f"{name}-image",
                name=args.image_name,
                container_format="bare",
                disk_format=args.image_disk_format,
                local_file_path=args.image_file,
                visibility="public",
                tags=to_tags(labels(SHARED_DEPARTMENT, SHARED_SYSTEM)),
                opts=child,
            )
            self.image_id: pulumi.Output[str] = image.id
        else:
            self.image_id = openstack.images.get_image_output(
                name=args.image_name, most_recent=True, opts=pulumi.InvokeOptions(parent=self)
            ).id
        self.register_outputs(
            {
                "image_id": self.image_id,
                "flavors": sorted(self.flavors),
                "volume_types": sorted(self.volume_types),
            }
        )

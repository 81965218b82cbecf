"""The landing-zone components. Each takes typed Args, never reads config, parents its children.

- `NetworkSegments`: the two e-government networks, subnet pools, segments, routers, egress
- `Catalog`: standard flavors, the shared base image, volume types
- `Tenancy`: Keystone hierarchy, department projects, groups, roles, quotas
- `Workloads`: per migrated system: ports, servers, data volumes, security groups
- `DisasterRecovery`: the DR centre's mirrored projects, networks and standby capacity
"""

from onecloud.iac.components._catalog import STANDARD_FLAVORS, Catalog, CatalogArgs, FlavorSpec
from onecloud.iac.components._dr import DisasterRecovery, DisasterRecoveryArgs
from onecloud.iac.components._network import NetworkSegments, NetworkSegmentsArgs, SegmentRef
from onecloud.iac.components._tenancy import Tenancy, TenancyArgs
from onecloud.iac.components._workloads import Workloads, WorkloadsArgs, system_labels

__all__ = [
    "STANDARD_FLAVORS",
    "Catalog",
    "CatalogArgs",
    "DisasterRecovery",
    "DisasterRecoveryArgs",
    "FlavorSpec",
    "NetworkSegments",
    "NetworkSegmentsArgs",
    "SegmentRef",
    "Tenancy",
    "TenancyArgs",
    "Workloads",
    "WorkloadsArgs",
    "system_labels",
]

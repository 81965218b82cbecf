"""The landing-zone components. Each takes typed Args, never reads config, parents its children.

- `network.NetworkSegments`: the two e-government networks, subnet pools, segments, routers, egress
- `catalog.Catalog`: standard flavors, the shared base image, volume types
- `tenancy.Tenancy`: Keystone hierarchy, department projects, groups, roles, quotas
- `workloads.Workloads`: per migrated system: ports, servers, data volumes, security groups
- `dr.DisasterRecovery`: the DR centre's mirrored projects, networks and standby capacity
"""

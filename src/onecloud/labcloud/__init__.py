"""The lab cloud: a real OpenStack (Debian's packages) on 127.0.0.1, run by PID.

`up()` installs what is missing and starts the services in stages (idempotent), `down()` stops
what the lab started, `status()` says what answers; `clouds_yaml_path()` and `openstack_env()`
point openstacksdk, the openstack CLI and Pulumi at it.
"""

from onecloud.labcloud._clouds import clouds_yaml_path, openstack_env
from onecloud.labcloud._dataplane import (
    INTERNET_HOST,
    Controller,
    ServerPort,
    attach_controller,
    detach_controller,
    internet_port,
    port_statuses,
    release_controller,
    server_ports,
)
from onecloud.labcloud._lifecycle import (
    default_settings,
    down,
    ensure_up,
    is_up,
    memory_pss_kib,
    status,
    up,
)
from onecloud.labcloud._settings import CLOUD_NAME, CLOUD_NAME_DR, REGION, REGION_DR

__all__ = [
    "CLOUD_NAME",
    "CLOUD_NAME_DR",
    "INTERNET_HOST",
    "REGION",
    "REGION_DR",
    "Controller",
    "ServerPort",
    "attach_controller",
    "clouds_yaml_path",
    "default_settings",
    "detach_controller",
    "down",
    "ensure_up",
    "internet_port",
    "is_up",
    "memory_pss_kib",
    "openstack_env",
    "port_statuses",
    "release_controller",
    "server_ports",
    "status",
    "up",
]

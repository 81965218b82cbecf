"""The lab cloud's files render completely, consistently and parse as what they claim to be."""

from __future__ import annotations

import configparser
import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from onecloud.labcloud._clouds import render_clouds_yaml
from onecloud.labcloud._render import render_all, render_configs, render_launcher
from onecloud.labcloud._settings import CLOUD_NAME, CLOUD_NAME_DR, Layout, Settings

SECRETS = {"db": "db-secret", "admin": "admin-secret", "service": "svc-secret"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(Layout(tmp_path / "lab"))


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, allow_no_value=True)
    parser.read_string(text)
    return parser


def test_every_config_parses_and_has_no_unrendered_markup(settings: Settings) -> None:
    configs = render_configs(settings, SECRETS)
    assert len(configs) == 11
    for path, text in configs.items():
        assert path.is_relative_to(settings.layout.etc)
        assert "{{" not in text and "{%" not in text, path
        _ini(text)  # raises on duplicate sections or keys


def test_nova_compute_config_has_no_database_sections(settings: Settings) -> None:
    configs = render_configs(settings, SECRETS)
    nova = _ini(configs[settings.layout.conf("nova")])
    compute = _ini(configs[settings.layout.conf("nova", "nova-compute.conf")])
    assert nova.has_section("database") and nova.has_section("api_database")
    assert not compute.has_section("database") and not compute.has_section("api_database")
    assert compute["DEFAULT"]["compute_driver"] == "fake.FakeDriver"
    assert "db-secret@127.0.0.1:3306/nova_api" in nova["api_database"]["connection"]


def test_neutron_enforces_local_tenant_networks_and_iptables_security_groups(
    settings: Settings,
) -> None:
    configs = render_configs(settings, SECRETS)
    neutron = _ini(configs[settings.layout.conf("neutron")])
    assert neutron["experimental"]["linuxbridge"] == "true"
    assert neutron["DEFAULT"]["api_workers"] == "0"
    agent = _ini(configs[settings.layout.conf("neutron", "linuxbridge_agent.ini")])
    assert agent["linux_bridge"]["physical_interface_mappings"] == "public:oclpub0"
    assert agent["securitygroup"]["firewall_driver"] == "iptables"
    ml2 = _ini(configs[settings.layout.conf("neutron", "ml2_conf.ini")])
    assert ml2["ml2_type_flat"]["flat_networks"] == "public"
    assert ml2["ml2"]["tenant_network_types"] == "local"
    assert "vlan" not in ml2["ml2"]["type_drivers"]
    assert ml2["securitygroup"]["firewall_driver"] == "iptables"
    l3 = _ini(configs[settings.layout.conf("neutron", "l3_agent.ini")])
    assert l3["DEFAULT"]["interface_driver"] == "linuxbridge"


def test_agents_start_privsep_directly_with_their_own_config_files(settings: Settings) -> None:
    """No `sudo` between an agent and its privsep daemons: they inherit the agent's PATH and
    so run the lab's ebtables."""
    configs = render_configs(settings, SECRETS)
    for ini in ("linuxbridge_agent.ini", "l3_agent.ini"):
        agent = _ini(configs[settings.layout.conf("neutron", ini)])
        for section in ("privsep", "privsep_link", "privsep_namespace", "privsep_conntrack"):
            helper = agent[section]["helper_command"]
            assert helper.startswith("privsep-helper --config-file "), (ini, section)
            assert helper.endswith(str(settings.layout.conf("neutron", ini)))


def test_the_agents_run_the_labs_ebtables_first_on_their_path(settings: Settings) -> None:
    from onecloud.labcloud._daemons import services

    files = render_all(settings, SECRETS)
    wrapper, mode = files[settings.layout.agent_path / "ebtables"]
    assert mode == 0o755 and wrapper.startswith("#!/usr/bin/python3\n")
    agents = [d for d in services(settings) if d.name.startswith("neutron-") and "agent" in d.name]
    assert {d.name for d in agents} == {"neutron-linuxbridge-agent", "neutron-l3-agent"}
    for d in agents:
        assert d.env["PATH"].split(":")[0] == str(settings.layout.agent_path)


def test_every_service_authenticates_with_the_service_password(settings: Settings) -> None:
    configs = render_configs(settings, SECRETS)
    for name in ("placement.conf", "nova.conf", "neutron.conf", "glance-api.conf", "cinder.conf"):
        service = name.split(".")[0].split("-")[0]
        ini = _ini(configs[settings.layout.conf(service, name)])
        auth = ini["keystone_authtoken"]
        assert auth["password"] == "svc-secret"
        assert auth["username"] == service
        assert auth["auth_url"] == "http://127.0.0.1:5000"


def test_all_files_include_launchers_and_the_cinder_backend(settings: Settings) -> None:
    files = render_all(settings, SECRETS)
    launcher, mode = files[settings.layout.bin / "nova-compute"]
    assert mode == 0o755
    assert launcher.startswith("#!/usr/bin/python3\n")
    assert "from nova.cmd.compute import main" in launcher
    driver, _ = files[settings.layout.python / "onecloud_lab_cinder.py"]
    compile(driver, "onecloud_lab_cinder.py", "exec")
    assert "class LabFakeVolumeDriver" in driver
    assert all(
        mode == 0o600 for p, (_, mode) in files.items() if p.is_relative_to(settings.layout.etc)
    )


def test_launcher_is_valid_python() -> None:
    compile(render_launcher("cinder.cmd.volume"), "cinder-volume", "exec")


def test_clouds_yaml_has_both_regions_with_admin_credentials(settings: Settings) -> None:
    text = render_clouds_yaml(settings, 'pa"ss: word')
    data = YAML(typ="safe").load(io.StringIO(text))
    lab, dr = data["clouds"][CLOUD_NAME], data["clouds"][CLOUD_NAME_DR]
    assert lab["region_name"] == "RegionOne"
    assert dr["region_name"] == "RegionDR"
    assert lab["auth"]["password"] == 'pa"ss: word'
    assert lab["auth"]["auth_url"] == "http://127.0.0.1:5000/v3"
    assert lab["auth"] == dr["auth"]
    # the province's stacks deploy to the lab unchanged
    assert data["clouds"]["onecloud-province"] == lab

"""Guards and waits of `lab up`, on real processes and sockets of this test (no OpenStack)."""

from __future__ import annotations

import os
import socket
import stat
from datetime import datetime
from pathlib import Path

import pytest

from onecloud.errors import LabError
from onecloud.labcloud import _lifecycle as lifecycle
from onecloud.labcloud import _procs as procs
from onecloud.labcloud import _system as system
from onecloud.labcloud._catalog import _fresh, image_bytes
from onecloud.labcloud._daemons import INFRA, Daemon
from onecloud.labcloud._secrets import load_or_create
from onecloud.labcloud._settings import Layout, Ports, Settings


def _settings(tmp_path: Path, **ports: int) -> Settings:
    return Settings(Layout(tmp_path / "lab"), ports=Ports(**ports))


def test_up_and_down_refuse_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="must run as root"):
        system.require_root("up")


def test_one_lab_command_at_a_time(tmp_path: Path) -> None:
    lock = tmp_path / "cloud.lock"
    with (
        system.lab_lock(lock),
        pytest.raises(LabError, match=f"pid {os.getpid()}"),
        system.lab_lock(lock),
    ):
        pass
    with system.lab_lock(lock):  # released
        pass


def test_a_service_that_dies_is_named_with_its_log(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    svc = Daemon(
        "broken", INFRA, ("/bin/sh", "-c", "echo 'config error: no such option' >&2; exit 3"),
        marker="/bin/sh", port=1, timeout=10,
    )  # fmt: skip
    started: list[procs.ProcRecord] = []
    rec = lifecycle._start(svc, settings, started)
    with pytest.raises(LabError) as info:
        lifecycle._wait([(svc, rec)], settings)
    message = str(info.value)
    assert "broken exited while starting (exit status 3)" in message
    assert str(settings.layout.logfile("broken")) in message
    assert "config error: no such option" in message
    assert started == [rec]


def test_a_service_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _settings(tmp_path)
    svc = Daemon("mute", INFRA, ("/bin/sh", "-c", "exec sleep 30"), marker="sleep", port=port,
                  timeout=1)  # fmt: skip
    started: list[procs.ProcRecord] = []
    rec = lifecycle._start(svc, settings, started)
    try:
        with pytest.raises(LabError, match=f"did not answer on tcp://127.0.0.1:{port} within 1 s"):
            lifecycle._wait([(svc, rec)], settings)
    finally:
        procs.stop(started, grace=1)


def test_a_missing_executable_is_a_lab_error(tmp_path: Path) -> None:
    svc = Daemon("ghost", INFRA, ("/nonexistent/ghostd",), marker="ghostd")
    with pytest.raises(LabError, match="cannot start ghost: /nonexistent/ghostd"):
        lifecycle._start(svc, _settings(tmp_path), [])


def test_a_taken_port_names_the_port_the_service_and_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        settings = _settings(tmp_path, memcached=port)
        # only the service under test: the machine may run a real lab on the default ports
        only = [s for s in lifecycle.services(settings) if s.name == "memcached"]
        monkeypatch.setattr(lifecycle, "services", lambda _settings: only)
        with pytest.raises(LabError) as info:
            lifecycle._check_ports(settings)
        assert f"port {port}, needed by memcached" in str(info.value)
        assert f"pid {os.getpid()}" in str(info.value)
        lifecycle._check_ports(settings, keep={"memcached"})  # our own running service: fine


def test_secrets_are_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = load_or_create(path)
    assert set(first) == {"db", "admin", "service"} and len(set(first.values())) == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == first


def test_a_heartbeat_counts_only_when_fresh() -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, 600000)
    assert _fresh(True, "2026-01-02T03:04:05.000000", since)
    assert _fresh(True, "2026-01-02 03:04:09", since)
    assert not _fresh(True, "2026-01-02T03:03:59", since)
    assert not _fresh(False, "2026-01-02T03:05:00", since)
    assert not _fresh(True, None, since)
    assert _fresh(True, None, None)


def test_the_image_is_small_and_the_same_everywhere() -> None:
    assert len(image_bytes()) == 16 * 1024
    assert image_bytes() == image_bytes()

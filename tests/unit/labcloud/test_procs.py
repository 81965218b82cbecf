"""Process records, session stop and port owners, on real (tiny) processes of this test."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from onecloud.labcloud import _procs as procs


def _spawn(tmp_path: Path, script: str, name: str = "t") -> procs.ProcRecord:
    return procs.spawn(
        name, ["/bin/sh", "-c", script], env={}, logfile=tmp_path / f"{name}.log", marker="sleep"
    )


def test_spawned_process_is_recorded_and_recognised(tmp_path: Path) -> None:
    rec = _spawn(tmp_path, "echo started; exec sleep 30")
    try:
        assert procs.is_alive(rec)
        assert procs.session_id(rec.pid) == rec.pid  # its own session
        procs.save(rec, tmp_path / "run" / "t.json")
        assert procs.load(tmp_path / "run" / "t.json") == rec
    finally:
        procs.stop([rec], grace=2)
    assert not procs.is_alive(rec)
    assert "==== onecloud lab: starting t" in (tmp_path / "t.log").read_text()


def test_a_reused_pid_is_not_ours(tmp_path: Path) -> None:
    rec = _spawn(tmp_path, "exec sleep 30")
    try:
        other_start = procs.ProcRecord(
            rec.name, rec.pid, rec.start_ticks + 1, rec.marker, rec.logfile
        )
        other_command = procs.ProcRecord(
            rec.name, rec.pid, rec.start_ticks, "mariadbd", rec.logfile
        )
        assert not procs.is_alive(other_start)
        assert not procs.is_alive(other_command)
        # stop() leaves processes that are not provably ours alone
        procs.stop([other_start], grace=0.5)
        assert procs.is_alive(rec)
    finally:
        procs.stop([rec], grace=2)


def test_stop_ends_the_whole_session_and_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    rec = _spawn(tmp_path, "trap '' TERM; sleep 60 & sleep 60 & wait")
    deadline = time.monotonic() + 5
    while len(procs.session_members(rec.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    members = procs.session_members(rec.pid)
    assert len(members) == 3
    t0 = time.monotonic()
    procs.stop([rec], grace=1.0)
    assert procs.session_members(rec.pid) == []
    assert time.monotonic() - t0 < 5


def test_exit_status_of_a_failed_child(tmp_path: Path) -> None:
    rec = _spawn(tmp_path, "exit 3")
    deadline = time.monotonic() + 5
    code = None
    while code is None and time.monotonic() < deadline:
        code = procs.exit_status(rec.pid)
        time.sleep(0.02)
    assert code == 3


def test_listening_port_and_its_owner() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        listening = procs.listening_ports()
        assert port in listening
        assert procs.socket_owner(listening[port]) == os.getpid()


def test_pss_of_this_process_is_positive() -> None:
    assert procs.pss_kib(os.getpid()) > 0
    assert procs.pss_kib(2**22 + 7) == 0

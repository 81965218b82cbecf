"""The parts of `onecloud stack` that need no engine: stack names and run outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from onecloud import paths
from onecloud.errors import UsageError
from onecloud.iac._stackcli import PulumiRun, check_stack, known_stacks


def test_known_stacks_are_the_stack_files() -> None:
    stacks = known_stacks()
    assert {"lab", "province-network", "province-public", "province-admin", "dr-center"} <= set(
        stacks
    )
    assert stacks == sorted(stacks)


def test_unknown_stack_names_the_file_and_the_valid_stacks() -> None:
    with pytest.raises(UsageError) as exc:
        check_stack("labb")
    assert "stacks/Pulumi.labb.yaml" in exc.value.message
    assert "lab" in (exc.value.hint or "") and "dr-center" in (exc.value.hint or "")


def test_run_outcome_is_data() -> None:
    assert PulumiRun(["preview"], 0, 1.0).ok
    assert not PulumiRun(["up"], 255, 1.0).ok


def test_policy_pack_is_an_executable_next_to_its_project_file() -> None:
    analyzer = paths.policy_dir() / "analyzer"
    assert analyzer.is_file() and analyzer.stat().st_mode & 0o111
    assert (paths.policy_dir() / "PulumiPolicy.yaml").is_file()


def test_unreachable_cloud_is_one_sentence() -> None:
    import socket

    from onecloud.errors import OnecloudError
    from onecloud.iac._credentials import check_reachable

    with socket.socket() as s:  # a port nobody listens on: bind, then close
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OnecloudError) as exc:
        check_reachable(f"http://127.0.0.1:{port}/v3", "onecloud-lab", timeout=1)
    assert "does not answer" in exc.value.message and "onecloud lab up" in (exc.value.hint or "")


def test_builtin_image_is_written_once_with_fixed_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onecloud.iac._images import SIZE, builtin_image

    monkeypatch.setenv("ONECLOUD_CACHE_DIR", str(tmp_path))
    first = builtin_image()
    mtime = first.stat().st_mtime_ns
    assert first.read_bytes() == b"\0" * SIZE
    assert builtin_image() == first and first.stat().st_mtime_ns == mtime

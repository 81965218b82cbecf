"""The parts of `onecloud stack` that need no engine: stack names and run outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------------ secrets of stacks

_FAKE_PULUMI = """#!/bin/sh
# stands in for pulumi: records that it ran and with which passphrase, then answers like it
echo "$* | ${PULUMI_CONFIG_PASSPHRASE-<unset>}" >> "$FAKE_PULUMI_LOG"
printf '%s' "$FAKE_PULUMI_STDERR" >&2
printf '%s' "${FAKE_PULUMI_STDOUT-}"
exit "${FAKE_PULUMI_EXIT:-0}"
"""


@pytest.fixture
def fake_tc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A toolchain whose pulumi is a script; no passphrase in the user's environment."""
    from onecloud import toolchain

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(_FAKE_PULUMI)
    pulumi.chmod(0o755)
    tc = toolchain.Toolchain(bin_dir=bin_dir, home=tmp_path / "home", pulumi=pulumi)
    monkeypatch.setattr(toolchain, "ensure", lambda progress=None: tc)
    monkeypatch.setattr(toolchain, "find", lambda: tc)
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(tmp_path / "pulumi.log"))
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'state'}")
    for key in toolchain.PASSPHRASE_VARS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ONECLOUD_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE", raising=False)
    return tc


def _pulumi_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "pulumi.log"
    return log.read_text().splitlines() if log.exists() else []


def _stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **files: str) -> None:
    d = tmp_path / "stacks"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / f"Pulumi.{name}.yaml").write_text(text)
    monkeypatch.setattr(paths, "stacks_dir", lambda: d)


def _lab_clouds_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "lab" / "clouds.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("clouds:\n  onecloud-lab: {}\n  onecloud-lab-dr: {}\n")
    return path


def test_the_toolchain_sets_no_passphrase(tmp_path: Path, fake_tc: Any) -> None:
    assert "PULUMI_CONFIG_PASSPHRASE" not in fake_tc.env()


def test_the_lab_stack_gets_the_lab_passphrase(tmp_path: Path, fake_tc: Any) -> None:
    from onecloud import toolchain
    from onecloud.iac._stackcli import StackCli

    cli = StackCli()
    assert "PULUMI_CONFIG_PASSPHRASE" not in cli.env
    cli.select("lab")
    cli.run(["preview", "--stack", "lab"])
    assert _pulumi_calls(tmp_path) == [
        f"stack select --create --secrets-provider passphrase --non-interactive lab | "
        f"{toolchain.LAB_PASSPHRASE}",
        f"preview --stack lab | {toolchain.LAB_PASSPHRASE}",
    ]


def test_the_users_passphrase_is_kept_for_the_lab_stack(
    tmp_path: Path, fake_tc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onecloud.iac._stackcli import StackCli

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "ours")
    StackCli().run(["preview", "--stack", "lab"])
    assert _pulumi_calls(tmp_path) == ["preview --stack lab | ours"]


def test_another_stack_without_a_passphrase_stops_before_pulumi_runs(
    tmp_path: Path, fake_tc: Any
) -> None:
    from onecloud.errors import ExitStatus
    from onecloud.iac._stackcli import SecretsKeyMissing, StackCli

    cli = StackCli()
    with pytest.raises(SecretsKeyMissing) as exc:
        cli.preview("province-network")
    assert exc.value.exit_code == ExitStatus.TOOLCHAIN == 4
    assert "stack province-network" in exc.value.message
    assert "pulumi was not run" in exc.value.message
    hint = exc.value.hint or ""
    assert "PULUMI_CONFIG_PASSPHRASE=" in hint and "PULUMI_CONFIG_PASSPHRASE_FILE" in hint
    assert _pulumi_calls(tmp_path) == []
    # and a raw run for it never gets the lab's passphrase
    cli.run(["stack", "output", "--stack", "province-network"])
    assert _pulumi_calls(tmp_path) == ["stack output --stack province-network | <unset>"]


def test_the_stack_command_exits_4_and_says_how_to_set_it(
    tmp_path: Path, fake_tc: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from onecloud.cli import main

    assert main(["stack", "up", "-s", "province-network", "--yes"]) == 4
    err = capsys.readouterr().err
    assert "no passphrase is set" in err and "export PULUMI_CONFIG_PASSPHRASE" in err
    assert _pulumi_calls(tmp_path) == []


@pytest.mark.parametrize("key", ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
def test_another_stack_runs_with_the_users_key(
    tmp_path: Path, fake_tc: Any, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    from onecloud.iac._stackcli import StackCli

    monkeypatch.setenv(key, str(tmp_path / "key") if key.endswith("FILE") else "team-secret")
    StackCli().select("province-network")
    (call,) = _pulumi_calls(tmp_path)
    assert call.endswith(
        "province-network | " + ("team-secret" if "FILE" not in key else "<unset>")
    )


def test_an_empty_passphrase_does_not_count(
    tmp_path: Path, fake_tc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onecloud.iac._stackcli import SecretsKeyMissing, StackCli

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    with pytest.raises(SecretsKeyMissing):
        StackCli().select("dr-center")


def test_a_kms_secrets_provider_needs_no_passphrase(
    tmp_path: Path, fake_tc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onecloud.iac._stackcli import StackCli

    provider = "awskms://alias/onecloud?region=cn-south-1"
    _stacks(tmp_path, monkeypatch, prod=f"secretsprovider: {provider}\nconfig: {{}}\n")
    StackCli().select("prod")
    (call,) = _pulumi_calls(tmp_path)
    assert (
        call
        == f"stack select --create --secrets-provider {provider} --non-interactive prod | <unset>"
    )


def test_a_throwaway_stack_on_the_lab_cloud_is_a_lab_stack(
    tmp_path: Path, fake_tc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like test_stacks' guardrails stack: on the lab cloud, through the lab's clouds.yaml."""
    from onecloud.iac._stackcli import is_lab_stack

    clouds = _lab_clouds_yaml(tmp_path)
    other = tmp_path / "theirs.yaml"
    other.write_text(clouds.read_text())
    _stacks(
        tmp_path,
        monkeypatch,
        **{
            "itest-x": "config:\n  openstack:cloud: onecloud-lab\n",
            "prov": "config:\n  openstack:cloud: onecloud-province\n",
        },
    )
    lab_env = {"OS_CLIENT_CONFIG_FILE": str(clouds)}
    assert is_lab_stack("lab", {})
    assert is_lab_stack("itest-x", lab_env)
    assert not is_lab_stack("itest-x", {"OS_CLIENT_CONFIG_FILE": str(other)})
    assert not is_lab_stack("itest-x", {})
    assert not is_lab_stack("prov", lab_env)  # the lab's clouds.yaml, another cloud's name
    assert not is_lab_stack("missing", lab_env)


# ------------------------------------------------------------------------ reading outputs

_NO_STACK = "error: no stack named 'city-x' found\n"
_BAD_PASSPHRASE = (
    "error: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the "
    "correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase\n"
)
_NO_PASSPHRASE = (
    'error: constructing secrets manager of type "passphrase": constructing secrets manager: '
    "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
    "environment variables\n"
)
_S3_DOWN = (
    'error: read ".pulumi/meta.yaml": blob (key ".pulumi/meta.yaml") (code=Unknown): operation '
    "error S3: GetObject, exceeded maximum number of attempts, 3, request send failed, Get "
    '"http://minio:9000/b/.pulumi/meta.yaml?x-id=GetObject": dial tcp 10.0.0.9:9000: connect: '
    "connection refused\n"
)
_SERVICE_DOWN = (
    "Logging in using access token from PULUMI_ACCESS_TOKEN\n"
    'error: performing HTTP request: Get "https://pulumi.internal/api/user": dial tcp: lookup '
    "pulumi.internal: no such host\n"
)


def _run(code: int, stdout: str = "", stderr: str = "") -> PulumiRun:
    return PulumiRun(["stack", "output", "--json"], code, 0.5, stdout, stderr)


def test_a_stack_that_does_not_exist_has_no_outputs() -> None:
    from onecloud.iac._stackcli import read_outputs

    assert read_outputs("city-x", _run(6, stderr=_NO_STACK)) is None


def test_a_stack_with_no_outputs_yet_has_none() -> None:
    from onecloud.iac._stackcli import read_outputs

    assert read_outputs("lab", _run(0, stdout="{}\n")) is None
    assert read_outputs("lab", _run(0, stdout="")) is None
    assert read_outputs("lab", _run(0, stdout='{"systems": {}}')) == {"systems": {}}


@pytest.mark.parametrize(
    ("stderr", "line", "hint"),
    [
        (
            _BAD_PASSPHRASE,
            "error: failed to decrypt: incorrect passphrase",
            "PULUMI_CONFIG_PASSPHRASE",
        ),
        (_NO_PASSPHRASE, 'error: constructing secrets manager of type "passphrase"', "passphrase"),
        (_S3_DOWN, 'error: read ".pulumi/meta.yaml"', "PULUMI_BACKEND_URL"),
        (_SERVICE_DOWN, "error: performing HTTP request", "PULUMI_BACKEND_URL"),
    ],
    ids=["bad-passphrase", "no-passphrase", "s3-down", "service-down"],
)
def test_outputs_that_exist_but_cannot_be_read_are_an_error(
    stderr: str, line: str, hint: str
) -> None:
    from onecloud.errors import ExitStatus
    from onecloud.iac._stackcli import StackOutputsUnreadable, read_outputs

    with pytest.raises(StackOutputsUnreadable) as exc:
        read_outputs("province-admin", _run(1, stderr=stderr))
    assert exc.value.exit_code == ExitStatus.TOOLCHAIN
    assert "outputs of stack province-admin cannot be read (pulumi exit 1)" in exc.value.message
    assert line in exc.value.message
    assert "Logging in" not in exc.value.message  # the error line, not pulumi's chatter
    assert hint in (exc.value.hint or "")


def test_outputs_that_are_not_json_are_an_error() -> None:
    from onecloud.iac._stackcli import StackOutputsUnreadable, read_outputs

    with pytest.raises(StackOutputsUnreadable, match="not JSON"):
        read_outputs("lab", _run(0, stdout="warning: something\n{"))


@pytest.mark.parametrize(
    ("code", "stdout", "stderr", "expected"),
    [
        (6, "", _NO_STACK, None),
        (0, "{}", "", None),
        (0, '{"projects": {}}', "", None),
        (0, '{"systems": {"edu-portal": {"targets": []}}}', "", {"edu-portal": {"targets": []}}),
    ],
    ids=["no-stack", "no-outputs", "no-systems-output", "systems"],
)
def test_systems_output_falls_back_to_the_plan_only_when_there_is_nothing(
    tmp_path: Path,
    fake_tc: Any,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    stdout: str,
    stderr: str,
    expected: Any,
) -> None:
    from onecloud.iac._stackcli import systems_output

    monkeypatch.setenv("FAKE_PULUMI_EXIT", str(code))
    monkeypatch.setenv("FAKE_PULUMI_STDOUT", stdout)
    monkeypatch.setenv("FAKE_PULUMI_STDERR", stderr)
    assert systems_output("lab") == expected
    (call,) = _pulumi_calls(tmp_path)
    assert "--non-interactive" in call  # never waits for a passphrase prompt


def test_systems_output_raises_when_the_passphrase_is_wrong(
    tmp_path: Path, fake_tc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onecloud.iac._stackcli import StackOutputsUnreadable, systems_output

    monkeypatch.setenv("FAKE_PULUMI_EXIT", "1")
    monkeypatch.setenv("FAKE_PULUMI_STDERR", _BAD_PASSPHRASE)
    with pytest.raises(StackOutputsUnreadable, match="incorrect passphrase"):
        systems_output("province-public")
    # a stack other than the lab's was asked without the lab's passphrase
    (call,) = _pulumi_calls(tmp_path)
    assert call.endswith("| <unset>")


def test_stack_output_command_reports_unreadable_outputs_with_exit_4(
    tmp_path: Path,
    fake_tc: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from onecloud.cli import main

    monkeypatch.setenv("FAKE_PULUMI_STDERR", _S3_DOWN)
    script = fake_tc.pulumi.read_text().replace(
        'exit "${FAKE_PULUMI_EXIT:-0}"',
        'case "$*" in *output*) exit 1;; esac\nexit 0',
    )
    fake_tc.pulumi.write_text(script)
    assert main(["stack", "output", "-s", "lab"]) == 4
    err = capsys.readouterr().err
    assert "outputs of stack lab cannot be read" in err and "PULUMI_BACKEND_URL" in err

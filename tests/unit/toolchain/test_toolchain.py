"""The toolchain's pins agree with its build modules, and failures read as instructions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onecloud import toolchain
from onecloud.errors import ToolchainError


def _required(gomod: Path, module: str) -> str:
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", gomod.read_text(), re.M)
    assert match, f"{gomod} does not require {module}"
    return match.group(1)


def test_cli_build_module_pins_the_cli_version() -> None:
    gomod = toolchain.BUILD_DIR / "cli" / "go.mod"
    assert _required(gomod, "github.com/pulumi/pulumi/pkg/v3") == f"v{toolchain.PULUMI_VERSION}"
    assert _required(gomod, "github.com/pulumi/pulumi/sdk/v3") == f"v{toolchain.PULUMI_VERSION}"


def test_langhost_build_module_pins_the_sdk_release() -> None:
    gomod = toolchain.BUILD_DIR / "langhost" / "go.mod"
    assert (
        _required(gomod, "github.com/pulumi/pulumi/sdk/v3") == f"v{toolchain.LANGHOST_SDK_VERSION}"
    )


def test_provider_tokens_come_from_the_pinned_sdk() -> None:
    import importlib.metadata

    assert importlib.metadata.version("pulumi-openstack") == toolchain.OPENSTACK_PROVIDER_VERSION
    tokens = (toolchain.BUILD_DIR / "provider" / "tokens.txt").read_text().split()
    assert "openstack:networking/network:Network" in tokens
    assert "openstack:compute/instance:Instance" in tokens
    assert tokens == sorted(tokens)


def test_python_sdk_is_not_newer_than_the_engine() -> None:
    import importlib.metadata

    sdk = tuple(int(x) for x in importlib.metadata.version("pulumi").split("."))
    engine = tuple(int(x) for x in toolchain.PULUMI_VERSION.split("."))
    assert sdk <= engine


def test_cache_key_names_the_versions_and_is_stable() -> None:
    key = toolchain.cache_key()
    assert key == toolchain.cache_key()
    assert f"pulumi-{toolchain.PULUMI_VERSION}" in key
    assert f"openstack-{toolchain.OPENSTACK_PROVIDER_VERSION}" in key


def test_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONECLOUD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    with pytest.raises(ToolchainError) as err:
        toolchain.build()
    assert "Go is not installed" in err.value.message
    assert err.value.hint and "make setup" in err.value.hint
    assert not any(tmp_path.rglob("*"))  # nothing half-built left behind


def test_failed_build_leaves_no_partial_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ONECLOUD_CACHE_DIR", str(tmp_path))
    fake_go = tmp_path / "go"
    fake_go.write_text("#!/bin/sh\necho 'reading x/@v/list: 403 Forbidden' >&2\nexit 1\n")
    fake_go.chmod(0o755)
    monkeypatch.setattr(toolchain, "_go", lambda: str(fake_go))
    monkeypatch.setattr(toolchain, "_pulumi_on_path", lambda: None)
    with pytest.raises(ToolchainError) as err:
        toolchain.build()
    assert "the Pulumi CLI" in err.value.message
    assert err.value.hint and "GOPROXY" in err.value.hint
    entries = [p.name for p in (tmp_path / "toolchain").iterdir()]
    assert entries == [f"{toolchain.cache_key()}.build.log"]


def test_env_puts_the_venv_and_toolchain_first(tmp_path: Path) -> None:
    tc = toolchain.Toolchain(
        bin_dir=tmp_path / "bin", home=tmp_path / "home", pulumi=tmp_path / "bin/pulumi"
    )
    env = tc.env({"PULUMI_CONFIG_PASSPHRASE": "s3cret"})
    first, second = env["PATH"].split(":")[:2]
    assert (Path(first) / "python").exists()
    assert second == str(tmp_path / "bin")
    assert env["PULUMI_HOME"] == str(tmp_path / "home")
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "s3cret"


def test_env_gives_no_passphrase_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab's passphrase is for the lab stack only (onecloud.iac decides); never a default."""
    for key in toolchain.PASSPHRASE_VARS:
        monkeypatch.delenv(key, raising=False)
    tc = toolchain.Toolchain(bin_dir=tmp_path, home=tmp_path, pulumi=tmp_path / "pulumi")
    env = tc.env()
    assert not any(key in env for key in toolchain.PASSPHRASE_VARS)
    assert toolchain.LAB_PASSPHRASE not in env.values()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/run/secrets/pulumi")
    assert tc.env()["PULUMI_CONFIG_PASSPHRASE_FILE"] == "/run/secrets/pulumi"


def test_a_passphrase_counts_only_when_not_empty() -> None:
    assert not toolchain.passphrase_given({})
    assert not toolchain.passphrase_given({"PULUMI_CONFIG_PASSPHRASE": ""})
    assert toolchain.passphrase_given({"PULUMI_CONFIG_PASSPHRASE": "x"})
    assert toolchain.passphrase_given({"PULUMI_CONFIG_PASSPHRASE_FILE": "/k"})


def test_toolchain_env_exports_the_lab_passphrase_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from onecloud.cli import main

    for key in toolchain.PASSPHRASE_VARS:
        monkeypatch.delenv(key, raising=False)
    tc = toolchain.Toolchain(bin_dir=tmp_path, home=tmp_path, pulumi=tmp_path / "pulumi")
    monkeypatch.setattr(toolchain, "ensure", lambda progress=None: tc)
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    assert main(["toolchain", "env"]) == 0
    out = capsys.readouterr().out
    assert toolchain.LAB_PASSPHRASE not in out
    assert not [ln for ln in out.splitlines() if ln.startswith("export PULUMI_CONFIG_PASS")]
    assert "# secrets: PULUMI_CONFIG_PASSPHRASE is not set" in out
    assert main(["toolchain", "env", "--lab"]) == 0
    out = capsys.readouterr().out
    assert f"export PULUMI_CONFIG_PASSPHRASE={toolchain.LAB_PASSPHRASE}" in out
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "ours")
    assert main(["toolchain", "env", "--lab"]) == 0
    out = capsys.readouterr().out
    assert "ours" not in out and toolchain.LAB_PASSPHRASE not in out


def test_provider_is_built_in_a_copy_with_its_generated_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 1 builds the schema generator (build tag), step 2 the provider that embeds its
    output; both in a copy, so the repository's toolchain/provider is never written to."""
    calls = tmp_path / "calls"
    docs = tmp_path / "tf-provider"
    (docs / "docs").mkdir(parents=True)
    fake_go = tmp_path / "go"
    fake_go.write_text(
        "#!/bin/sh\n"
        f'echo "$PWD|$*" >> {calls}\n'
        f'if [ "$1" = list ]; then echo {docs}; exit 0; fi\n'
        'out=""; prev=""; for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done\n'
        'mkdir -p "$(dirname "$out")"\n'
        # the "binary": a generator writes -out, the provider is just a file
        'printf \'#!/bin/sh\\nwhile [ "$1" != -out ]; do shift; done; echo "{}" > "$2"\\n\''
        ' > "$out"; chmod +x "$out"\n'
    )
    fake_go.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "build.log"
    provider = toolchain._build_provider(str(fake_go), {"PATH": "/usr/bin:/bin"}, work, log, None)
    assert provider == work / "provider" / "pulumi-resource-openstack"
    lines = calls.read_text().splitlines()
    builds = [ln for ln in lines if "|build " in ln]
    assert len(builds) == 2
    gen_dir, gen_args = builds[0].split("|")
    assert f"-tags {toolchain.SCHEMAGEN_TAG}" in gen_args
    prov_dir, prov_args = builds[1].split("|")
    assert "-tags" not in prov_args
    assert gen_dir == prov_dir == str(work / "provider-src")
    assert f"-docs {docs}" in log.read_text()
    assert not (work / "provider-src").exists()  # the copy is gone once built
    assert not (toolchain.BUILD_DIR / "provider" / "schema" / "schema.json").exists()

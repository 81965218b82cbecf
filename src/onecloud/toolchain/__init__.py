"""The Pulumi toolchain: CLI + engine, Python language host and OpenStack provider.

Release binaries cannot be downloaded everywhere (air-gapped government networks, mirrors
that only serve Go modules), so onecloud builds them from Go modules with the build modules in
`toolchain/` and caches them outside the repository, keyed by versions and build inputs:

    ~/.cache/onecloud/toolchain/<key>/bin/   pulumi, pulumi-language-python (+ its shims),
                                             pulumi-resource-openstack
    ~/.cache/onecloud/toolchain/<key>/home/  PULUMI_HOME with the provider plugin installed

A build goes to a temporary directory next to the cache entry and is renamed into place, so a
killed build never leaves a half toolchain behind. If a `pulumi` of the pinned version is on PATH
(a user's normal install), the CLI and language host are taken from there and only the provider
is built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from onecloud import paths
from onecloud.errors import ToolchainError

__all__ = [
    "LAB_PASSPHRASE",
    "LANGHOST_SDK_VERSION",
    "OPENSTACK_PROVIDER_VERSION",
    "PASSPHRASE_VARS",
    "PULUMI_VERSION",
    "Toolchain",
    "build",
    "ensure",
    "find",
    "passphrase_given",
]

log = logging.getLogger(__name__)

#: the Pulumi CLI and engine (module github.com/pulumi/pulumi/pkg/v3)
PULUMI_VERSION = "3.274.1"
#: the Python language host, built from package python/cmd/pulumi-language-python of
#: github.com/pulumi/pulumi/sdk/v3 at this release: the newest one where the host is part of the
#: sdk module (its later, separate module is not served by every module proxy)
LANGHOST_SDK_VERSION = "3.68.0"
#: the plugin version the pinned pulumi-openstack Python SDK asks the engine for
OPENSTACK_PROVIDER_VERSION = "5.4.1"

#: the passphrase of the lab stack's secrets (public on purpose: they are the throwaway local
#: lab's). `Toolchain.env` never sets it; `onecloud.iac` gives it to lab stacks only, and every
#: other stack needs the user's own (`PASSPHRASE_VARS`) or another secrets provider.
LAB_PASSPHRASE = "onecloud-lab"
#: how a user gives the passphrase secrets provider its key
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")

BUILD_DIR = paths.PROJECT_ROOT / "toolchain"
_SHIMS_FROM_SDK = {
    # file in the sdk/v3 module -> release it comes from
    "python/cmd/pulumi-language-python-exec": PULUMI_VERSION,
    "python/dist/pulumi-analyzer-policy-python": LANGHOST_SDK_VERSION,
    "python/dist/pulumi-resource-pulumi-python": PULUMI_VERSION,
}


@dataclass(frozen=True)
class Toolchain:
    """A ready toolchain: where its binaries are and the environment to run them in."""

    bin_dir: Path
    home: Path
    pulumi: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for running `pulumi` (and Python programs) with this toolchain.

        The project's virtualenv comes first on PATH: the language host runs `python3` from
        PATH, so the program sees the pinned SDKs. No passphrase is added: the user's own
        (`PASSPHRASE_VARS`) passes through, and the lab's is the business of the lab stack.
        """
        env = dict(os.environ)
        venv_bin = Path(sys.executable).parent
        env["PATH"] = os.pathsep.join([str(venv_bin), str(self.bin_dir), env.get("PATH", "")])
        env["PULUMI_HOME"] = str(self.home)
        env.setdefault("PULUMI_BACKEND_URL", backend_url())
        env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
        env.setdefault("PULUMI_DIY_BACKEND_NO_LEGACY_WARNING", "true")
        env["VIRTUAL_ENV"] = str(venv_bin.parent)
        env.setdefault("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", "true")
        if extra:
            env.update(extra)
        return env


def passphrase_given(env: Mapping[str, str]) -> bool:
    """Did the user give the passphrase secrets provider a key (a non-empty variable)?"""
    return any(env.get(key) for key in PASSPHRASE_VARS)


def backend_url() -> str:
    """The Pulumi state backend: a local folder outside git unless the user chose one."""
    if url := os.environ.get("PULUMI_BACKEND_URL"):
        return url
    state = paths.pulumi_state_dir()
    state.mkdir(parents=True, exist_ok=True)
    return f"file://{state}"


def cache_key() -> str:
    """Versions plus a digest of every build input, so any change builds a new entry."""
    digest = hashlib.sha256()
    for path in sorted(BUILD_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".mod", ".sum", ".go", ".txt"}:
            digest.update(str(path.relative_to(BUILD_DIR)).encode())
            digest.update(path.read_bytes())
    return (
        f"pulumi-{PULUMI_VERSION}_langhost-{LANGHOST_SDK_VERSION}"
        f"_openstack-{OPENSTACK_PROVIDER_VERSION}_{digest.hexdigest()[:10]}"
    )


def toolchain_dir() -> Path:
    return paths.cache_dir() / "toolchain" / cache_key()


def _complete(root: Path) -> Toolchain | None:
    bin_dir, home = root / "bin", root / "home"
    plugin = home / "plugins" / f"resource-openstack-v{OPENSTACK_PROVIDER_VERSION}"
    if (root / "COMPLETE").exists() and (bin_dir / "pulumi").exists() and plugin.exists():
        return Toolchain(bin_dir=bin_dir, home=home, pulumi=bin_dir / "pulumi")
    return None


def find() -> Toolchain | None:
    """The cached toolchain for the pinned versions, if it was built."""
    return _complete(toolchain_dir())


def ensure(progress: Callable[[str], None] | None = None) -> Toolchain:
    """Return the pinned toolchain, building it first if it is not in the cache."""
    return find() or build(progress=progress)


def _say(progress: Callable[[str], None] | None, msg: str) -> None:
    log.info(msg)
    if progress:
        progress(msg)


def _go() -> str:
    go = shutil.which("go")
    if not go:
        raise ToolchainError(
            "Go is not installed, and onecloud builds the Pulumi CLI and the OpenStack provider "
            "from Go modules.",
            hint="install Go 1.22 or newer (Debian: apt-get install golang-go; or the go tarball "
            "your organisation mirrors) and run `make setup` again.",
        )
    return go


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str, log_file: Path) -> None:
    with log_file.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}  (in {cwd})\n".encode())
        out.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-12:]
        refused = [ln for ln in tail if "403" in ln or "not available" in ln or "404" in ln]
        hint = (
            "the Go module proxy refused a module (lines above). Point GOPROXY at a mirror that "
            "serves it (e.g. GOPROXY=https://goproxy.internal.example,direct), or GOFLAGS=-mod=mod "
            "with a vendored copy; see docs/devel/toolchain.md."
            if refused
            else "see the log for the compiler's message; GOPROXY, GOFLAGS and GONOSUMDB are "
            "honoured (docs/devel/toolchain.md)."
        )
        raise ToolchainError(
            f"building {what} failed (exit {proc.returncode}); log: {log_file}\n  "
            + "\n  ".join(tail),
            hint=hint,
        )


def _pulumi_on_path() -> Path | None:
    """A user's own `pulumi` of exactly the pinned version, with its Python language host."""
    exe = shutil.which("pulumi")
    if not exe or not shutil.which("pulumi-language-python"):
        return None
    try:
        out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(exe) if out.strip().lstrip("v") == PULUMI_VERSION else None


def build(progress: Callable[[str], None] | None = None) -> Toolchain:
    """Build the toolchain into the cache (atomically) and install the provider plugin."""
    final = toolchain_dir()
    if tc := _complete(final):
        return tc
    go = _go()
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    log_file = final.parent / f"{final.name}.build.log"
    log_file.write_text("")
    try:
        bin_dir = work / "bin"
        bin_dir.mkdir()
        env = dict(os.environ)
        env.setdefault("GOFLAGS", "-mod=mod")
        env["CGO_ENABLED"] = env.get("CGO_ENABLED", "0")
        user_pulumi = _pulumi_on_path()
        if user_pulumi:
            _say(progress, f"using pulumi {PULUMI_VERSION} found at {user_pulumi}")
            for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
                if found := shutil.which(name):
                    os.symlink(found, bin_dir / name)
        else:
            _say(progress, f"building pulumi {PULUMI_VERSION} (CLI and engine)")
            version_flag = (
                f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v{PULUMI_VERSION}"
            )
            _run(
                [
                    go,
                    "build",
                    "-trimpath",
                    "-ldflags",
                    f"-s -w {version_flag}",
                    "-o",
                    str(bin_dir / "pulumi"),
                    "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
                ],
                BUILD_DIR / "cli",
                env,
                "the Pulumi CLI",
                log_file,
            )
            _say(progress, f"building pulumi-language-python (sdk {LANGHOST_SDK_VERSION})")
            _run(
                [
                    go,
                    "build",
                    "-trimpath",
                    "-ldflags",
                    "-s -w",
                    "-o",
                    str(bin_dir / "pulumi-language-python"),
                    "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python",
                ],
                BUILD_DIR / "langhost",
                env,
                "the Python language host",
                log_file,
            )
            _install_shims(go, env, bin_dir, log_file)
        provider = _build_provider(go, env, work, log_file, progress)
        _say(progress, "installing the openstack provider plugin")
        home = work / "home"
        home.mkdir()
        tc = Toolchain(bin_dir=bin_dir, home=home, pulumi=bin_dir / "pulumi")
        _run(
            [
                str(tc.pulumi),
                "plugin",
                "install",
                "resource",
                "openstack",
                OPENSTACK_PROVIDER_VERSION,
                "--file",
                str(provider),
            ],
            work,
            tc.env(),
            "the provider plugin install",
            log_file,
        )
        shutil.rmtree(work / "provider")
        (work / "COMPLETE").write_text(cache_key() + "\n")
        if final.exists():  # an incomplete entry from an older layout
            shutil.rmtree(final)
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    tc = _complete(final)
    if tc is None:  # pragma: no cover - the rename above makes it complete
        raise ToolchainError(f"the toolchain at {final} is incomplete after building it")
    _say(progress, f"toolchain ready in {final}")
    return tc


#: the Terraform provider the plugin bridges (its module source holds the docs the schema's
#: descriptions come from)
TF_PROVIDER_MODULE = "github.com/terraform-provider-openstack/terraform-provider-openstack/v3"
#: the build tag that turns the provider's main package into its schema generator
SCHEMAGEN_TAG = "onecloud_schemagen"


def _build_provider(
    go: str,
    env: dict[str, str],
    work: Path,
    log_file: Path,
    progress: Callable[[str], None] | None,
) -> Path:
    """Build the provider in two steps, in a copy of `toolchain/provider`.

    1. The provider's main package built with the schemagen tag writes the Pulumi package
       schema of the very mapping the provider serves (tfgen of the bridge; descriptions from
       the Terraform provider's docs) to `schema/schema.json` of the copy.
    2. The provider itself, built from the copy, embeds that schema and serves it.

    The repository's folder is never written to; the copy compiles from Go's build cache.
    """
    src = work / "provider-src"
    shutil.copytree(BUILD_DIR / "provider", src, ignore=shutil.ignore_patterns("__pycache__"))
    version_flag = f"-X main.Version={OPENSTACK_PROVIDER_VERSION}"
    _say(progress, f"generating the openstack provider's schema ({OPENSTACK_PROVIDER_VERSION})")
    gen = work / "provider" / "pulumi-resource-openstack-schemagen"
    _run(
        [
            go,
            "build",
            "-trimpath",
            "-tags",
            SCHEMAGEN_TAG,
            "-ldflags",
            f"-s -w {version_flag}",
            "-o",
            str(gen),
            ".",
        ],
        src,
        env,
        "the OpenStack provider's schema generator",
        log_file,
    )
    schema = src / "schema" / "schema.json"
    cmd = [str(gen), "-out", str(schema)]
    if docs := _module_dir(go, TF_PROVIDER_MODULE, src, env):
        cmd += ["-docs", str(docs)]
    _run(cmd, src, env, "the OpenStack provider's schema", log_file)
    _say(progress, f"building pulumi-resource-openstack {OPENSTACK_PROVIDER_VERSION}")
    provider = work / "provider" / "pulumi-resource-openstack"
    _run(
        [
            go,
            "build",
            "-trimpath",
            "-ldflags",
            f"-s -w {version_flag}",
            "-o",
            str(provider),
            ".",
        ],
        src,
        env,
        "the OpenStack provider",
        log_file,
    )
    shutil.rmtree(src)
    return provider


def _module_dir(go: str, module: str, cwd: Path, env: dict[str, str]) -> Path | None:
    """Where Go keeps `module`'s source (None if it cannot say: the schema then has the
    Terraform schema's short descriptions only)."""
    out = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", module],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    found = Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    return found if found is not None and (found / "docs").is_dir() else None


def _install_shims(go: str, env: dict[str, str], bin_dir: Path, log_file: Path) -> None:
    """Copy the language host's helper scripts, shipped in the sdk module, next to it."""
    for rel, version in _SHIMS_FROM_SDK.items():
        out = subprocess.run(
            [go, "mod", "download", "-json", f"github.com/pulumi/pulumi/sdk/v3@v{version}"],
            cwd=BUILD_DIR / "langhost",
            env=env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            log_file.open("a").write(out.stdout + out.stderr)
            raise ToolchainError(
                f"downloading github.com/pulumi/pulumi/sdk/v3@v{version} failed; log: {log_file}",
                hint="check GOPROXY (docs/devel/toolchain.md).",
            )
        src = Path(json.loads(out.stdout)["Dir"]) / rel
        dst = bin_dir / src.name
        shutil.copyfile(src, dst)
        dst.chmod(0o755)

"""Hostile census strings against real lab hosts: nothing they hold executes, as root, on a
source, a target or the controller.

The unit corpus (tests/unit/test_hostile_strings.py) runs what each builder builds locally;
here the same strings go through the real pre-flight (paramiko), the real playbooks
(ansible-runner), the real inventory (Ansible's templating) and the real verify (testinfra),
each against the hosts of a private lab. Every hostile string carries a canary,
`/tmp/pwned-<tag>`, and afterwards that file exists on no host and not on the controller.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import Lab, private_lab, serving_places, ssh

from onecloud.contract import build_spec
from onecloud.contract._spec import DatabaseSpec, ServiceSpec, SystemSpec
from onecloud.labhosts._hosts import ssh_config_path
from onecloud.migrate._sshprobe import preflight_systems
from onecloud.plan._io import write_plan
from onecloud.plan._models import PlannedSystem
from onecloud.verify import verify_systems

pytestmark = pytest.mark.integration

#: the corpus; CANARY is replaced by each test's own canary file
CANARY = "/tmp/pwned"
HOSTILE = [
    "x'; touch /tmp/pwned; echo '",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "{{ lookup('pipe','touch /tmp/pwned') }}",
    "{% raw %}x{% endraw %}",
    "a\nb",
    "a\n@@pgsize 6666\n99",
    "../../etc/passwd",
    '"; DROP TABLE x; --',
    "--delete",
    "semi;colon|pipe&amp>redir<",
    "unicode \u2028 line sep \x85 nel \U0001f600",
]


def _canary() -> str:
    return f"/tmp/pwned-{uuid.uuid4().hex[:10]}"


def _armed(canary: str) -> list[str]:
    return [v.replace(CANARY, canary) for v in HOSTILE]


def _hostile_spec(base: SystemSpec, value: str, n: int) -> SystemSpec:
    """As the unit corpus builds it, on the real hosts of `base`."""
    return dataclasses.replace(
        base,
        id=f"{base.id}-h{n}",
        name=value,
        services=(ServiceSpec(value, 8080, value, False), ServiceSpec(value, 5432, None, True)),
        data_paths=(value, "/srv/" + value),
        databases=(
            DatabaseSpec("postgresql", value, (value,)),
            DatabaseSpec("sqlite", "/srv/" + value, (value,)),
        ),
    )


def _assert_no_canary(lab: Lab, canary: str) -> None:
    """The canary exists on no host of the lab and not on the controller."""
    assert not Path(canary).exists(), f"{canary} was created on the controller"
    systems = lab.plan.systems
    hosts = [h.id for s in systems for h in s.sources] + [
        t.name for s in systems for t in s.targets
    ]
    for host in hosts:
        out = ssh(host, f"test -e {shlex.quote(canary)} && echo PWNED || echo clean")
        assert out.returncode == 0, f"{host}: {out.stderr}"
        assert out.stdout.strip() == "clean", f"{canary} was created on {host}"


def _write(lab: Lab, system: PlannedSystem) -> None:
    """Replace the lab's system in its plan file (no census validation: the plan file is what
    the runner and the playbooks trust)."""
    others = [s for s in lab.plan.systems if s.id != system.id]
    lab.plan = lab.plan.model_copy(update={"systems": [*others, system]})
    write_plan(lab.plan, lab.plan_path)


def _no_traceback(r: object) -> None:
    text = getattr(r, "stdout", "") + getattr(r, "stderr", "")
    assert "Traceback" not in text, text


def test_preflight_of_hostile_specs_on_real_hosts_runs_nothing(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hpre", ["health-permits"], wave=71) as lab:
        canary = _canary()
        base = build_spec(lab.system("health-permits"), None)
        specs = [_hostile_spec(base, v, n) for n, v in enumerate(_armed(canary))]
        result = preflight_systems(specs, ssh_config_path(), workers=8)
        assert sorted(result) == sorted(s.id for s in specs)
        for spec in specs:
            pre = result[spec.id]
            assert not pre.ok, f"{spec.name!r} passed the pre-flight"
            errors = [str(f) for f in pre.errors()]
            # the probe ran (it is the host's facts, not a connection error, that fail)
            assert any("no init script" in e for e in errors), errors
            assert not any("probe failed" in e or "host key" in e for e in errors), errors
            assert len(pre.reports) == 2 and all(r.facts is not None for r in pre.reports)
        # the untouched spec passes on the same hosts: the findings are the hostile values'
        assert preflight_systems([base], ssh_config_path())[base.id].ok
        _assert_no_canary(lab, canary)


def _hostile_name_on(host: str, canary: str) -> str:
    """A service name that is a hostile string and yet names an existing file under
    /etc/init.d on `host` (through `..`), so the paramiko pre-flight lets it through and the
    playbooks must refuse it themselves."""
    target = f"/tmp/x$(touch {canary})"  # a directory `/tmp/x$(touch /tmp` holding `pwned-..)`
    made = ssh(
        host,
        f"mkdir -p -- {shlex.quote(str(Path(target).parent))}"
        f" && printf '#!/bin/sh\\nexit 0\\n' > {shlex.quote(target)}",
    )
    assert made.returncode == 0, made.stderr
    return "../.." + target


def test_playbooks_refuse_a_hostile_service_name(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hsvc", ["edu-portal"], wave=72) as lab:
        canary = _canary()
        s = lab.system("edu-portal")
        src = s.sources[0].id
        name = _hostile_name_on(src, canary)
        svc = s.services[0]
        hostile_svc = svc.model_copy(update={"name": name, "port": 8089, "health_path": None})
        _write(lab, s.model_copy(update={"services": [svc, hostile_svc]}))
        r = lab.migrate()
        _no_traceback(r)
        assert r.returncode == 6, r.stdout + r.stderr
        state, _pending, err = lab.state(s.id)
        assert state == "preflighted", (state, err)
        events = lab.events(s.id)
        failed = [e for e in events if e[1] == "failed"]
        assert failed and failed[0][:2] == ("presync", "failed"), events
        assert failed[0][2:4] == (
            src,
            "Check that every service name is a plain init script name",
        ), events
        assert err is not None and "presync failed on" in err, err
        # the rollback refuses the same name (it never reaches a service command with it)
        assert events[-1][:2] == ("rollback", "failed"), events
        assert events[-1][3] == "Check that every service name is a plain init script name"
        assert serving_places(s) == [src]
        _assert_no_canary(lab, canary)


def test_playbooks_refuse_hostile_data_paths(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hpath", ["edu-portal"], wave=75) as lab:
        canary = _canary()
        s = lab.system("edu-portal")
        src, tgt = s.sources[0].id, s.targets[0].name
        name = _hostile_name_on(src, canary)
        # one relative (it exists from root's home), one through `..` onto the file made above:
        # both exist, so the paramiko pre-flight lets them through
        data = s.data.model_copy(
            update={"paths": [*s.data.paths, "../../etc/passwd", "/srv/webapp/../.." + name[5:]]}
        )
        _write(lab, s.model_copy(update={"data": data}))
        r = lab.migrate()
        _no_traceback(r)
        assert r.returncode == 6, r.stdout + r.stderr
        state, pending, err = lab.state(s.id)
        events = lab.events(s.id)
        failed = [e for e in events if e[1] == "failed"]
        assert failed and failed[0][:3] == ("presync", "failed", src), events
        assert (
            failed[0][3] == "Check that every path is absolute, normalised and not a system"
            " directory"
        ), events
        assert err is not None and "presync failed on" in err, err
        assert serving_places(s) == [src]
        _assert_no_canary(lab, canary)
        # nothing was copied, nothing started on the target: the rollback has nothing to undo
        assert ssh(tgt, "test ! -e /etc/init.d/webapp").returncode == 0
        assert (state, pending) == ("preflighted", 0), (state, pending, events)
        assert events[-1][:2] == ("rollback", "ok"), events
        # the paths fixed, the same command carries on
        _write(lab, s)
        r = lab.migrate()
        assert r.returncode == 0, r.stdout + r.stderr
        assert lab.state(s.id)[:2] == ("completed", 0)


def test_inventory_values_are_never_templated(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hinv", ["edu-portal"], wave=73) as lab:
        canary = _canary()
        lookup = f"{{{{lookup('pipe','touch${{IFS}}{canary}')}}}}"  # no space: a valid URL
        s = lab.system("edu-portal")
        svc = s.services[0]
        hostile = s.model_copy(
            update={
                "name": f"portal {{{{ lookup('pipe','touch {canary}') }}}}",  # a comment line
                "services": [svc.model_copy(update={"health_path": f"/health?q={lookup}"})],
            }
        )
        _write(lab, hostile)
        r = lab.migrate("--dry-run")
        _no_traceback(r)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not Path(canary).exists()
        # the real run: the switch and the verify poll that very URL (the app answers 200 for
        # /health whatever the query), so the system migrates with the value kept as text
        r = lab.migrate()
        _no_traceback(r)
        assert r.returncode == 0, r.stdout + r.stderr
        assert lab.state(s.id)[:2] == ("completed", 0)
        assert serving_places(lab.system("edu-portal")) == [s.targets[0].name]
        _assert_no_canary(lab, canary)


def test_verify_of_hostile_specs_on_real_hosts_runs_nothing(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hvfy", ["health-permits"], wave=74) as lab:
        canary = _canary()
        base = build_spec(lab.system("health-permits"), None)
        specs = [_hostile_spec(base, v, n) for n, v in enumerate(_armed(canary))]
        for phase in ("legacy", "migrated"):
            results = verify_systems([(sp, phase) for sp in specs], ssh_config_path(), workers=8)
            assert results
            by_system = {sp.id: [r for r in results if r.check.system == sp.id] for sp in specs}
            for sp in specs:
                mine = by_system[sp.id]
                assert mine, sp.name
                for res in mine:
                    if res.check.kind in ("port_listening", "port_closed"):
                        continue  # the port is a number, not a hostile string: it may pass
                    if res.check.kind == "data_digest":
                        continue  # see test_verify_data_of_paths_missing_on_both_hosts_fails
                    assert not res.ok, (phase, sp.name, res)
        # and through the CLI, with the hostile values in the plan file
        s = lab.system("health-permits")
        value = f"$(touch {canary})"
        svc = s.services[0]
        _write(
            lab,
            s.model_copy(
                update={
                    "services": [
                        svc.model_copy(update={"name": value, "health_path": f"/`touch {canary}`"})
                    ],
                    "data": s.data.model_copy(
                        update={"paths": [f"/srv/x'; touch {canary}; echo '"]}
                    ),
                }
            ),
        )
        r = lab.cli("verify", "--system", s.id, "--plan", str(lab.plan_path), "--phase", "legacy")
        # the command's own error boundary holds (a check's detail may quote the remote
        # probe's traceback: see test_verify_health_of_a_malformed_url_says_why)
        assert "hint: the table above lists every check" in r.stderr, r.stderr
        assert "FAIL" in r.stdout, r.stdout
        assert r.returncode == 7, r.stdout + r.stderr
        _assert_no_canary(lab, canary)


def test_verify_data_of_paths_missing_on_both_hosts_fails(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hvdat", ["edu-portal"], wave=78) as lab:
        canary = _canary()
        base = build_spec(lab.system("edu-portal"), None)
        spec = dataclasses.replace(base, data_paths=(f"/srv/x'; touch {canary}; echo '",))
        results = verify_systems([(spec, "migrated")], ssh_config_path(), workers=4)
        _assert_no_canary(lab, canary)
        digest = [r for r in results if r.check.kind == "data_digest"]
        assert digest and not any(r.ok for r in digest), digest


def test_verify_health_of_a_malformed_url_says_why(tmp_path: Path) -> None:
    with private_lab(tmp_path, "hvurl", ["edu-portal"], wave=79) as lab:
        canary = _canary()
        base = build_spec(lab.system("edu-portal"), None)
        svc = dataclasses.replace(base.services[0], health_path=f"/x'; touch {canary}; echo '")
        spec = dataclasses.replace(base, services=(svc,))
        results = verify_systems([(spec, "legacy")], ssh_config_path(), workers=4)
        _assert_no_canary(lab, canary)
        health = [r for r in results if r.check.kind == "health"]
        assert health and not any(r.ok for r in health), health
        assert not any("Traceback" in r.detail for r in health), health

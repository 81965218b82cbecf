import pytest

from onecloud.contract._spec import build_spec, select_systems
from onecloud.errors import UsageError
from onecloud.plan._models import Plan


def test_select_wave_sorted(plan: Plan) -> None:
    assert [s.id for s in select_systems(plan, wave=1)] == [
        "civil-ledger",
        "edu-portal",
        "health-permits",
    ]


def test_select_errors_name_valid_values(plan: Plan) -> None:
    with pytest.raises(UsageError, match="wave 9 has no migrating systems") as e:
        select_systems(plan, wave=9)
    assert e.value.hint == "waves in the plan: 1"
    with pytest.raises(UsageError, match="unknown or not migrating system") as e:
        select_systems(plan, system_ids=["civil-wechat-backend"])  # retired, not migrated
    assert e.value.hint is not None and "edu-portal" in e.value.hint
    with pytest.raises(UsageError, match="say what to migrate"):
        select_systems(plan)


def test_spec_from_plan_orders_engine_services(plan: Plan) -> None:
    spec = build_spec(plan.system("health-permits"), None)
    assert spec.addresses_from == "plan"
    assert [s.name for s in spec.engine_services] == ["postgresql"]
    assert [s.name for s in spec.app_services] == ["permitsapp"]
    assert spec.pairs[0].source.name == "health-db-01"
    assert spec.pairs[0].target.address == "198.19.11.12"
    assert spec.group == "system_health_permits"


def test_spec_prefers_stack_outputs(plan: Plan) -> None:
    outputs = {
        "edu-portal": {
            "targets": [
                {"name": "edu-portal-1", "address": "198.19.1.50", "port_id": "p", "server_id": "s"}
            ]
        }
    }
    spec = build_spec(plan.system("edu-portal"), outputs)
    assert spec.addresses_from == "stack"
    assert spec.pairs[0].target.address == "198.19.1.50"
    other = build_spec(plan.system("civil-ledger"), outputs)  # not in outputs: the plan's
    assert other.addresses_from == "plan"


def test_broken_outputs_are_reported(plan: Plan) -> None:
    with pytest.raises(UsageError, match="without name/address"):
        build_spec(plan.system("edu-portal"), {"edu-portal": {"targets": [{"name": "x"}]}})


def test_retired_system_cannot_be_migrated(plan: Plan) -> None:
    with pytest.raises(UsageError, match="only 'migrate' systems move"):
        build_spec(plan.system("civil-wechat-backend"), None)

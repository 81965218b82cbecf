"""`trusted` builds the same models pydantic validation would."""

from __future__ import annotations

from onecloud.plan._construct import trusted
from onecloud.plan._models import Quota, TargetServer


def test_trusted_equals_validated() -> None:
    values = {"name": "a-1", "address": "10.0.0.12", "flavor": "oc.small", "volume_gb": 1}
    assert trusted(TargetServer, **values) == TargetServer(**values)
    assert trusted(TargetServer, **values).model_dump() == values


def test_missing_fields_fall_back_to_model_construct_with_defaults() -> None:
    q = trusted(Quota, instances=1, cores=1, ram_mb=512, volumes=0, gigabytes=0)
    assert q.floating_ips == 0  # the default, filled by model_construct

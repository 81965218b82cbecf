import pytest

from onecloud.contract import _states as states


def test_forward_order_and_next_step() -> None:
    assert states.next_step("planned") == "preflight"
    assert states.next_step("synced") == "switch"
    assert states.next_step("verified") == "complete"
    assert states.next_step("completed") is None


def test_remaining_steps_resume_and_until() -> None:
    assert states.remaining_steps("planned") == list(states.MIGRATION_STEPS)
    assert states.remaining_steps("frozen") == ["sync", "switch", "verify", "complete"]
    assert states.remaining_steps("planned", until="presynced") == ["preflight", "presync"]
    assert states.remaining_steps("switched", until="presynced") == []
    with pytest.raises(ValueError):
        states.remaining_steps("planned", until="retired")


def test_rollback_puts_a_frozen_system_back_to_presynced() -> None:
    assert states.rollback_state("preflighted") == "preflighted"
    assert states.rollback_state("presynced") == "presynced"
    for s in ("frozen", "synced", "switched", "verified"):
        assert states.rollback_state(s) == "presynced"
    with pytest.raises(ValueError):
        states.rollback_state("completed")


def test_source_stopped_from_the_freeze_on() -> None:
    assert not states.source_stopped("presynced")
    assert states.source_stopped("frozen")
    assert states.source_stopped("switched")


def test_check_transition() -> None:
    t = states.check_transition("x", "presynced", "freeze")
    assert (t.before, t.after) == ("presynced", "frozen")
    with pytest.raises(ValueError, match="needs state 'synced'"):
        states.check_transition("x", "frozen", "switch")

"""Session-wide fixtures of the integration tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

import migratelab


@pytest.fixture(scope="session", autouse=True)
def _itest_stack_down_at_the_end() -> Iterator[None]:
    """The itest stack (brought up by the first migration test) goes at the session's end."""
    yield
    migratelab.itest_down(leftovers=False)

"""The throwaway PostgreSQL server of the ledger's integration tests (scripts/pg-test-server.sh):
its URL, the marks that skip a module without it, the lock that keeps a test that stops the
server from disturbing others, and a fresh database per test."""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

URL = os.environ.get("ONECLOUD_TEST_PG_URL", "")

MARKS = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not URL,
        reason="ONECLOUD_TEST_PG_URL is not set (scripts/test.sh and CI set it; by hand:"
        " export ONECLOUD_TEST_PG_URL=$(scripts/pg-test-server.sh start))",
    ),
]


@contextmanager
def server_lock(exclusive: bool = False) -> Iterator[None]:
    """Shared: a test uses the server; exclusive: a test stops it (no one else may use it)."""
    with open(Path(tempfile.gettempdir()) / "onecloud-test-pg.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new database on the test server: its URL (with the password); dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_db(URL, name)
    finally:
        with psycopg.connect(URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

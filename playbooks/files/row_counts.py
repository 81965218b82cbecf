#!/usr/bin/python3
"""Print the row counts of a system's database tables as JSON (stdlib only).

Usage: row_counts.py '<json list of {"engine", "name", "tables"}>'
Output: {"<engine>:<name>:<table>": <count>, ...}

SQLite files are opened read-only; PostgreSQL is asked through psql as the postgres user.
Shared by the freeze/sync roles and `onecloud verify`, so all count the same way.

Table names (and PostgreSQL database names) must be plain identifiers; anything else is
refused on stderr with exit code 1 before any SQL runs. Even so, identifiers are never pasted
raw: SQLite's are double-quoted with inner quotes doubled after the table is found in
sqlite_master (a bound parameter), PostgreSQL's go through psql's `:"tbl"` interpolation.
"""

import json
import re
import sqlite3
import subprocess
import sys
import urllib.parse

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Refused(ValueError):
    """A name that is not a plain identifier."""


def check_ident(what: str, name: object) -> str:
    if not isinstance(name, str) or not IDENT.fullmatch(name) or len(name) > 63:
        raise Refused(
            f"refusing {what} {json.dumps(name)}: not a plain identifier"
            " ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)"
        )
    return name


def quote_ident(name: str) -> str:
    """An SQL identifier in double quotes (inner double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def sqlite_count_sql(table: str) -> str:
    return f"SELECT count(*) FROM {quote_ident(check_ident('table', table))}"


def sqlite_uri(path: str) -> str:
    return "file:" + urllib.parse.quote(path, safe="/") + "?mode=ro"


def count_sqlite(path: str, table: str) -> int:
    sql = sqlite_count_sql(table)
    conn = sqlite3.connect(sqlite_uri(path), uri=True, timeout=10)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (table,)
        ).fetchone()
        if found is None:
            raise sqlite3.OperationalError(f"no such table: {table}")
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def postgresql_count_command(db: str, table: str) -> tuple[list[str], str]:
    """argv and stdin of psql counting one table: the name is a psql variable quoted by psql
    as an identifier (`:"tbl"`), the query on stdin (psql -c does not interpolate)."""
    check_ident("database", db)
    check_ident("table", table)
    argv = [
        "runuser",
        "-u",
        "postgres",
        "--",
        "psql",
        "-XtAq",
        "-v",
        "ON_ERROR_STOP=1",
        "-v",
        f"tbl={table}",
        "-d",
        db,
        "-f",
        "-",
    ]
    return argv, 'SELECT count(*) FROM :"tbl";\n'


def count_postgresql(db: str, table: str) -> int:
    argv, sql = postgresql_count_command(db, table)
    out = subprocess.run(argv, input=sql, check=True, capture_output=True, text=True, timeout=60)
    return int(out.stdout.strip())


def main() -> int:
    counts = {}
    for db in json.loads(sys.argv[1]):
        for table in db.get("tables", []):
            key = f"{db['engine']}:{db['name']}:{table}"
            try:
                if db["engine"] == "sqlite":
                    counts[key] = count_sqlite(db["name"], table)
                elif db["engine"] == "postgresql":
                    counts[key] = count_postgresql(db["name"], table)
            except Refused as exc:
                print(f"row_counts: {exc}", file=sys.stderr)
                return 1
            except (sqlite3.Error, subprocess.SubprocessError, ValueError) as exc:
                print(f"row_counts: {json.dumps(key)}: {exc}", file=sys.stderr)
                return 1
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

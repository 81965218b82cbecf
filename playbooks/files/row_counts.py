#!/usr/bin/python3
"""Print the row counts of a system's database tables as JSON (stdlib only).

Usage: row_counts.py '<json list of {"engine", "name", "tables"}>'
Output: {"<engine>:<name>:<table>": <count>, ...}

SQLite files are opened read-only; PostgreSQL is asked through psql as the postgres user.
Shared by the freeze/sync roles and `onecloud verify`, so all count the same way.
"""

import json
import sqlite3
import subprocess
import sys


def count_sqlite(path: str, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    finally:
        conn.close()


def count_postgresql(db: str, table: str) -> int:
    out = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-XtAq", "-d", db, "-c",
         f'SELECT count(*) FROM "{table}"'],
        check=True, capture_output=True, text=True, timeout=60,
    )
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
            except (sqlite3.Error, subprocess.SubprocessError, ValueError) as exc:
                print(f"row_counts: {key}: {exc}", file=sys.stderr)
                return 1
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

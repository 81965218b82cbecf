#!/usr/bin/python3
"""Seeds a lab host's workload data on its first start (runs inside the host, stdlib only).

Installed as /usr/local/lib/onecloud-lab/seed.py and called by /usr/local/sbin/lab-seed.
Content is random but seeded by the host name, so a host always gets the same data and a
migration can be checked by checksums.

    seed.py webapp DATA_DIR HOSTNAME      ~200 files, a few MB, in a few subdirectories
    seed.py sqlite DB_PATH HOSTNAME       table `records` with 10,000 rows
    seed.py permits-sql HOSTNAME          SQL (on stdout) creating table `permits`, 100,000 rows
    seed.py access LOG DATE CLIENTS HOSTNAME
                                          an access log (Common Log Format) of ~90 days of
                                          requests from CLIENTS addresses, the last on DATE
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import sys
from pathlib import Path

WEB_FILES = 200
LEDGER_ROWS = 10_000
PERMIT_ROWS = 100_000
SUBDIRS = ("docs", "forms", "images", "reports", "archive")


def seed_webapp(data_dir: Path, host: str) -> None:
    rng = random.Random(f"{host}/webapp")
    for i in range(WEB_FILES):
        sub = data_dir / SUBDIRS[i % len(SUBDIRS)]
        sub.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1_000, 30_000)
        ext = (".html", ".pdf", ".png", ".csv", ".txt")[i % 5]
        (sub / f"item-{i:04d}{ext}").write_bytes(rng.randbytes(size))
    (data_dir / "index.html").write_text(
        f"<html><body><h1>{host}</h1><p>{WEB_FILES} documents</p></body></html>\n"
    )


def seed_sqlite(db_path: Path, host: str) -> None:
    rng = random.Random(f"{host}/ledger")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS records ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " account TEXT NOT NULL, amount_cents INTEGER NOT NULL,"
            " memo TEXT NOT NULL, created_at INTEGER NOT NULL)"
        )
        (existing,) = conn.execute("SELECT count(*) FROM records").fetchone()
        if existing == 0:
            base = 1_600_000_000
            conn.executemany(
                "INSERT INTO records (account, amount_cents, memo, created_at) VALUES (?, ?, ?, ?)",
                (
                    (
                        f"ACC-{rng.randint(1, 500):04d}",
                        rng.randint(-500_000, 500_000),
                        f"entry {i} {rng.getrandbits(64):016x}",
                        base + i * 600,
                    )
                    for i in range(LEDGER_ROWS)
                ),
            )
    conn.close()


def permits_sql(host: str) -> str:
    """Deterministic SQL for the permits table (seeded by host via setseed)."""
    seed = random.Random(f"{host}/permits").random() * 2 - 1
    return f"""
CREATE TABLE IF NOT EXISTS permits (
    id integer PRIMARY KEY,
    applicant text NOT NULL,
    kind text NOT NULL,
    issued date NOT NULL,
    status text NOT NULL
);
SELECT setseed({seed:.6f});
INSERT INTO permits (id, applicant, kind, issued, status)
SELECT i,
       'applicant-' || lpad((floor(random() * 50000))::int::text, 5, '0'),
       (ARRAY['building', 'business', 'event', 'parking', 'signage'])[1 + i % 5],
       date '2015-01-01' + (floor(random() * 3650))::int,
       (ARRAY['issued', 'pending', 'revoked'])[1 + (floor(random() * 3))::int]
FROM generate_series(1, {PERMIT_ROWS}) AS i
ON CONFLICT (id) DO NOTHING;
ANALYZE permits;
"""


ACCESS_DAYS = 90
ACCESS_ENTRIES = 400


def access_lines(last: dt.date, clients: int, host: str) -> list[str]:
    """Deterministic CLF lines over the ACCESS_DAYS before `last`, the final one on `last`."""
    rng = random.Random(f"{host}/access/{last}")
    peers = [f"198.51.100.{1 + i % 254}" if i < 254 else f"203.0.113.{1 + i % 254}"
             for i in range(max(1, clients))]  # fmt: skip
    start = dt.datetime.combine(last - dt.timedelta(days=ACCESS_DAYS), dt.time(8), dt.UTC)
    end = dt.datetime.combine(last, dt.time(8), dt.UTC) + dt.timedelta(hours=rng.randint(0, 9))
    span = (end - start).total_seconds()
    stamps = sorted(
        start + dt.timedelta(seconds=rng.random() * span) for _ in range(ACCESS_ENTRIES - 1)
    )
    stamps.append(end)
    paths = ("/", "/index.html", "/forms/item-0001.html", "/reports/item-0003.csv", "/login")
    return [
        f'{rng.choice(peers)} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET {rng.choice(paths)} HTTP/1.1"'
        f" 200 {rng.randint(200, 30000)}"
        for t in stamps
    ]


def seed_access(log: Path, last: str, clients: int, host: str) -> None:
    """Write the history under what the log already holds (an app may have started it)."""
    lines = access_lines(dt.date.fromisoformat(last), clients, host)
    log.parent.mkdir(parents=True, exist_ok=True)
    before = log.read_text() if log.exists() else ""
    log.write_text("\n".join(lines) + "\n" + before)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "webapp":
        seed_webapp(Path(argv[1]), argv[2])
    elif len(argv) >= 3 and argv[0] == "sqlite":
        seed_sqlite(Path(argv[1]), argv[2])
    elif len(argv) >= 5 and argv[0] == "access":
        seed_access(Path(argv[1]), argv[2], int(argv[3]), argv[4])
    elif len(argv) >= 2 and argv[0] == "permits-sql":
        sys.stdout.write(permits_sql(argv[1]))
    else:
        sys.stderr.write(__doc__ or "")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

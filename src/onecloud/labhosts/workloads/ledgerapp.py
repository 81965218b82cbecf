#!/usr/bin/python3
"""The `sqlite` workload: a department's ledger application over a SQLite file.

Runs inside a lab host under Debian's /usr/bin/python3 (stdlib only), installed as
/opt/ledgerapp/ledgerapp.py and started by /etc/init.d/ledgerapp. Endpoints:

- `GET /health`: 200 and `{"records": <row count>}` when the database answers, 503 otherwise.
- `GET /records/<id>`: one row as JSON (404 if absent).
- `POST /records`: inserts a row (body: optional JSON `{"payload": "..."}`), answers 201 with its
  id, so the data changes between a warm sync and the final one of a migration.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def connect(path: str) -> sqlite3.Connection:
    """A short-lived connection per request: SQLite serialises writers itself."""
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


class Handler(BaseHTTPRequestHandler):
    db_path = "/srv/ledgerapp/app.db"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            try:
                with connect(self.db_path) as conn:
                    (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
            except sqlite3.Error as exc:
                self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
                return
            self._json(HTTPStatus.OK, {"service": "ledgerapp", "records": count})
            return
        if path.startswith("/records/") and path[len("/records/") :].isdigit():
            with connect(self.db_path) as conn:
                row = conn.execute(
                    "SELECT * FROM records WHERE id = ?", (int(path[len("/records/") :]),)
                ).fetchone()
            if row is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "no such record"})
            else:
                self._json(HTTPStatus.OK, dict(row))
            return
        self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/records":
            self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            payload = str(json.loads(raw).get("payload", "")) if raw else ""
        except (ValueError, AttributeError):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "body must be a JSON object"})
            return
        with connect(self.db_path) as conn:
            cur = conn.execute(
                "INSERT INTO records (account, amount_cents, memo, created_at) VALUES (?, ?, ?, ?)",
                ("api", 0, payload or "inserted over HTTP", int(time.time())),
            )
            new_id = cur.lastrowid
        self._json(HTTPStatus.CREATED, {"id": new_id})

    def _json(self, status: HTTPStatus, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: object = "-", size: object = "-") -> None:
        """One Common Log Format line per request in ACCESS_LOG (default
        /var/log/ledgerapp/access.log): the evidence `onecloud retire` reads. /health is not logged
        (the controller's polls are no use of the system)."""
        if self.path.split("?", 1)[0] == "/health":
            return
        log = os.environ.get("ACCESS_LOG", "/var/log/ledgerapp/access.log")
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        status = getattr(code, "value", code)
        line = f'{self.client_address[0]} - - [{stamp}] "{self.requestline}" {status} {size}\n'
        try:
            os.makedirs(os.path.dirname(log), exist_ok=True)
            with open(log, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: health polls would fill the log."""


def main() -> None:
    Handler.db_path = os.environ.get("DB_PATH", Handler.db_path)
    bind = os.environ.get("BIND", "0.0.0.0")
    port = int(os.environ.get("PORT", "8081"))
    ThreadingHTTPServer.request_queue_size = 64
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The `postgresql` workload's application: a permits register reading PostgreSQL.

Runs inside a lab host under Debian's /usr/bin/python3 as the `postgres` user, installed as
/opt/permitsapp/permitsapp.py and started by /etc/init.d/permitsapp after the `postgresql`
service. Debian has no PostgreSQL driver in the standard library, so the app asks `psql` over
the local socket (peer authentication): slow per request, but real queries on real data.

- `GET /health`: 200 and `{"permits": <row count>}` when the database answers, 503 otherwise.
- `GET /permits/<id>`: one row as JSON (404 if absent).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATABASE = "permits"


def query(sql: str, *params: str) -> str:
    """Run one statement with psql; parameters are passed as psql variables (quoted by psql)."""
    args = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", DATABASE]
    for i, value in enumerate(params):
        args += ["-v", f"p{i}={value}"]
    proc = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=20)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"psql exited {proc.returncode}")
    return proc.stdout.strip()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == "/health":
                count = int(query("SELECT count(*) FROM permits;"))
                self._json(HTTPStatus.OK, {"service": "permitsapp", "permits": count})
            elif path.startswith("/permits/") and path[len("/permits/") :].isdigit():
                row = query(
                    "SELECT row_to_json(p) FROM permits p WHERE id = :'p0'::int;",
                    path[len("/permits/") :],
                )
                if row:
                    self._json(HTTPStatus.OK, json.loads(row))
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "no such permit"})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})

    def _json(self, status: HTTPStatus, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: object = "-", size: object = "-") -> None:
        """One Common Log Format line per request in ACCESS_LOG (default
        /var/log/permitsapp/access.log): the evidence `onecloud retire` reads. /health is not logged
        (the controller's polls are no use of the system)."""
        if self.path.split("?", 1)[0] == "/health":
            return
        log = os.environ.get("ACCESS_LOG", "/var/log/permitsapp/access.log")
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
    global DATABASE
    DATABASE = os.environ.get("DATABASE", DATABASE)
    bind = os.environ.get("BIND", "0.0.0.0")
    port = int(os.environ.get("PORT", "8082"))
    ThreadingHTTPServer.request_queue_size = 64
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

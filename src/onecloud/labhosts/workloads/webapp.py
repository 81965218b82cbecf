#!/usr/bin/python3
"""The `webapp` workload: a department's old file-serving web application.

Runs inside a lab host under Debian's /usr/bin/python3 (stdlib only), installed as
/opt/webapp/webapp.py and started by /etc/init.d/webapp. It serves the files under DATA_DIR and
answers `GET /health` with 200 and a small JSON body (file count), so a migration can check that
the data came along. Settings come from the environment (see /etc/default/webapp).
"""

from __future__ import annotations

import functools
import json
import os
import time
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    """Static files from the data directory, plus /health."""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/health":
            self._health()
            return
        super().do_GET()

    def _health(self) -> None:
        root = self.directory
        count = sum(len(files) for _, _, files in os.walk(root))
        status = HTTPStatus.OK if count else HTTPStatus.SERVICE_UNAVAILABLE
        body = json.dumps({"service": "webapp", "files": count}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: object = "-", size: object = "-") -> None:
        """One Common Log Format line per request in ACCESS_LOG (default
        /var/log/webapp/access.log): the evidence `onecloud retire` reads. /health is not logged
        (the controller's polls are no use of the system)."""
        if self.path.split("?", 1)[0] == "/health":
            return
        log = os.environ.get("ACCESS_LOG", "/var/log/webapp/access.log")
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
    data_dir = os.environ.get("DATA_DIR", "/srv/webapp/data")
    bind = os.environ.get("BIND", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    handler = functools.partial(Handler, directory=data_dir)
    ThreadingHTTPServer.request_queue_size = 64
    server = ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

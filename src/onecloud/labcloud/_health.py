"""Does a service answer? TCP connect for infrastructure, an HTTP answer below 500 for APIs."""

from __future__ import annotations

import http.client
import socket


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_answers(host: str, port: int, path: str, timeout: float = 5.0) -> bool:
    """True if GET `path` gets any HTTP answer below 500 (401 and 300 count: the API is there)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        return conn.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()

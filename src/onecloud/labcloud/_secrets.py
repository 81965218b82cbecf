"""The lab's passwords: made up once, kept in `<lab>/cloud/secrets.json` (0600)."""

from __future__ import annotations

import json
import os
import secrets as _random
from pathlib import Path

KEYS = ("db", "admin", "service")


def load_or_create(path: Path) -> dict[str, str]:
    """Existing passwords (the databases were made with them), or new ones on first boot."""
    try:
        found = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        found = {}
    out = {k: str(found[k]) for k in KEYS if found.get(k)}
    if len(out) == len(KEYS):
        return out
    for key in KEYS:
        out.setdefault(key, _random.token_urlsafe(18))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(out, f, indent=1)
    return out

"""The lab's passwords: made up once, kept in `<lab>/cloud/secrets.json` (0600 from the start).

They reach the services through their config files (0600, in `cloud/etc`, 0700) and the
first-boot commands through stdin or the environment, never through a command line or a log.
"""

from __future__ import annotations

import json
import secrets as _random
from collections.abc import Iterable
from pathlib import Path

from onecloud.labcloud._modes import write_private

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
    write_private(path, json.dumps(out, indent=1))
    return out


def redact(text: str, values: Iterable[str]) -> str:
    """`text` with every secret value replaced by `***` (for anything that goes to a log)."""
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


#: the logs only `lab up` writes (under the lab's lock; no daemon holds them open)
SETUP_LOGS = ("dbinit*.log", "packages.log")


def scrub_setup_logs(log_dir: Path, values: Iterable[str]) -> list[Path]:
    """Mask the passwords that an older lab wrote into its first-boot logs (it logged command
    lines that held them). Rewrites only the logs that hold one; returns those."""
    wanted = [v.encode() for v in values if v]
    scrubbed = []
    for pattern in SETUP_LOGS:
        for path in sorted(log_dir.glob(pattern)):
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            if any(v in data for v in wanted):
                for value in sorted(wanted, key=len, reverse=True):
                    data = data.replace(value, b"***")
                write_private(path, data)
                scrubbed.append(path)
    return scrubbed

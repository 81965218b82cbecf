"""`ebtables` for the lab's Neutron agents: Debian 12's ebtables-nft, with one bug worked round.

ebtables-nft 1.8.9 cannot delete a rule holding `--among-src`/`--among-dst` by specification
(`ebtables -t nat -D CHAIN -i tapX --among-src MAC -j RETURN` exits 4, "RULE_DELETE failed").
The linuxbridge agent deletes such rules whenever it sets a device up again (an agent restart
with live ports, a port update) and retries forever, so every later port stays DOWN. This
wrapper deletes such a rule by its number instead: it lists the chain with `--Ln`, finds the
rule whose options and values equal the requested ones (ebtables lists MACs without leading
zeros, among-lists in its own order), and runs `-D CHAIN N`. Every other command passes
through unchanged. It runs on Debian's Python; `onecloud lab up` installs it as `ebtables`
first on the agents' PATH (docs/lab.md). Standard library only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

REAL = "/usr/sbin/ebtables-nft"
AMONG = ("--among-src", "--among-dst")
_MAC = re.compile(r"^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$")


def _mac(text: str) -> str:
    return ":".join(f"{int(o, 16):x}" for o in text.split(":")) if _MAC.match(text) else text


def _value(option: str, value: str) -> str:
    value = value.lower()
    if option in AMONG:
        return ",".join(sorted(_mac(m) for m in value.split(",") if m))
    return "/".join(_mac(part) for part in value.split("/"))


def rule_key(tokens: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A rule as a sorted tuple of (option, values): equal for the command and its listing."""
    pairs: list[tuple[str, tuple[str, ...]]] = []
    option, negate = "", False
    values: list[str] = []
    for tok in tokens:
        if tok == "!":
            negate = True
        elif tok.startswith("-") and not tok.lstrip("-").isdigit():
            if option:
                pairs.append((option, tuple(values)))
            option, values = ("!" if negate else "") + tok, []
            negate = False
        else:
            values.append(_value(option.lstrip("!"), tok))
    if option:
        pairs.append((option, tuple(values)))
    return tuple(sorted(pairs))


def rule_number(listing: str, tokens: list[str]) -> int | None:
    """The number of the rule in `listing` (`-L CHAIN --Ln` output) equal to `tokens`."""
    wanted = rule_key(tokens)
    for line in listing.splitlines():
        head, _, rest = line.strip().partition(" ")
        if head.rstrip(".").isdigit() and rule_key(rest.split()) == wanted:
            return int(head.rstrip("."))
    return None


def split_delete(argv: list[str]) -> tuple[list[str], str, list[str]] | None:
    """(options before -D, chain, rule) for a delete by specification holding an among-list."""
    for i, tok in enumerate(argv):
        if tok in ("-D", "--delete") and i + 2 < len(argv):
            rule = argv[i + 2 :]
            if any(t in AMONG for t in rule):
                return argv[:i], argv[i + 1], rule
            return None
    return None


def main(argv: list[str]) -> int:
    found = split_delete(argv)
    if found is not None:
        prefix, chain, rule = found
        listing = subprocess.run(
            [REAL, *prefix, "-L", chain, "--Ln"], capture_output=True, text=True, check=False
        )
        number = rule_number(listing.stdout, rule) if listing.returncode == 0 else None
        if number is not None:
            return subprocess.run([REAL, *prefix, "-D", chain, str(number)], check=False).returncode
    os.execv(REAL, [REAL, *argv])
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

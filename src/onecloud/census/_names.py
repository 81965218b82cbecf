"""What a census string may hold, for every string that later becomes a name, a path or text.

Census values end up as host names, init scripts (`/etc/init.d/<service>`), database and table
names in SQL, rsync and tar arguments, OpenStack resource names and comments in generated YAML
that Ansible reads. They never become code: each kind has a conservative pattern and a length
limit, checked when the census is loaded, so a value such as `../../x`, `x'; touch /tmp/pwned`,
`{{ lookup('pipe','id') }}` or `$(id)` is refused at its `file:line` instead of reaching a shell,
a template or an API. docs/census.md lists the rules.

Pattern and length violations surface as pydantic's own errors (`_validation` gives each pattern
its fix); the checks that need more than a pattern raise `PydanticCustomError("census_value")`
with the fix in `ctx["fix"]`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

#: an id: lower-case letters, digits and dashes, starting with a letter and not ending with a
#: dash (a valid host name label; ids become host, server, project and stack names)
ID_PATTERN = r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$"
#: a service (init script), workload, category or flavor name
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
#: a Linux user name (`ssh_user`)
USER_PATTERN = r"^[a-z_][a-z0-9_-]*$"
#: a PostgreSQL (or MySQL) database name
DB_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
#: a table name: a plain SQL identifier
TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: an HTTP path for health checks
HEALTH_PATH_PATTERN = r"^/[A-Za-z0-9._~/-]*$"

#: a host name label (RFC 1123); server names `<system>-<n>` and `dr-<server>` must fit
LABEL_MAX = 63
#: servers are named `<system-id>-<n>` (n up to MAX_HOSTS) and their DR standbys
#: `dr-<system-id>-<n>`: both stay within one host name label
MAX_HOSTS = 999
SYSTEM_ID_MAX = LABEL_MAX - len("dr-") - len(f"-{MAX_HOSTS}")  # 56
#: Keystone names are at most 64 characters: the DR group `dr-<cloud>-<city>-<department>-admins`
#: (`public-` is the longer cloud) must fit
CITY_ID_MAX = 16
DEPARTMENT_ID_MAX = 64 - len("dr-public---admins") - CITY_ID_MAX  # 30
NAME_MAX = 63
USER_MAX = 32
DB_NAME_MAX = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1)
TABLE_MAX = 63
HEALTH_PATH_MAX = 255
PATH_MAX = 1024
TEXT_MAX = 200
REASON_MAX = 1000
ADDRESS_MAX = 64  # an IPv4 address or CIDR is far shorter; longer is no address

#: the fix shown for a value that does not match a pattern
PATTERN_FIX = {
    ID_PATTERN: (
        "use lower-case letters, digits and dashes, starting with a letter and not ending with "
        "a dash (e.g. edu-portal)"
    ),
    NAME_PATTERN: (
        "use lower-case letters, digits, dots, dashes and underscores, starting with a letter "
        "or digit (e.g. webapp)"
    ),
    USER_PATTERN: "use a Linux user name: lower-case letters, digits, dashes, underscores",
    DB_NAME_PATTERN: (
        "use lower-case letters, digits and underscores, not starting with a digit (e.g. permits)"
    ),
    TABLE_PATTERN: (
        "use letters, digits and underscores, not starting with a digit (e.g. records)"
    ),
    HEALTH_PATH_PATTERN: (
        "write an HTTP path of letters, digits and . _ ~ - / starting with / (e.g. /health)"
    ),
}

#: characters no census text may hold: control characters (line breaks, tabs, NUL, escapes),
#: Unicode line and paragraph separators, and bidirectional overrides (which hide text)
_BAD_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: template delimiters (Jinja, which Ansible evaluates in every string it reads)
_TEMPLATE = re.compile(r"\{[{%#]")

#: path characters: letters, digits and . _ - (no spaces, quotes or shell/template characters)
_PATH_PART = re.compile(r"[A-Za-z0-9._-]+")
#: top-level directories (and a few below them) a data path may never be: copying or replacing
#: them would copy or replace the host's system
_SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/sbin",
        "/usr/share",
        "/var/cache",
        "/var/lib",
        "/var/log",
        "/var/run",
        "/var/spool",
        "/var/tmp",
    }
)
#: kernel and runtime file systems: nothing below them is data
_VIRTUAL_DIRS = ("/dev/", "/proc/", "/run/", "/sys/")


def _refuse(what: str, fix: str) -> PydanticCustomError:
    return PydanticCustomError("census_value", "{what}", {"what": what, "fix": fix})


def check_text(value: str) -> str:
    """Free text (names, reasons): one line, no control characters, no template delimiters."""
    bad = _BAD_CHARS.search(value)
    if bad is not None:
        raise _refuse(
            f"holds the control character {bad.group()!r}",
            "write it on one line without control characters",
        )
    tpl = _TEMPLATE.search(value)
    if tpl is not None:
        raise _refuse(
            f"holds the template delimiter `{tpl.group()}`",
            "write plain text (`{{`, `{%` and `{#` would be evaluated by Ansible)",
        )
    return value


def path_problem(value: str) -> str | None:
    """What is wrong with a data path or SQLite file path, or None when it is acceptable."""
    if not value.startswith("/"):
        return "is not an absolute path"
    if value == "/":
        return "is the root directory"
    if value.endswith("/"):
        return "ends with `/`"
    parts = value[1:].split("/")
    for part in parts:
        if part == "":
            return "holds an empty component (`//`)"
        if part in (".", ".."):
            return f"holds a `{part}` component"
        if _PATH_PART.fullmatch(part) is None:
            return "holds a character other than letters, digits, `.`, `_`, `-` and `/`"
    if value in _SYSTEM_DIRS or re.fullmatch(r"/(usr/)?lib[a-z0-9]*", value):
        return "is a system directory"
    if value.startswith(_VIRTUAL_DIRS):
        return f"is inside {value[: value.index('/', 1)]}, a kernel or runtime file system"
    return None


def check_path(value: str) -> str:
    problem = path_problem(value)
    if problem is not None:
        raise _refuse(
            problem,
            "write the normalised absolute path of the system's own data (e.g. /srv/app/data, "
            "/var/lib/app)",
        )
    return value


Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=LABEL_MAX)]
SystemId = Annotated[str, Field(pattern=ID_PATTERN, max_length=SYSTEM_ID_MAX)]
DepartmentId = Annotated[str, Field(pattern=ID_PATTERN, max_length=DEPARTMENT_ID_MAX)]
CityId = Annotated[str, Field(pattern=ID_PATTERN, max_length=CITY_ID_MAX)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=NAME_MAX)]
UserName = Annotated[str, Field(pattern=USER_PATTERN, max_length=USER_MAX)]
TableName = Annotated[str, Field(pattern=TABLE_PATTERN, max_length=TABLE_MAX)]
HealthPath = Annotated[str, Field(pattern=HEALTH_PATH_PATTERN, max_length=HEALTH_PATH_MAX)]
DataPath = Annotated[str, Field(max_length=PATH_MAX), AfterValidator(check_path)]
Text = Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(check_text)]
Reason = Annotated[str, Field(min_length=3, max_length=REASON_MAX), AfterValidator(check_text)]
Address = Annotated[str, Field(max_length=ADDRESS_MAX)]


def check_database_name(engine: str | None, value: str) -> str:
    """A SQLite database is a file path; other engines name a database."""
    if engine is None:  # the engine is invalid and reported; its name is not checked
        return value
    if engine == "sqlite":
        return check_path(value)
    if len(value) > DB_NAME_MAX:
        raise _refuse(
            f"is longer than {DB_NAME_MAX} characters (the limit of a {engine} database name)",
            f"shorten it to at most {DB_NAME_MAX} characters",
        )
    if re.fullmatch(DB_NAME_PATTERN, value) is None:
        raise _refuse(
            f"is no {engine} database name matching {DB_NAME_PATTERN!r}",
            PATTERN_FIX[DB_NAME_PATTERN],
        )
    return value

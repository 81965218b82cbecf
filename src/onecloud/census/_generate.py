"""A seeded generator of province-scale censuses (for benchmarks and tests).

Same spec, same files, byte for byte. The shape follows the programme's figures: about 60
departments and 100+ machine rooms for 800 systems, one or two private networks per department
(some with overlapping CIDRs), ~30% zombie or shadow systems, duplicated mail and video
conferencing, and about `deps_per_system` dependencies per system, mostly acyclic with a few cycles.
The output passes `onecloud census check` and `onecloud plan`.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from onecloud.errors import UsageError

CITIES = [
    ("guangzhou", "广州市"), ("shenzhen", "深圳市"), ("zhuhai", "珠海市"), ("shantou", "汕头市"),
    ("foshan", "佛山市"), ("shaoguan", "韶关市"), ("heyuan", "河源市"), ("meizhou", "梅州市"),
    ("huizhou", "惠州市"), ("shanwei", "汕尾市"), ("dongguan", "东莞市"), ("zhongshan", "中山市"),
    ("jiangmen", "江门市"), ("yangjiang", "阳江市"), ("zhanjiang", "湛江市"), ("maoming", "茂名市"),
    ("zhaoqing", "肇庆市"), ("qingyuan", "清远市"), ("chaozhou", "潮州市"), ("jieyang", "揭阳市"),
    ("yunfu", "云浮市"),
]  # fmt: skip
AGENCIES = [
    ("edu", "教育"), ("health", "卫生健康"), ("civil", "民政"), ("hrss", "人力资源社会保障"),
    ("nr", "自然资源"), ("env", "生态环境"), ("housing", "住房城乡建设"), ("transport", "交通运输"),
    ("water", "水利"), ("agri", "农业农村"), ("commerce", "商务"), ("culture", "文化和旅游"),
    ("emergency", "应急管理"), ("market", "市场监督管理"), ("stats", "统计"), ("tax", "税务"),
    ("finance", "财政"), ("police", "公安"), ("justice", "司法"), ("audit", "审计"),
]  # fmt: skip
LEVEL_WEIGHTS = (("province", 0.4), ("city", 0.3), ("county", 0.2), ("township", 0.1))
STATUS_WEIGHTS = (("in_use", 0.62), ("zombie", 0.16), ("shadow", 0.14), ("unknown", 0.08))
CATEGORY_WEIGHTS = (
    ("business", 0.55), ("portal", 0.15), ("mail", 0.12), ("video_conference", 0.06),
    ("database", 0.07), ("office", 0.05),
)  # fmt: skip
CENSUS_DATE = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class GeneratorSpec:
    systems: int = 800
    departments: int | None = None  # None: about 60 per 800 systems
    seed: int = 1
    deps_per_system: float = 3.0


def _pick(rng: random.Random, weights: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]


def generate(spec: GeneratorSpec) -> dict[str, Any]:
    """The census as {file name: data}."""
    if spec.systems < 1:
        raise UsageError("--systems must be at least 1")
    rng = random.Random(spec.seed)
    ndept = spec.departments or max(3, round(spec.systems * 60 / 800))
    cities = CITIES[: max(1, min(len(CITIES), ndept // 3))]
    depts: list[dict[str, Any]] = []
    for i in range(ndept):
        level = "province" if i == 0 else _pick(rng, LEVEL_WEIGHTS)
        code, cn = AGENCIES[i % len(AGENCIES)]
        city = None if level == "province" else cities[rng.randrange(len(cities))]
        did = f"{code}-{i:03d}" if city is None else f"{code}-{city[0]}-{i:03d}"
        where = "省" if city is None else city[1]
        suffix = {"province": "厅", "city": "局", "county": "区局", "township": "所"}[level]
        dept = {"id": did, "name": f"{where}{cn}{suffix}{i:03d}", "level": level}
        if city:
            dept["city"] = city[0]
        depts.append(dept)

    rooms: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    dept_rooms: dict[str, list[str]] = {}
    used_cidrs: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    dept_nets: dict[str, list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]]] = {}
    for i, d in enumerate(depts):
        nrooms = 1 + (rng.random() < 0.7)
        dept_rooms[d["id"]] = []
        for r in range(nrooms):
            rid = f"{d['id']}-room{r + 1}"
            room = {"id": rid, "name": f"{d['name']}机房{r + 1}", "department": d["id"]}
            if "city" in d:
                room["city"] = d["city"]
            rooms.append(room)
            dept_rooms[d["id"]].append(rid)
        dept_nets[d["id"]] = []
        for k in range(1 + (rng.random() < 0.15)):
            if used_cidrs and rng.random() < 0.12:
                # the same addressing plan reused by another department: what renumbering fixes
                cidr = used_cidrs[rng.randrange(len(used_cidrs))]
            else:
                cidr = ipaddress.ip_network(f"10.{8 + (i * 2 + k) % 240}.0.0/16")
            used_cidrs.append(cidr)
            nid = f"{d['id']}-net{k + 1}"
            networks.append(
                {
                    "id": nid,
                    "name": f"{d['name']}专网{k + 1}",
                    "department": d["id"],
                    "cidrs": [str(cidr)],
                    "classification": "intranet" if rng.random() < 0.6 else "extranet",
                    "egress": rng.random() < 0.5,
                }
            )
            dept_nets[d["id"]].append((nid, cidr))

    # systems, spread over departments (every department keeps at least one)
    owners = [i % ndept if i < ndept else rng.randrange(ndept) for i in range(spec.systems)]
    dept_files: dict[str, dict[str, Any]] = {
        d["id"]: {"department": d, "hosts": [], "systems": []} for d in depts
    }
    next_host: dict[str, int] = {}
    live: list[str] = []
    by_dept_live: dict[str, list[str]] = {}
    all_systems: list[tuple[str, dict[str, Any]]] = []
    for n in range(spec.systems):
        d = depts[owners[n]]
        did = d["id"]
        status = _pick(rng, STATUS_WEIGHTS)
        category = _pick(rng, CATEGORY_WEIGHTS)
        sid = f"sys-{n:05d}"
        hosts: list[str] = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            nid, cidr = dept_nets[did][rng.randrange(len(dept_nets[did]))]
            idx = next_host.get(nid, 10)
            next_host[nid] = idx + 1
            hid = f"{sid}-h{len(hosts) + 1}"
            cpus = rng.choice((1, 2, 2, 4, 4, 8, 16))
            dept_files[did]["hosts"].append(
                {
                    "id": hid,
                    "address": str(cidr.network_address + idx),
                    "room": rng.choice(dept_rooms[did]),
                    "network": nid,
                    "os": rng.choice(("CentOS 7", "Debian 12", "Windows Server 2012", "Kylin V10")),
                    "cpus": cpus,
                    "memory_mb": cpus * rng.choice((1024, 2048, 4096)),
                    "disk_gb": rng.choice((40, 100, 200, 500)),
                }
            )
            hosts.append(hid)
        if status == "zombie":
            last = CENSUS_DATE - dt.timedelta(days=rng.randrange(200, 1500))
            users = 0
        elif status == "unknown" and rng.random() < 0.5:
            last = CENSUS_DATE - dt.timedelta(days=rng.randrange(190, 900))
            users = 0
        else:
            last = CENSUS_DATE - dt.timedelta(days=rng.randrange(0, 30))
            users = rng.randrange(1, 5000)
        mlps = rng.choices((1, 2, 3, 4), (0.15, 0.55, 0.27, 0.03))[0]
        system: dict[str, Any] = {
            "id": sid,
            "name": f"{d['name']}业务系统{n:05d}",
            "category": category,
            "hosts": hosts,
            "status": status,
            "usage": {
                "last_access": last,
                "active_users": users,
                "cpu_percent": round(rng.uniform(0, 60 if users else 2), 1),
            },
            "audience": "public" if rng.random() < 0.35 else "internal",
            "protection_level": mlps,
            "data": {
                "paths": [f"/srv/{sid}/data"],
                "size_gb": round(min(rng.lognormvariate(2.5, 1.5), 1500), 1),
            },
            "services": [{"name": "app", "port": 8080, "health_path": "/health"}],
            "rpo_minutes": rng.choice((5, 15, 60, 240, 1440, 10080)),
            "rto_minutes": rng.choice((30, 60, 240, 1440, 4320)),
            "owner": f"owner{rng.randrange(1000):03d}",
            "deadline": dt.date(2027, rng.randrange(1, 13), 28),
        }
        if category in ("database", "business") and rng.random() < 0.5:
            system["services"].append({"name": "postgresql", "port": 5432})
            system["data"]["databases"] = [
                {"engine": "postgresql", "name": sid.replace("-", "_"), "tables": ["records"]}
            ]
        all_systems.append((did, system))
        if status == "in_use" or (status == "unknown" and users > 0):  # what the plan keeps
            live.append(sid)
            by_dept_live.setdefault(did, []).append(sid)

    # dependencies on live systems only (a dependency on a retired system is refused: by the
    # census for zombies and shadows, by the plan for unknown systems nobody uses)
    live_index = {sid: i for i, sid in enumerate(live)}
    for did, system in all_systems:
        want = int(spec.deps_per_system) + (rng.random() < spec.deps_per_system % 1)
        deps: set[str] = set()
        pos = live_index.get(system["id"], len(live))
        for _ in range(want * 2):
            if len(deps) >= want or not live:
                break
            local = by_dept_live.get(did, [])
            if local and rng.random() < 0.5:
                cand = local[rng.randrange(len(local))]
                if live_index[cand] >= pos and rng.random() > 0.05:
                    continue  # mostly acyclic: depend on earlier systems; a few cycles
            elif pos > 0 and rng.random() > 0.02:
                cand = live[rng.randrange(min(pos, len(live)))]
            else:
                cand = live[rng.randrange(len(live))]
            if cand != system["id"]:
                deps.add(cand)
        if deps:
            system["depends_on"] = sorted(deps)
        dept_files[did]["systems"].append(system)

    sites = _sites(depts, cities, rooms)
    files: dict[str, Any] = {"sites.yml": sites, "networks.yml": {"networks": networks}}
    for did, data in dept_files.items():
        files[f"dept-{did}.yml"] = data
    return files


def _sites(
    depts: list[dict[str, Any]], cities: list[tuple[str, str]], rooms: list[dict[str, Any]]
) -> dict[str, Any]:
    clouds: list[dict[str, Any]] = [
        {
            "id": "public-province",
            "name": "省级政务公共服务云",
            "kind": "public",
            "level": "province",
        },
        {
            "id": "admin-province",
            "name": "省级政务行政服务云",
            "kind": "admin",
            "level": "province",
        },
    ]
    segments: list[dict[str, Any]] = [
        {"name": "extranet-province", "network": "extranet", "level": "province",
         "cidr": "172.16.0.0/16"},
        {"name": "intranet-province", "network": "intranet", "level": "province",
         "cidr": "172.17.0.0/16"},
    ]  # fmt: skip
    for i, (cid, cname) in enumerate(cities):
        for kind, label in (("public", "公共服务云"), ("admin", "行政服务云")):
            clouds.append(
                {"id": f"{kind}-{cid}", "name": f"{cname}政务{label}", "kind": kind,
                 "level": "city", "city": cid}
            )  # fmt: skip
        base = ipaddress.ip_network(f"172.{32 + i}.0.0/16")
        parts = list(base.subnets(new_prefix=18))
        for part, (net, level) in zip(
            parts,
            (("extranet", "city"), ("extranet", "county"), ("extranet", "township"),
             ("intranet", "city")),
            strict=True,
        ):  # fmt: skip
            segments.append(
                {"name": f"{net}-{level}-{cid}", "network": net, "level": level, "city": cid,
                 "cidr": str(part)}
            )  # fmt: skip
    return {
        "province": "示范省",
        "census_date": CENSUS_DATE,
        "cities": [{"id": c, "name": n} for c, n in cities],
        "rooms": rooms,
        "clouds": clouds,
        "dr_center": {"id": "dr-province", "name": "省市共享灾备中心"},
        "segments": segments,
        "shared_platforms": [
            {"id": "shared-mail", "name": "全省统一政务邮件平台", "category": "mail"},
            {"id": "shared-video", "name": "全省统一视频会议平台", "category": "video_conference"},
        ],
    }


def dump(data: Any) -> str:
    y = YAML(typ="safe", pure=False)
    y.default_flow_style = False
    y.allow_unicode = True
    y.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def write_census(spec: GeneratorSpec, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the generated census files; refuse to overwrite an existing census unless forced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(out_dir.glob("*.yml"))
    if existing and not force:
        raise UsageError(
            f"{out_dir} already holds census files ({existing[0].name}, ...)",
            hint="choose an empty directory or pass --force",
        )
    for p in existing:
        p.unlink()
    written = []
    for name, data in generate(spec).items():
        path = out_dir / name
        path.write_text(dump(data), encoding="utf-8")
        written.append(path)
    return written

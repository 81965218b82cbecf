"""The dashboard: one self-contained HTML file rendered from the figures document.

No network fetch of any kind (the intranets are air-gapped): the CSS is inline, the charts are
inline SVG (see `_charts`), and the only script is a few lines that sort tables. Every headline
number carries `data-figure="<key>"` and shows exactly the document's value, so a test (or a
reader) can check the page against `--format json`.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from onecloud.report._palette import COLORS

__all__ = ["render_html"]

_CSS = """
:root { --done: #COMPLETED; --moving: #MOVING; --failed: #FAILED; --planned: #PLANNED; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0;
       color: #1b1b1b; background: #f6f7f9; }
header, main { max-width: 1320px; margin: 0 auto; padding: 12px 20px; }
header { border-bottom: 3px solid var(--done); background: #fff; max-width: none; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 12px; }
.note { color: #8a5300; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: 8px 12px; }
.card .label { color: #555; font-size: 12px; }
.card .num { font-size: 26px; font-weight: 600; }
.card .of { color: #666; }
.card.failed .num { color: var(--failed); } .card.done .num { color: var(--done); }
.card.behind .num { color: #b26a00; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px; }
.chartbox { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: 6px; }
.chartbox.wide { grid-column: 1 / -1; }
svg.chart { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e1e4e8; padding: 3px 6px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eef1f5; position: sticky; top: 0; }
th[data-sort] { cursor: pointer; user-select: none; }
th[data-sort]::after { content: " \\2195"; color: #999; }
tr.behind td { background: #fff4e0; }
tr.behind td:first-child { border-left: 4px solid #e69500; }
.state { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; }
.state.completed { background: var(--done); } .state.moving { background: var(--moving); }
.state.failed { background: var(--failed); }
.state.planned { background: var(--planned); color: #222; }
code { font-size: 12px; background: #f0f0f0; padding: 0 3px; }
.err { color: var(--failed); max-width: 420px; overflow-wrap: anywhere; }
.legend span { margin-right: 12px; }
@media print {
  body { background: #fff; font-size: 10pt; }
  header, main { max-width: none; padding: 0; }
  .noprint { display: none; }
  .charts { display: block; }
  .chartbox { break-inside: avoid; border: none; }
  th { position: static; }
  th[data-sort]::after { content: ""; }
  tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  tr.behind td { background: #fff4e0 !important; -webkit-print-color-adjust: exact;
                 print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""

for _bucket, _colour in COLORS.items():
    _CSS = _CSS.replace(f"#{_bucket.upper()}", _colour)

#: sort a table by the clicked column: numbers numerically (data-v when given), else as text
_JS = """
document.querySelectorAll("th[data-sort]").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], i = th.cellIndex;
    var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
    th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
    var key = function (tr) {
      var c = tr.cells[i], v = c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent;
      var n = parseFloat(v);
      return isNaN(n) || String(n) !== v.trim() ? v.trim().toLowerCase() : n;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return x < y ? -dir : x > y ? dir : 0;
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _fig(key: str, value: Any) -> str:
    """A headline number: its text is the document's value, exactly (as JSON)."""
    return f'<span class="num-value" data-figure="{_e(key)}">{_e(json.dumps(value))}</span>'


def _card(label: str, key: str, h: dict[str, Any], of: str | None = None, cls: str = "") -> str:
    tail = f' <span class="of">of {_fig(of, h[of])} planned</span>' if of else ""
    return (
        f'<div class="card {cls}"><div class="label">{_e(label)}</div>'
        f'<div><span class="num">{_fig(key, h[key])}</span>{tail}</div></div>'
    )


def _table(head: list[tuple[str, bool]], rows: list[str], cls: str = "") -> str:
    ths = "".join(
        f"<th data-sort{' class=n' if numeric else ''}>{_e(title)}</th>" for title, numeric in head
    )
    return (
        f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _n(value: Any) -> str:
    return f'<td class="n">{_e(value)}</td>'


def _state(bucket: str) -> str:
    return f'<span class="state {_e(bucket)}">{_e(bucket)}</span>'


def _downtime(seconds: float | None) -> str:
    if seconds is None:
        return '<td class="n" data-v="-1">–</td>'
    return f'<td class="n" data-v="{seconds:g}">{seconds:.0f} s</td>'


def _headline(doc: dict[str, Any]) -> str:
    h = doc["headline"]
    cards = [
        _card("systems in the census", "systems_census", h),
        _card("migrated (completed)", "migrated", h, "migrate_planned", "done"),
        _card("moving", "moving", h),
        _card("failed", "failed", h, cls="failed"),
        _card("waiting", "waiting", h),
        _card("behind schedule", "behind_schedule", h, cls="behind"),
        _card("zombie/shadow retired", "retired", h, "retire_planned", "done"),
        _card("consolidated (planned)", "consolidated_planned", h),
        _card("retained (planned)", "retained_planned", h),
        _card("machine rooms vacated", "rooms_vacated", h, "rooms_vacated_planned", "done"),
        _card(
            "private networks vacated", "networks_vacated", h, "networks_vacated_planned", "done"
        ),
        _card("waves complete", "waves_complete", h, "waves"),
    ]
    if "egress_before" in h:
        cards.append(
            '<div class="card"><div class="label">internet egress points</div>'
            f'<div><span class="num">{_fig("egress_before", h["egress_before"])} → '
            f"{_fig('egress_after_planned', h['egress_after_planned'])}</span>"
            ' <span class="of">(planned)</span></div></div>'
        )
    rest = [k for k in h if k not in {"egress_before", "egress_after_planned"}]
    shown = {
        "systems_census",
        "migrated",
        "migrate_planned",
        "moving",
        "failed",
        "waiting",
        "behind_schedule",
        "retired",
        "retire_planned",
        "consolidated_planned",
        "retained_planned",
        "rooms_vacated",
        "rooms_vacated_planned",
        "networks_vacated",
        "networks_vacated_planned",
        "waves_complete",
        "waves",
    }
    extra = [
        f"<tr><td>{_e(k)}</td><td class=n>{_fig(k, h[k])}</td></tr>" for k in rest if k not in shown
    ]
    return (
        f'<section id="headline"><h2>Headline</h2><div class="cards">{"".join(cards)}</div>'
        f'<details class="more"><summary>more figures</summary><table>{"".join(extra)}</table>'
        "</details></section>"
    )


def _charts(svgs: dict[str, str]) -> str:
    boxes = [
        f'<div class="chartbox{" wide" if name == "waves" else ""}" id="chart-{name}">{svg}</div>'
        for name, svg in svgs.items()
    ]
    return (
        f'<section id="charts"><h2>Charts</h2><div class="charts">{"".join(boxes)}</div></section>'
    )


def _failures(doc: dict[str, Any]) -> str:
    if not doc["failures"]:
        return '<section id="failures"><h2>Failures</h2><p>None.</p></section>'
    rows = [
        f'<tr><td><a href="#system-{_e(f["id"])}">{_e(f["id"])}</a></td>{_n(f["wave"])}'
        f"<td>{_e(f['ledger_state'])}{' (rollback pending)' if f['rollback_pending'] else ''}</td>"
        f'<td class="err">{_e(f["last_error"])}</td><td>{_e(f["updated_at"])}</td>'
        f"<td><code>{_e(f['command'])}</code></td></tr>"
        for f in doc["failures"]
    ]
    head = [
        ("system", False),
        ("wave", True),
        ("ledger state", False),
        ("last error", False),
        ("when", False),
        ("ledger entry", False),
    ]
    return f'<section id="failures"><h2>Failures</h2>{_table(head, rows)}</section>'


def _waves(doc: dict[str, Any]) -> str:
    rows = []
    for w in doc["waves"]:
        c = w["counts"]
        rows.append(
            f'<tr class="{"behind" if w["behind_schedule"] else ""}">{_n(w["number"])}'
            f"<td>{_e(w['deadline'])}</td>{_n(w['systems_planned'])}{_n(c['completed'])}"
            f"{_n(c['moving'])}{_n(c['failed'])}{_n(c['planned'])}{_n(w['data_gb'])}"
            f"{_downtime(w['downtime_seconds_max'])}"
            f"<td>{_e(', '.join(w['rooms_vacated']))}</td>"
            f"<td>{_e(', '.join(w['networks_vacated']))}</td>"
            f"<td>{'yes' if w['complete'] else ''}</td></tr>"
        )
    head = [
        ("wave", True),
        ("deadline", False),
        ("systems", True),
        ("completed", True),
        ("moving", True),
        ("failed", True),
        ("planned", True),
        ("data GB", True),
        ("max downtime", True),
        ("rooms vacated", False),
        ("networks vacated", False),
        ("complete", False),
    ]
    return f'<section id="waves"><h2>Waves</h2>{_table(head, rows)}</section>'


def _systems(doc: dict[str, Any]) -> str:
    rows = []
    for w in doc["waves"]:
        for s in w["systems"]:
            link = (
                f' <a href="#failures" title="{_e(s["command"])}">ledger</a>'
                if s["state"] == "failed"
                else ""
            )
            rows.append(
                f'<tr id="system-{_e(s["id"])}" class="{"behind" if s["behind_schedule"] else ""}">'
                f"<td>{_e(s['id'])}</td><td>{_e(s['name'])}</td>{_n(s['wave'])}"
                f"<td>{_e(s['department'])}</td><td>{_e(s['city'])}</td>"
                f'<td data-v="{_e(s["state"])}">{_state(s["state"])}{link}</td>'
                f"<td>{_e(s['ledger_state'] or '–')}</td>{_downtime(s['downtime_seconds'])}"
                f'<td>{_e(s["deadline"])}</td><td class="err">{_e(s["last_error"])}</td></tr>'
            )
    head = [
        ("system", False),
        ("name", False),
        ("wave", True),
        ("department", False),
        ("city", False),
        ("state", False),
        ("ledger state", False),
        ("downtime", True),
        ("deadline", False),
        ("last error", False),
    ]
    return (
        '<section id="systems"><h2>Systems by wave</h2><p class="meta noprint">Click a column'
        " heading to sort. Highlighted rows are behind schedule (their wave's deadline has"
        f" passed and they are not completed).</p>{_table(head, rows)}</section>"
    )


def _groups(title: str, anchor: str, rows_in: list[dict[str, Any]]) -> str:
    rows = [
        f'<tr class="{"behind" if r["behind_schedule"] else ""}"><td>{_e(r["label"])}</td>'
        f"{_n(r['migrate_planned'])}{_n(r['migrated'])}{_n(r['moving'])}{_n(r['failed'])}"
        f"{_n(r['waiting'])}{_n(r['behind'])}{_n(r['retire_planned'])}{_n(r['retired'])}"
        f"{_n(r['consolidated'])}{_n(r['retained'])}</tr>"
        for r in rows_in
    ]
    head = [
        ("", False),
        ("migrate planned", True),
        ("migrated", True),
        ("moving", True),
        ("failed", True),
        ("waiting", True),
        ("behind", True),
        ("retire planned", True),
        ("retired", True),
        ("consolidated (planned)", True),
        ("retained (planned)", True),
    ]
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{_table(head, rows)}</section>'


def _networks(doc: dict[str, Any]) -> str:
    levels = [
        f"<tr><td>{_e(lv['network'])}</td><td>{_e(lv['level'])}</td>{_n(lv['segments'])}"
        f"{_n(lv['planned'])}{_n(lv['done'])}</tr>"
        for lv in doc["network_levels"]
    ]
    segs = [
        f"<tr><td>{_e(g['name'])}</td><td>{_e(g['network'])}</td><td>{_e(g['level'])}</td>"
        f"<td>{_e(g['city'])}</td><td>{_e(g['cidr'])}</td>{_n(g['planned'])}{_n(g['done'])}"
        f"<td>{_e(', '.join(g['systems']))}</td></tr>"
        for g in doc["segments"]
    ]
    lhead = [
        ("network", False),
        ("level", False),
        ("segments", True),
        ("systems planned", True),
        ("migrated", True),
    ]
    shead = [
        ("segment", False),
        ("network", False),
        ("level", False),
        ("city", False),
        ("CIDR", False),
        ("planned", True),
        ("migrated", True),
        ("systems", False),
    ]
    return (
        f'<section id="networks"><h2>Network segments</h2>{_table(lhead, levels)}'
        f"<h3>Segments</h3>{_table(shead, segs)}</section>"
    )


def render_html(doc: dict[str, Any]) -> str:
    """The dashboard page for a figures document (see `figures`)."""
    # matplotlib (~0.6 s to import) loads only when a page is drawn, not for every report
    from onecloud.report._charts import charts

    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in doc["notes"])
    body = "".join(
        [
            _headline(doc),
            _charts(charts(doc)),
            _failures(doc),
            _waves(doc),
            _systems(doc),
            _groups("By city", "by-city", doc["by_city"]),
            _groups("By department", "by-department", doc["by_department"]),
            _networks(doc),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Programme progress {_e(doc['today'])}</title><style>{_CSS}</style></head>"
        f'<body><header><h1>One cloud: programme progress</h1><div class="meta">as of'
        f' <span id="today">{_e(doc["today"])}</span> · states from {_e(doc["ledger"]["source"])}'
        f" · census {_e(doc['census_digest'][:12])} · planned figures come from the plan, done"
        f" figures from the migration ledger</div>{notes}</header><main>{body}</main>"
        f"<script>{_JS}</script></body></html>\n"
    )

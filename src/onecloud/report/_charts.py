"""The dashboard's charts, drawn by matplotlib (a bare `Figure` saved as SVG: no pyplot, no
GUI backend) from the figures document.

Each chart is an inline `<svg>` string: text stays text (`svg.fonttype: none`), so the file is
small, prints sharply and needs no fonts or scripts. Output is deterministic (fixed hash salt
per chart, no date in the metadata), so the same document gives the same page.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from onecloud.report._palette import COLORS

__all__ = ["COLORS", "charts"]

#: one colour per bucket, shared by the charts and the page's tables

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 72,
}

_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_ROOT = re.compile(r"<svg[^>]*?>", re.S)


def _svg(
    name: str, draw: Callable[[Axes], None], size: tuple[float, float], left: float = 0.6
) -> str:
    """`draw` on one axes of `size` inches, as an inline SVG. Margins are fixed (`left` inches
    for the y labels): a layout engine would lay out every tick label twice, for no gain."""
    rc: Any = {**_RC, "svg.hashsalt": f"onecloud-{name}"}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=size)
        w, h = size
        fig.subplots_adjust(left=left / w, right=1 - 0.15 / w, bottom=0.5 / h, top=1 - 0.35 / h)
        draw(fig.add_subplot())
        buf = io.StringIO()
        with warnings.catch_warnings():
            # a name the default font has no glyph for: the browser draws the text anyway
            warnings.simplefilter("ignore", UserWarning)
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = _METADATA.sub("", text[text.index("<svg") :])  # RDF namespaces: no use inline
    root = _ROOT.search(text)
    assert root is not None
    tag = re.sub(r'\s(width|height)="[^"]*"', "", root.group(0))
    tag = tag.replace("<svg", f'<svg class="chart" data-chart="{name}" role="img"', 1)
    return text[: root.start()] + tag + text[root.end() :]


def _stacked(
    ax: Axes, labels: list[str], series: dict[str, list[int]], *, horizontal: bool
) -> None:
    base = [0] * len(labels)
    pos = list(range(len(labels)))
    for bucket, values in series.items():
        if horizontal:
            ax.barh(pos, values, left=base, color=COLORS[bucket], label=bucket, height=0.7)
        else:
            ax.bar(pos, values, bottom=base, color=COLORS[bucket], label=bucket, width=0.8)
        base = [b + v for b, v in zip(base, values, strict=True)]
    if horizontal:
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
    else:
        step = max(1, len(labels) // 30)
        ax.set_xticks(pos[::step], labels[::step])
        ax.grid(axis="x", visible=False)
    _legend(ax)


def _legend(ax: Axes) -> None:
    """Above the axes, right of the title: never over a bar."""
    ax.legend(
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=4,
        frameon=False,
        fontsize=8,
        borderaxespad=0.1,
    )


def _progress(doc: dict[str, Any]) -> Callable[[Axes], None]:
    h = doc["headline"]
    items = [
        ("systems migrated", h["migrate_planned"], h["migrated"]),
        ("zombie/shadow retired", h["retire_planned"], h["retired"]),
        ("machine rooms vacated", h["rooms_vacated_planned"], h["rooms_vacated"]),
        ("private networks vacated", h["networks_vacated_planned"], h["networks_vacated"]),
    ]

    def draw(ax: Axes) -> None:
        pos = list(range(len(items)))
        ax.barh(
            [p - 0.2 for p in pos],
            [i[1] for i in items],
            0.4,
            color=COLORS["planned"],
            label="planned",
        )
        ax.barh(
            [p + 0.2 for p in pos],
            [i[2] for i in items],
            0.4,
            color=COLORS["completed"],
            label="done",
        )
        ax.set_yticks(pos, [i[0] for i in items])
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        _legend(ax)
        ax.set_title("Planned vs done", loc="left")

    return draw


def _waves(doc: dict[str, Any]) -> Callable[[Axes], None]:
    waves = doc["waves"]

    def draw(ax: Axes) -> None:
        labels = [str(w["number"]) for w in waves]
        series = {
            b: [w["counts"][b] for w in waves] for b in ("completed", "moving", "failed", "planned")
        }
        _stacked(ax, labels, series, horizontal=False)
        ax.set_xlim(-0.6, max(len(labels), 8) - 0.4)  # a few waves: bars of a sane width
        ax.set_xlabel("wave")
        ax.set_ylabel("systems")
        ax.set_title("Systems per wave by state", loc="left")

    return draw


def _day(iso: str) -> float:
    """An ISO date as matplotlib's date number (days)."""
    return float(mdates.date2num(date.fromisoformat(iso)))


def _burnup(doc: dict[str, Any]) -> Callable[[Axes], None]:
    b = doc["burnup"]

    def draw(ax: Axes) -> None:
        days = [_day(p["date"]) for p in b["planned"] + b["actual"]] + [_day(doc["today"])]
        start = min(days) - 7  # both lines rise from zero, a week before the first date
        if b["planned"]:
            xs = [start] + [_day(p["date"]) for p in b["planned"]]
            ax.step(
                xs,
                [0] + [p["cumulative"] for p in b["planned"]],
                where="post",
                color=COLORS["plan"],
                linestyle="--",
                label="due by wave deadlines",
            )
        if b["actual"]:
            xs = [start] + [_day(p["date"]) for p in b["actual"]]
            ax.step(
                xs,
                [0] + [p["cumulative"] for p in b["actual"]],
                where="post",
                color=COLORS["completed"],
                marker="o",
                markersize=3,
                label="completed",
            )
        ax.axhline(b["total"], color=COLORS["planned"], linewidth=1, label="to migrate")
        ax.axvline(
            _day(doc["today"]),
            color="#888",
            linewidth=0.8,
            linestyle=":",
            label="today",
        )
        ax.set_xlim(start, max(days) + 7)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_ylim(0, max(1, b["total"]) * 1.05)
        ax.set_ylabel("systems (cumulative)")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        ax.set_title("Burn-up: completed vs due", loc="left")

    return draw


def _cities(doc: dict[str, Any]) -> Callable[[Axes], None]:
    rows = doc["by_city"]

    def draw(ax: Axes) -> None:
        series = {
            "completed": [r["migrated"] for r in rows],
            "moving": [r["moving"] for r in rows],
            "failed": [r["failed"] for r in rows],
            "planned": [r["waiting"] for r in rows],
        }
        _stacked(ax, [r["label"] for r in rows], series, horizontal=True)
        ax.set_xlabel("systems to migrate")
        ax.set_title("By city", loc="left")

    return draw


def charts(doc: dict[str, Any]) -> dict[str, str]:
    """name -> inline SVG of each chart of the page."""
    n_cities = len(doc["by_city"])
    return {
        "progress": _svg("progress", _progress(doc), (6.0, 2.6), left=1.9),
        "burnup": _svg("burnup", _burnup(doc), (6.0, 2.6)),
        "waves": _svg("waves", _waves(doc), (12.0, 2.8), left=0.7),
        "cities": _svg("cities", _cities(doc), (6.0, max(2.0, 0.22 * n_cities + 0.9)), left=1.1),
    }

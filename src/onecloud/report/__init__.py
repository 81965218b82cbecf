"""Progress views of the programme: the plan joined with the migration ledger's view."""

from onecloud.report._document import figures
from onecloud.report._figures import Progress, Row, progress
from onecloud.report._html import render_html
from onecloud.report._render import render_markdown, render_rich

__all__ = [
    "Progress",
    "Row",
    "figures",
    "progress",
    "render_html",
    "render_markdown",
    "render_rich",
]

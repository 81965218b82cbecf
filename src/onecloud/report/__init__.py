"""Progress views of the programme: the plan joined with the migration ledger's view."""

from onecloud.report._figures import Progress, Row, progress
from onecloud.report._render import render_markdown, render_rich

__all__ = ["Progress", "Row", "progress", "render_markdown", "render_rich"]

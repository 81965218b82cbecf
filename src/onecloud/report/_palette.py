"""The dashboard's colours, one per state bucket: the page's CSS and its charts share them."""

COLORS = {
    "completed": "#2e7d32",
    "moving": "#1565c0",
    "failed": "#c62828",
    "planned": "#b0bec5",
    "plan": "#6d4c41",
}

from __future__ import annotations

import sys
from pathlib import Path

# census_cases.py: builds census directories for the data-driven cases (census and plan tests)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "census"))

"""DR tier from RPO/RTO and MLPS level (the shared DR centre protects every migrated system).

- hot: RPO <= 15 min, or MLPS level >= 3 (continuous replication to the DR centre);
- warm: RPO or RTO <= 4 h (frequent snapshots, standby capacity reserved);
- none: MLPS level 1 with no objective tighter than a day;
- backup: everything else (daily backups to the DR centre).
"""

from __future__ import annotations

DAY = 24 * 60


def dr_tier(rpo: int | None, rto: int | None, level: int) -> tuple[str, str]:
    """(tier, why)."""
    if rpo is not None and rpo <= 15:
        return "hot", f"RPO {rpo} min <= 15 min"
    if level >= 3:
        return "hot", f"MLPS level {level} >= 3"
    if rpo is not None and rpo <= 240:
        return "warm", f"RPO {rpo} min <= 4 h"
    if rto is not None and rto <= 240:
        return "warm", f"RTO {rto} min <= 4 h"
    if level == 1 and (rpo is None or rpo >= DAY) and (rto is None or rto >= DAY):
        return "none", "MLPS level 1 and no objective tighter than a day"
    return "backup", "daily backup meets the objectives"

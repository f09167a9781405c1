"""Summary statistics shared by the start-up harness (harness.py) and the peer's in-process
overhead bench (bench/peer/overhead.py). Standard library only."""

from __future__ import annotations


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile, `pct` in percent (99.9 for p99.9)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]

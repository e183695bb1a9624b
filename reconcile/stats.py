"""Small statistics used by metrics and sampling: Wilson intervals and sample sizes."""

from __future__ import annotations

import math
from statistics import NormalDist


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile for a confidence level (0.95 -> 1.96)."""
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    z = z_value(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))

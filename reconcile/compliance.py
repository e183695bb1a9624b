"""Compliance arithmetic, pure: US federal business days, finding age bands, percentiles.

The warehouse's `compliance` view does the same sums in SQL over a generated
business-day calendar; these helpers are the Python reference for it (tests
hold the two together) and serve callers that hold dates, not a warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Iterable, Sequence

import holidays

VERIFY_DAYS = 90          # No Surprises Act §116: verify directory data at least every 90 days
CORRECT_BUSINESS_DAYS = 2  # ... and correct it within 2 business days of learning it is wrong
BANDS = ("0-2 business days", "<= 90 days", "> 90 days")


@lru_cache(maxsize=256)
def federal_holidays(year: int) -> frozenset[dt.date]:
    """US federal holidays of a year, actual and observed dates (from the `holidays` package)."""
    return frozenset(holidays.US(years=year, observed=True).keys())


def is_business_day(day: dt.date) -> bool:
    """True for Monday-Friday dates that are not a US federal holiday (observed dates included)."""
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Business days after `start` up to and including `end` (0 when end <= start): the correction clock."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5 + sum(1 for i in range(1, rest + 1) if (start + dt.timedelta(days=i)).weekday() < 5)
    for year in range(start.year, end.year + 1):
        count -= sum(1 for h in federal_holidays(year) if start < h <= end and h.weekday() < 5)
    return count


def age_band(first_seen: dt.date, as_of: dt.date) -> str:
    """Which of BANDS an open finding first seen on `first_seen` falls in on `as_of` (exclusive bands)."""
    if business_days_between(first_seen, as_of) <= CORRECT_BUSINESS_DAYS:
        return BANDS[0]
    return BANDS[1] if (as_of - first_seen).days <= VERIFY_DAYS else BANDS[2]


def updated_within(last_updated: dt.date | None, as_of: dt.date, days: int = VERIFY_DAYS) -> bool:
    """True when a listing's own last-updated date is at most `days` before `as_of` (undated: False)."""
    return last_updated is not None and (as_of - last_updated).days <= days


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile (0..1) with linear interpolation between order statistics (DuckDB quantile_cont); None if empty."""
    ordered: Sequence[float] = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 1:
        raise ValueError(f"quantile {q!r} outside 0..1")
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))

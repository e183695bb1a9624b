"""QHP SQL path's typed read: every odd value at every place an entry holds text gives the Python parser's result.

The SQL path reads providers.json with declared types, where a value of another JSON type becomes NULL or
its text; it must then recognise each such entry as a misfit (or map it exactly as `crawlers.parse.qhp`
would). This walks each odd value through each field the listings use, one entry per (field, value).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import random

from test_qhp_sql import ODD_VALUES, assert_paths_agree, base_entry, old_schema

EXTRA_VALUES: list[Any] = [
    1e5, 1e20, -0.0, 9007199254740993, "1.5", "1e5", "false", "null", "\x01ctl", "x\x1fy", "a\u2028b",
    "trailing\u3000", " lead", "tail ", "\u00a0lead", "ok", "Dr.", "x" * 300, [None], [["nested"]], [{"k": "v"}],
    {"a": [1]},
]
VALUES = ODD_VALUES + EXTRA_VALUES


def _setter(path: tuple[Any, ...]) -> Callable[[dict[str, Any], Any], None]:
    """A function putting a value at `path` inside an entry."""
    def put(entry: dict[str, Any], value: Any) -> None:
        """Walk to the parent and set the last key."""
        target: Any = entry
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return put


PLACES: list[tuple[Any, ...]] = [
    ("npi",), ("type",), ("facility_name",), ("accepting",), ("gender",), ("last_updated_on",), ("name",),
    ("specialty",), ("languages",), ("facility_type",), ("addresses",), ("plans",),
    *(("name", k) for k in ("prefix", "first", "middle", "last", "suffix")),
    *(("addresses", 0, k) for k in ("address", "address_2", "city", "state", "zip", "phone")),
    ("addresses", 1), *(("plans", 0, k) for k in ("plan_id", "plan_id_type", "network_tier", "years")),
    ("plans", 0), ("plans", 0, "years", 0), ("specialty", 0), ("languages", 1), ("phone",),
]
# places of an entry in the first CMS README's shape (one `address` object, the phone beside it)
OLD_PLACES: list[tuple[Any, ...]] = [
    ("address",), ("phone",), ("accepting",), *(("address", k) for k in ("address", "address_2", "city", "state", "zip")),
]


def test_every_odd_value_at_every_place(tmp_path: Path) -> None:
    """Listings field by field and quarantined entries agree with the Python parser for each (place, value)."""
    data: list[Any] = []
    for n, place in enumerate(PLACES):
        for m, value in enumerate(VALUES):
            entry = base_entry(n * 1000 + m)
            if place[0] == "facility_name":
                entry.pop("name")
            _setter(place)(entry, copy.deepcopy(value))
            data.append(entry)
    for n, place in enumerate(OLD_PLACES, start=len(PLACES)):
        for m, value in enumerate(VALUES):
            entry = old_schema(base_entry(n * 1000 + m), random.Random(0), "x")
            entry["address"] = entry["address"] if isinstance(entry["address"], dict) else {"address": "1 Main St"}
            _setter(place)(entry, copy.deepcopy(value))
            data.append(entry)
    path = tmp_path / "providers.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    _, misfits = assert_paths_agree(path, tmp_path / "work")
    assert misfits < len(data)  # entries with ordinary values at a place (e.g. "ok") stay on the SQL path

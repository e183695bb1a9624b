"""qhp_directory provenance: each listing's payload hash is the fetched providers file's, its entry index the position.

The SQL path (ordinary entries) and the Python path (odd ones, e.g. padded text) must both point at exactly
what was published: sha256 of the file's bytes (gunzipped for .gz) plus `raw.entry_index` into its array.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from httpserver import serve
from test_crawl_qhp import FIXTURES, crawl, qhp_routes, read_landing, write_config

from reconcile.normalize.npi import npi_check_digit

PADDED_NPI = "100000001" + npi_check_digit("100000001")


def test_payload_hash_and_entry_index_point_at_the_published_entry(tmp_path: Path) -> None:
    """Hash = sha256 of the file the listing came from; entry_index = that entry's position (its NPI matches)."""
    entries = json.loads((FIXTURES / "qhp_providers.json").read_bytes())
    entries.append({"npi": PADDED_NPI, "name": {"first": " Ann ", "last": "Lee"}, "accepting": "accepting",
                    "addresses": [{"address": "9 Elm St", "city": "Peoria", "state": "IL", "zip": "61602"}]})
    first = json.dumps(entries, indent=1).encode()
    second = (FIXTURES / "qhp_providers_2.json").read_bytes()  # served gzipped: hashed as gunzipped
    with serve(qhp_routes(first)) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    files = {"providers.json": first, "providers-2.json.gz": second}
    listings = read_landing(tmp_path, "listings")
    assert listings
    paths_seen = set()
    for row in listings:
        name = row["source_url"].rsplit("/", 1)[1]
        body = files[name]
        assert row["payload_sha256"] == hashlib.sha256(body).hexdigest(), row["listing_id"]
        entry = json.loads(body)[row["raw"]["entry_index"]]
        assert str(entry["npi"]) == row["npi"]
        paths_seen.add(name)
    assert paths_seen == set(files)
    padded = next(r for r in listings if r["npi"] == PADDED_NPI)  # padded name: parsed by the Python path
    assert padded["first_name"] == "Ann" and padded["raw"]["entry_index"] == len(entries) - 1
    assert padded["payload_sha256"] == hashlib.sha256(first).hexdigest()

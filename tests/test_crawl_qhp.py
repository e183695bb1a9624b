"""qhp_directory spider: index.json -> providers.json (plain and gzip, chunked) on 127.0.0.1, through the runner."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from httpserver import Reply, chunks, serve

from crawlers.parse.qhp import EntryError, index_urls, provider_listings
from crawlers.runner import run_spider

FIXTURES = Path(__file__).parent / "fixtures" / "directories"
INSURER = "Prairie Health"


def write_config(tmp_path: Path, url: str) -> Path:
    """A ghostcheck.toml with one QHP directory, loopback allowed."""
    path = tmp_path / "ghostcheck.toml"
    path.write_text(f'[warehouse]\nlanding = "landing"\n\n[crawl]\nallow_private_networks = true\nautothrottle = false\n'
                    f'timeout_seconds = 10\n\n[[directory]]\ninsurer = "{INSURER}"\nkind = "qhp"\nurl = "{url}"\n')
    return path


def read_landing(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    """Every record of one landing kind (JSON Lines and Parquet files, JSON columns decoded)."""
    files = sorted((tmp_path / "landing" / kind).rglob("*.jsonl"))
    records = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    for path in sorted((tmp_path / "landing" / kind).rglob("*.parquet")):
        records.extend(parquet_records(path))
    return records


def parquet_records(path: Path) -> list[dict[str, Any]]:
    """Rows of a landing Parquet file as dicts, its JSON columns (plans, raw) decoded."""
    import duckdb

    con = duckdb.connect()
    cursor = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    for row in rows:
        for key in ("plans", "raw"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
    return rows


def crawl(config: Path):  # type: ignore[no-untyped-def]
    """Run qhp_directory via the child-process runner."""
    return run_spider("qhp_directory", str(config), "run1", {"insurer": INSURER}, timeout=90)


def qhp_routes(providers: bytes) -> dict[str, Any]:
    """index.json with relative provider/plan URLs; providers streamed in small chunks, the second file gzipped."""
    index = {"provider_urls": ["data/providers.json", "data/providers-2.json.gz"], "plan_urls": ["data/plans.json"],
             "formulary_urls": []}
    second = gzip.compress((FIXTURES / "qhp_providers_2.json").read_bytes())
    return {
        "/cms/index.json": (200, {"Content-Type": "application/json"}, json.dumps(index)),
        "/cms/data/providers.json": Reply(200, headers={"Content-Type": "application/json"}, stream=list(chunks(providers, 97))),
        "/cms/data/providers-2.json.gz": (200, {"Content-Type": "application/gzip"}, second),
        "/cms/data/plans.json": (200, {"Content-Type": "application/json"}, "[]"),
    }


def test_index_providers_several_addresses_and_plans(tmp_path: Path) -> None:
    """Every address is a listing with the entry's plans; bad entries are quarantined with URL and index."""
    with serve(qhp_routes((FIXTURES / "qhp_providers.json").read_bytes())) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    listings = read_landing(tmp_path, "listings")
    jane = sorted((r for r in listings if r["npi"] == "1234567893"), key=lambda r: r["source_key"])
    assert [r["source_key"] for r in jane] == ["1234567893|0", "1234567893|1", "1234567893|2"]
    assert [r["city"] for r in jane] == ["Springfield", "Peoria", "Urbana"]
    assert jane[0]["address"] == "123 Main Street Suite 4" and jane[2]["address"] == "1 Hospital Plaza"
    assert jane[1]["phone"] == "309-555-0111" and jane[1]["zip"] == "61602-1234"
    assert (jane[0]["first_name"], jane[0]["middle_name"], jane[0]["last_name"], jane[0]["credentials"]) == (
        "Jane", "Q", "Doe", "MD")
    assert [(p["plan_id"], p["network_tier"], p["years"]) for p in jane[0]["plans"]] == [
        ("12345IL0010001", "PREFERRED", [2025, 2026]), ("12345IL0020002", "NON-PREFERRED", [2026])]
    assert jane[0]["specialty"] == "Family Medicine" and jane[0]["raw"]["specialties"] == ["Family Medicine", "Sports Medicine"]
    assert jane[0]["accepting_status"] == "accepting" and jane[0]["last_updated"] == "2026-08-15"
    assert jane[0]["raw"]["languages"] == ["English", "Spanish"]
    assert len({r["payload_sha256"] for r in jane}) == 1 and jane[0]["source_url"].endswith("/cms/data/providers.json")
    omar = next(r for r in listings if r["npi"] == "1245319599")  # numeric NPI in the file
    assert omar["accepting_status"] == "not_accepting" and omar["specialty"] == "Pediatrics"
    facility = next(r for r in listings if r["npi"] == "1003000126")
    assert facility["provider_name"] == facility["practice_name"] == "Springfield Imaging Center"
    lena = next(r for r in listings if r["last_name"] == "Park")  # from the gzipped file
    assert lena["accepting_status"] == "accepting" and lena["source_url"].endswith(".json.gz")
    assert len(listings) == 3 + 1 + 1 + 1
    quarantine = {q["row"]: q for q in read_landing(tmp_path, "quarantine")}
    assert set(quarantine) == {2, 3, 5}
    assert "invalid NPI" in quarantine[2]["error"] and quarantine[2]["file"].endswith("/cms/data/providers.json")
    assert "neither name nor facility_name" in quarantine[5]["error"]
    sources = read_landing(tmp_path, "sources")
    assert (sources[0]["status"], sources[0]["items"], sources[0]["pages"]) == ("ok", 6, 3)


def test_truncated_providers_file_keeps_good_entries(tmp_path: Path) -> None:
    """A providers file cut off mid-array: entries before the break land, the break is quarantined, source failed."""
    text = (FIXTURES / "qhp_providers.json").read_bytes()
    cut = text[: text.index(b'"npi": "1003000126"')]
    with serve(qhp_routes(cut)) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "failed" and "malformed JSON after entry" in result.reason
    npis = {r["npi"] for r in read_landing(tmp_path, "listings")}
    assert {"1234567893", "1245319599", "1679576722"} <= npis and "1003000126" not in npis
    assert any("providers.json" in q["file"] and "malformed JSON" in q["error"] for q in read_landing(tmp_path, "quarantine"))


def test_json_lines_providers_file_lands_like_the_array(tmp_path: Path) -> None:
    """A providers file published as JSON Lines (one entry per line) gives the array's listings and quarantine."""
    entries = json.loads((FIXTURES / "qhp_providers.json").read_bytes())
    lines = "\n".join(json.dumps(e) for e in entries).encode()
    (tmp_path / "array").mkdir()
    (tmp_path / "lines").mkdir()
    with serve(qhp_routes((FIXTURES / "qhp_providers.json").read_bytes())) as server:
        assert crawl(write_config(tmp_path / "array", server.url("/cms/index.json"))).status == "ok"
    with serve(qhp_routes(lines)) as server:
        result = crawl(write_config(tmp_path / "lines", server.url("/cms/index.json")))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])

    def landed(root: Path, kind: str) -> list[tuple[Any, ...]]:
        """Comparable rows of one crawl (hashes and times differ with the file, URLs with the server's port)."""
        drop = {"payload_sha256", "fetched_at", "quarantined_at", "raw_text"}
        return sorted(tuple((k, json.dumps(v.split("/", 3)[-1] if k in ("source_url", "file") else v, sort_keys=True))
                            for k, v in sorted(r.items()) if k not in drop) for r in read_landing(root, kind))

    assert landed(tmp_path / "lines", "listings") == landed(tmp_path / "array", "listings")
    assert len(landed(tmp_path / "lines", "listings")) == 6
    assert landed(tmp_path / "lines", "quarantine") == landed(tmp_path / "array", "quarantine")


def test_directory_url_may_be_a_json_lines_providers_file(tmp_path: Path) -> None:
    """No index.json: the configured URL is a JSON Lines providers file itself, and its entries land."""
    entries = json.loads((FIXTURES / "qhp_providers.json").read_bytes())
    lines = "\n".join(json.dumps(e) for e in entries) + "\n"
    with serve({"/direct/providers.jsonl": (200, {"Content-Type": "application/x-ndjson"}, lines)}) as server:
        result = crawl(write_config(tmp_path, server.url("/direct/providers.jsonl")))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    assert {r["npi"] for r in read_landing(tmp_path, "listings")} == {"1234567893", "1245319599", "1003000126"}


def test_missing_index_is_a_failed_source(tmp_path: Path) -> None:
    """A 404 index gives one failed source naming the URL and status."""
    with serve({}) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "failed" and "index.json" in result.reason and "404" in result.reason
    assert read_landing(tmp_path, "listings") == []


def test_pure_helpers() -> None:
    """index URLs resolve relative paths; an entry without addresses still yields one listing."""
    providers, plans = index_urls({"provider_urls": ["p.json", "https://cdn.example.org/x.json", " p.json"], "plan_urls": ["q.json"]},
                                  "https://h.example.org/dir/index.json")
    assert providers == ["https://h.example.org/dir/p.json", "https://cdn.example.org/x.json"]
    assert plans == ["https://h.example.org/dir/q.json"]
    rows = provider_listings({"npi": "1234567893", "type": "INDIVIDUAL", "name": {"first": "A", "last": "B"}},
                             "X", "u", "t", 0)
    assert len(rows) == 1 and rows[0]["address"] is None and rows[0]["accepting_status"] == "unknown"
    try:
        index_urls({"plan_urls": []}, "u")
    except EntryError as exc:
        assert "provider_urls" in str(exc)
    else:
        raise AssertionError("index without provider_urls accepted")


def test_cli_crawl_directories_one_failing(tmp_path: Path, monkeypatch: Any) -> None:
    """`ghostcheck crawl directories`: a failing directory (missing token) does not stop the QHP one; exit 0."""
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.delenv("GHOSTCHECK_TEST_NO_SUCH_TOKEN", raising=False)
    with serve(qhp_routes((FIXTURES / "qhp_providers.json").read_bytes())) as server:
        config = write_config(tmp_path, server.url("/cms/index.json"))
        config.write_text(config.read_text() + f'\n[[directory]]\ninsurer = "Locked FHIR"\nkind = "fhir"\n'
                          f'url = "{server.url("/fhir")}"\ntoken_env = "GHOSTCHECK_TEST_NO_SUCH_TOKEN"\n')
        result = CliRunner().invoke(app, ["crawl", "directories", "-c", str(config), "--run-id", "r7"])
        assert result.exit_code == 0, result.output
        assert f"ok     {INSURER} (qhp): 6 listings from 3 pages" in result.output
        assert "failed Locked FHIR (fhir): Locked FHIR: environment variable GHOSTCHECK_TEST_NO_SUCH_TOKEN" in result.output
        assert (tmp_path / "landing" / "sources" / "prairie-health" / "r7.jsonl").exists()
        only_failing = CliRunner().invoke(app, ["crawl", "directories", "-c", str(config), "--insurer", "locked fhir"])
        assert only_failing.exit_code == 1


def test_sql_path_lands_parquet_that_the_loader_takes(tmp_path: Path) -> None:
    """The SQL path writes the listings as landing Parquet; the warehouse loader reads it with plans and raw intact."""
    from warehouse.db import connect
    from warehouse.load import load_landing

    with serve(qhp_routes((FIXTURES / "qhp_providers.json").read_bytes())) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "ok", result.reason
    parquet = sorted((tmp_path / "landing" / "listings").rglob("*.parquet"))
    assert [p.name for p in parquet] == ["run1__providers-1.parquet", "run1__providers-2.parquet"]
    assert all(str(p) in result.landing_files for p in parquet)
    con = connect(str(tmp_path / "w.duckdb"))
    summary = load_landing(con, str(tmp_path / "landing"))
    assert not summary.errors
    rows = con.execute("SELECT npi, address, networks, plans FROM listings ORDER BY npi, address").fetchall()
    assert len(rows) == 6
    jane = [r for r in rows if r[0] == "1234567893"]
    assert [r[1] for r in jane] == ["1 Hospital Plaza", "123 Main Street Suite 4", "77 River Rd"]
    assert list(jane[0][2]) == ["12345IL0010001", "12345IL0020002"]
    assert json.loads(jane[0][3])[0]["years"] == [2025, 2026]


def test_download_breaking_midway_keeps_entries_before_the_break(tmp_path: Path) -> None:
    """The server hangs up mid-body: entries that arrived land, the source fails naming the broken download."""
    text = (FIXTURES / "qhp_providers.json").read_bytes()
    cut = text.index(b'"npi": "1003000126"')

    def broken() -> Any:
        """Send the first part of the file, then drop the connection."""
        yield text[:cut]
        raise ConnectionResetError("server went away")

    routes = qhp_routes(text)
    routes["/cms/data/providers.json"] = lambda request: Reply(200, headers={"Content-Type": "application/json"},
                                                               stream=broken())
    with serve(routes) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "failed" and "download broke after entry" in result.reason, result.reason
    npis = {r["npi"] for r in read_landing(tmp_path, "listings")}
    assert {"1234567893", "1245319599"} <= npis and "1003000126" not in npis
    assert any("download broke" in q["error"] for q in read_landing(tmp_path, "quarantine"))


def test_providers_in_the_first_readme_shape_keep_address_and_phone(tmp_path: Path) -> None:
    """The first CMS README's entry shape (one `address` object, `phone` beside it, `accepting: true`, a
    `specialty` string, lower-case `type`) lands with its address, phone and status, through the runner."""
    entries = [
        {"npi": "1234567893", "type": "individual", "name": {"first": "Ana", "middle": "B", "last": "Cruz"},
         "address": {"address": "40 Park Ave", "address_2": "Suite 120", "city": "Albany", "state": "NY",
                     "zip": "12207"},
         "phone": "5185551212", "specialty": "Dermatology", "accepting": True,
         "plans": [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": "12345NY0010001", "network_tier": "PREFERRED"}]},
        {"npi": "1003000126", "type": "facility", "facility_name": "Albany Imaging", "facility_type": "Imaging Center",
         "address": {"address": "9 State St", "city": "Albany", "state": "NY", "zip": "12207"},
         "phone": "5185553434", "accepting": False,
         "plans": [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": "12345NY0010001", "network_tier": "PREFERRED"}]},
    ]
    with serve(qhp_routes(json.dumps(entries, indent=4).encode())) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    rows = {r["npi"]: r for r in read_landing(tmp_path, "listings") if r["npi"] in ("1234567893", "1003000126")}
    ana, imaging = rows["1234567893"], rows["1003000126"]
    assert (ana["address"], ana["city"], ana["zip"], ana["phone"]) == ("40 Park Ave Suite 120", "Albany", "12207",
                                                                      "5185551212")
    assert (ana["accepting_status"], ana["accepting_raw"], ana["specialty"]) == ("accepting", "true", "Dermatology")
    assert (imaging["practice_name"], imaging["address"], imaging["phone"], imaging["accepting_status"]) == (
        "Albany Imaging", "9 State St", "5185553434", "not_accepting")


def test_an_html_page_instead_of_json_says_so(tmp_path: Path) -> None:
    """A login / bot-block page served with HTTP 200 where index.json should be: the failed source says it got
    an HTML page, in one line naming the URL."""
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"
    with serve({"/cms/index.json": (200, {"Content-Type": "text/html"}, page)}) as server:
        result = crawl(write_config(tmp_path, server.url("/cms/index.json")))
    assert result.status == "failed" and "\n" not in result.reason
    assert "index.json: malformed JSON in index" in result.reason and "an HTML page, not JSON" in result.reason


def test_a_moved_index_is_followed(tmp_path: Path) -> None:
    """An index.json URL answering 302 (the issuer moved its files) is read at its new address."""
    routes = {**qhp_routes((FIXTURES / "qhp_providers.json").read_bytes()),
              "/old/index.json": (302, {"Location": "/cms/index.json"}, "")}
    with serve(routes) as server:
        result = crawl(write_config(tmp_path, server.url("/old/index.json")))
    assert result.status == "ok", (result.reason, result.log_tail[-5:])
    assert result.items == 6

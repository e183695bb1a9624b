"""`ghostcheck extract`: files, directories and URLs (real HTTP server on 127.0.0.1) to JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from httpserver import serve  # tests/ is on sys.path (rootdir-less import mode)

runner = CliRunner()
PAGE = "<main><h1>New Patients</h1><p>We are not accepting new patients.</p><p>We no longer accept Cobalt Care.</p></main>"


def lines(output: str) -> list[dict]:
    """Parse the JSON Lines printed on stdout."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_files_and_directory_without_config(tmp_path: Path) -> None:
    """A directory yields one object per .html/.htm/.txt file; a missing -c file is fine; --insurer is used."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text(PAGE, encoding="utf-8")
    (site / "b.txt").write_text("We take Acme Health and Aetna. Now accepting new patients!", encoding="utf-8")
    (site / "ignore.css").write_text("p{}", encoding="utf-8")
    result = runner.invoke(app, ["extract", str(site), "-c", str(tmp_path / "missing.toml"), "--insurer", "Cobalt Care", "--insurer", "Acme Health"])
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    assert [Path(o["input"]).name for o in out] == ["a.html", "b.txt"]
    assert out[0]["status"] == "not_accepting" and out[0]["insurers_not_accepted"] == ["Cobalt Care"]
    assert out[1]["status"] == "accepting" and out[1]["insurers_accepted"] == ["Acme Health", "Aetna"]
    keys = {"input", "status", "status_snippet", "insurers_accepted", "insurers_not_accepted", "providers", "phones", "addresses", "claims"}
    assert keys <= set(out[0]) and out[0]["claims"][0]["url"].startswith("file://")


def test_config_insurers_are_known(tmp_path: Path) -> None:
    """With -c, the configured directory insurers are looked for."""
    cfg = tmp_path / "ghostcheck.toml"
    cfg.write_text('[[directory]]\ninsurer = "Zephyr Mutual"\nkind = "fhir"\nurl = "https://fhir.example.org"\n', encoding="utf-8")
    page = tmp_path / "p.html"
    page.write_text("<p>We are out of network with Zephyr Mutual.</p>", encoding="utf-8")
    result = runner.invoke(app, ["extract", str(page), "-c", str(cfg)])
    assert result.exit_code == 0, result.output
    assert lines(result.stdout)[0]["insurers_not_accepted"] == ["Zephyr Mutual"]


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    """A missing input: one line naming it, exit code 2, no traceback."""
    result = runner.invoke(app, ["extract", str(tmp_path / "nope.html"), "-c", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert "nope.html" in result.output and "Traceback" not in result.output


def test_url_through_the_safe_fetcher(tmp_path: Path) -> None:
    """A URL is fetched (private networks allowed by config) and extracted; refused without the opt-in."""
    allow = tmp_path / "allow.toml"
    allow.write_text("[crawl]\nallow_private_networks = true\n", encoding="utf-8")
    with serve({"/new-patients": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)}) as server:
        url = server.url("/new-patients")
        ok = runner.invoke(app, ["extract", url, "-c", str(allow), "--insurer", "Cobalt Care"])
        refused = runner.invoke(app, ["extract", url, "-c", str(tmp_path / "none.toml")])
        served = [r.path for r in server.requests]
    assert ok.exit_code == 0, ok.output
    record = lines(ok.stdout)[0]
    assert record["input"] == url and record["status"] == "not_accepting"
    assert record["claims"][0]["url"] == url and len(record["claims"][0]["page_sha256"]) == 64
    assert served.count("/new-patients") == 1
    assert refused.exit_code == 2 and "error" in lines(refused.stdout)[0]

"""`ghostcheck crawl sites` end to end on a local server: summary line, unreachable sites, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from httpserver import Reply, serve

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_crawl_sites_command(tmp_path: Path) -> None:
    """The command crawls every site, lands evidence and observations, and names the unreachable site."""
    routes = {
        "/a/": Reply(200, (FIXTURES / "home.html").read_bytes(), HTML),
        "/a/new-patients": Reply(200, (FIXTURES / "new_patients.html").read_bytes(), HTML),
        "/down/": Reply(503, "<h1>Service Unavailable</h1>", HTML),
        "/app/": Reply(200, (FIXTURES / "js_shell.html").read_bytes(), HTML),
    }
    with serve(routes) as server:
        (tmp_path / "sites.csv").write_text(f"url,practice_name\n{server.url('/a/')},A\n{server.url('/down/')},Down\n"
                                            f"{server.url('/app/')},App\n")
        (tmp_path / "ghostcheck.toml").write_text(
            '[crawl]\nallow_private_networks = true\nrender_js = "never"\ntimeout_seconds = 5\n'
            '[sites]\nfiles = ["sites.csv"]\nfrom_directory = false\n')
        result = CliRunner().invoke(app, ["crawl", "sites", "-c", str(tmp_path / "ghostcheck.toml"), "--run-id", "cli1"])
    assert result.exit_code == 0, result.output
    assert "crawl sites: run cli1:" in result.output and "1 unreachable sites" in result.output
    assert f"unreachable {server.url('/down/')}" in result.output and "HTTP 503" in result.output
    evidence = [json.loads(line) for line in (tmp_path / "landing/evidence/sites/cli1.jsonl").read_text().splitlines()]
    assert {e["url"] for e in evidence} >= {server.url("/a/"), server.url("/a/new-patients"), server.url("/down/")}
    app_pages = [e for e in evidence if e["url"] == server.url("/app/")]
    assert [e["rendered"] for e in app_pages] == [False]  # render_js = "never": even an app shell is read statically
    observations = (tmp_path / "landing/observations/sites/cli1.jsonl").read_text().splitlines()
    assert any(json.loads(line)["accepting_status"] == "not_accepting" for line in observations)


def test_crawl_sites_bad_config_is_one_line(tmp_path: Path) -> None:
    """A broken config gives one clear line naming the file and key, exit code 2, no traceback."""
    config = tmp_path / "ghostcheck.toml"
    config.write_text('[crawl]\nrender_js = "sometimes"\n')
    result = CliRunner().invoke(app, ["crawl", "sites", "-c", str(config)])
    assert result.exit_code == 2
    assert "render_js" in result.output and str(config) in result.output.replace("\n", "")
    assert "Traceback" not in result.output

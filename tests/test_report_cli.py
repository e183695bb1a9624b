"""`ghostcheck report`: writes the report and exports, prints the path, one-line errors with exit code 2."""

from __future__ import annotations


import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import build_app
from report_fixtures import build_warehouse


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder with ghostcheck.toml (relative paths) and a fixture warehouse."""
    base = tmp_path_factory.mktemp("proj")
    (base / "data").mkdir()
    build_warehouse(base / "data" / "w.duckdb", 150)
    (base / "ghostcheck.toml").write_text('[warehouse]\npath = "data/w.duckdb"\n[report]\nout = "public/report"\n')
    return base


def _run(*args: str):
    """Invoke the real CLI app in-process."""
    return CliRunner().invoke(build_app(), list(args))


def test_report_writes_to_configured_out(project):
    """Without --out the [report] out folder (relative to the config) receives index.html and the exports."""
    result = _run("report", "-c", str(project / "ghostcheck.toml"))
    assert result.exit_code == 0, result.output
    out = project / "public" / "report"
    assert {p.name for p in out.iterdir()} >= {"index.html", "findings.csv", "findings.parquet", "findings.json", "metrics.csv"}
    assert str(out / "index.html") in result.stdout.replace("\n", "")
    n = duckdb.connect(str(project / "data" / "w.duckdb"), read_only=True).execute("SELECT count(*) FROM findings").fetchone()[0]
    assert f"{n:,} findings" in result.output


def test_quiet_prints_only_the_path(project, tmp_path):
    """With global --quiet the only output is the report path."""
    result = _run("--quiet", "report", "-c", str(project / "ghostcheck.toml"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str((tmp_path / "r" / "index.html").resolve())


def test_as_of_selects_earlier_run(project, tmp_path):
    """--as-of writes a report of the earlier run: fewer findings than the latest."""
    latest = _run("-q", "report", "-c", str(project / "ghostcheck.toml"), "--out", str(tmp_path / "a"))
    early = _run("-q", "report", "-c", str(project / "ghostcheck.toml"), "--out", str(tmp_path / "b"), "--as-of", "2026-01-06")
    assert latest.exit_code == early.exit_code == 0
    count = lambda d: duckdb.sql(f"SELECT count(*) FROM '{tmp_path / d / 'findings.parquet'}'").fetchone()[0]  # noqa: E731
    assert 0 < count("b") < count("a")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "31/01/2026"], "--as-of '31/01/2026': expected a date"),
        (["--as-of", "1999-01-01"], "no run on or before 1999-01-01"),
    ],
)
def test_bad_as_of_is_one_line_exit_2(project, tmp_path, args, message):
    """A bad or too-early --as-of is one clear line and exit code 2, no traceback."""
    result = _run("report", "-c", str(project / "ghostcheck.toml"), "--out", str(tmp_path / "x"), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_missing_warehouse_is_one_line_exit_2(tmp_path):
    """A config pointing at a warehouse that does not exist fails with one line naming the file."""
    (tmp_path / "ghostcheck.toml").write_text('[warehouse]\npath = "nowhere.duckdb"\n')
    result = _run("report", "-c", str(tmp_path / "ghostcheck.toml"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "nowhere.duckdb: warehouse not found" in result.output
    assert not (tmp_path / "nowhere.duckdb").exists()

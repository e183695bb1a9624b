"""Config loading: the example is valid, and each kind of error is one line naming file and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    """Write a config file and return its path."""
    path = tmp_path / "ghostcheck.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `ghostcheck` CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_init_writes_a_valid_commented_config(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "proj"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "proj" / "ghostcheck.toml").read_text()
    assert "# " in text and "[[directory]]" in text
    config = load_config(tmp_path / "proj" / "ghostcheck.toml")
    assert [d.kind for d in config.directory] == ["fhir", "qhp", "html"]
    assert config.directory[2].selectors is not None and config.directory[2].selectors.item == "div.provider-card"
    # relative paths resolve against the config file's folder
    assert config.warehouse.path == str((tmp_path / "proj" / "ghostcheck.duckdb").resolve())
    again = run_cli("init", str(tmp_path / "proj"), cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[crawl]\nobey_robot = true\n", "[crawl] obey_robot: unknown key"),
        ("[crawl]\nobey_robots = 'maybe'\n", "[crawl] obey_robots:"),
        ("[crawl]\nmax_pages_per_site = 0\n", "[crawl] max_pages_per_site:"),
        ("[crawl]\nrender_js = 'sometimes'\n", "[crawl] render_js:"),
        ("[[directory]]\ninsurer = 'Acme'\nkind = 'ftp'\nurl = 'x'\n", "[[directory]] #1 (Acme) kind:"),
        ("[[directory]]\ninsurer = 'Acme'\nurl = 'x'\n", "[[directory]] #1 (Acme) kind: required key is missing"),
        ("[warehouse]\npath = 3\n", "[warehouse] path:"),
        ("colour = 'blue'\n", "key 'colour': unknown key"),
        ("[crawl\n", "invalid TOML"),
    ],
)
def test_config_errors_are_one_line_with_exit_code_2(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    result = run_cli("status", "-c", str(path), cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_cli("status", "-c", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.toml: config file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_status_creates_and_migrates_the_warehouse(tmp_path: Path) -> None:
    path = write(tmp_path, "[warehouse]\npath = 'data/w.duckdb'\n")
    result = run_cli("status", "-c", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "w.duckdb").exists()
    assert "listing_rows" in result.stdout and "schema v" in result.stdout


def test_version_flag(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("ghostcheck ")

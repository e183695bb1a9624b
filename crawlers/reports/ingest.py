"""Ingest practice report files: parse each one and write its observations and quarantine as landing files.

Never touches DuckDB (the CLI loads the landing files with warehouse.load afterwards). A file whose exact bytes
were landed before (same sha256, recorded in the landing file's name) is not landed again, so re-ingesting a
file changes nothing, not even the quarantine; the same report in a different file gets the same observation_id
and the warehouse keeps only the first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import fsspec

from crawlers.landing import LandingWriter, utcnow_iso
from crawlers.parse import file_sha256
from crawlers.reports.parse import ReportFileError, parse_report

__all__ = ["FileResult", "IngestResult", "ingest_report_files", "LANDING_SOURCE"]

LANDING_SOURCE = "reports"


@dataclass
class FileResult:
    """What ingesting one file did."""

    path: str
    status: str  # ok | unchanged | failed
    rows_ok: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0  # rows with no answers (call-list rows not called yet)
    rows_duplicate: int = 0  # the same report twice in this file
    reasons: list[str] = field(default_factory=list)  # first few quarantine reasons ("row 4: invalid NPI ...")
    error: str | None = None  # whole-file problem
    format: str = ""
    landing_files: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    """What ingesting a batch of files did."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def rows_ok(self) -> int:
        """Observations written."""
        return sum(f.rows_ok for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        """Rows sent to quarantine."""
        return sum(f.rows_quarantined for f in self.files)

    @property
    def files_read(self) -> int:
        """Files that could be read (including ones landed before)."""
        return sum(1 for f in self.files if f.status != "failed")

    @property
    def per_file(self) -> dict[str, FileResult]:
        """Results keyed by path."""
        return {f.path: f for f in self.files}


def _part(path: str, sha: str) -> str:
    """Landing part name: the file's stem plus its content hash (so a re-ingest is recognised)."""
    return f"{Path(path).stem[:40]}-{sha[:16]}"


def _already_landed(landing_root: str, sha: str, kind: str = "observations") -> bool:
    """True when a landing file for these exact bytes exists under `<landing>/<kind>/reports/`."""
    fs, base = fsspec.core.url_to_fs(landing_root.rstrip("/") + f"/{kind}/{LANDING_SOURCE}")
    if not fs.exists(base):
        return False
    return any(name.endswith(f"-{sha[:16]}.jsonl") for name in fs.ls(base, detail=False))


def _write(landing_root: str, kind: str, run_id: str, part: str, records: list[dict]) -> str:
    """Write one landing file of records and return its path."""
    with LandingWriter(landing_root, kind, LANDING_SOURCE, run_id, part) as writer:
        for record in records:
            writer.write(record)
    return writer.path


def ingest_one(path: str, landing_root: str, run_id: str, default_source: str | None = None,
               today: dt.date | None = None) -> FileResult:
    """Ingest one report file; never raises for bad input (the problem is in the result)."""
    started = utcnow_iso()
    try:
        sha = file_sha256(path)
    except FileNotFoundError:
        return FileResult(path, "failed", error=f"{path}: file not found")
    except IsADirectoryError:
        return FileResult(path, "failed", error=f"{path}: is a directory, expected a report file")
    except OSError as exc:
        return FileResult(path, "failed", error=f"{path}: cannot read: {exc.strerror or exc}")
    if _already_landed(landing_root, sha):
        return FileResult(path, "unchanged")
    part = _part(path, sha)
    shown, path = path, str(Path(path).resolve())  # records name the absolute path; the result the given one
    try:
        parsed = parse_report(path, default_source=default_source, today=today)
    except ReportFileError as exc:
        result = FileResult(shown, "failed", error=str(exc))
        if _already_landed(landing_root, sha, "quarantine"):
            return result  # the same broken bytes again: report it, land nothing twice
        _write(landing_root, "quarantine", run_id, part,
               [{"source": LANDING_SOURCE, "file": path, "row": None, "error": str(exc), "raw_text": "",
                 "quarantined_at": utcnow_iso()}])
        _write(landing_root, "sources", run_id, part, [_source_record(path, "failed", str(exc), 0, started)])
        return result
    result = FileResult(shown, "ok", rows_ok=len(parsed.observations), rows_quarantined=len(parsed.quarantine),
                        rows_skipped=parsed.skipped, rows_duplicate=parsed.duplicates, format=parsed.format)
    result.reasons = [f"row {q['row']}: {q['error']}" for q in parsed.quarantine[:5]]
    # Quarantine and sources first, observations last: the observations file marks the input as landed.
    if parsed.quarantine:
        result.landing_files.append(_write(landing_root, "quarantine", run_id, part, parsed.quarantine))
    result.landing_files.append(_write(landing_root, "sources", run_id, part,
                                       [_source_record(path, "ok", None, len(parsed.observations), started)]))
    result.landing_files.append(_write(landing_root, "observations", run_id, part, parsed.observations))
    return result


def _source_record(path: str, status: str, reason: str | None, items: int, started: str) -> dict:
    """The `sources` landing record of one report file."""
    return {"source": path, "kind": "reports", "status": status, "reason": reason, "items": items, "pages": 1,
            "started_at": started, "finished_at": utcnow_iso()}


def ingest_report_files(paths: list[str], landing_root: str, run_id: str, default_source: str | None = None,
                        today: dt.date | None = None) -> IngestResult:
    """Ingest report files (CSV, JSON, JSON Lines, .xlsx) into landing files; one FileResult per path, in order."""
    result = IngestResult()
    for path in paths:
        result.files.append(ingest_one(str(path), landing_root, run_id, default_source, today))
    return result

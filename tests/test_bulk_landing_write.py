"""The fhir_bulk converter writes its landing Parquet in place: complete, counted, and no temporary file left."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_bulk import RUN, write_folder

from crawlers.bulk.fhir_bulk import bulk_to_landing
from crawlers.config import CrawlConfig, DirectoryConfig


@pytest.mark.parametrize("gz", [False, True])
def test_landing_parquet_is_published_whole_with_its_row_count(tmp_path: Path, gz: bool) -> None:
    """The count reported is the file's own row count; only the renamed file remains, even after a re-read pass."""
    write_folder(tmp_path / "npd", gz)  # holds a malformed line, so the typed COPY fails once and is re-run loosely
    directory = DirectoryConfig(insurer="National Directory", kind="fhir_bulk", url=str(tmp_path / "npd"))
    result = bulk_to_landing(directory, CrawlConfig(), str(tmp_path / "landing"), RUN, work_dir=str(tmp_path))
    parquet = [p for p in result.landing_files if p.endswith(".parquet")]
    assert len(parquet) == 1 and Path(parquet[0]).exists()
    rows = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [parquet[0]]).fetchone()[0]
    assert rows == result.listings > 0
    left = [p.name for p in (tmp_path / "landing").rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert left == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing", "npd"]  # the work folder is cleaned up

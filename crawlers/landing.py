"""Landing files: JSON Lines written atomically under `<landing>/<kind>/<source>/`.

Every crawler and ingester writes through `LandingWriter`, so the warehouse
loader sees only complete files (written as `.tmp`, then renamed).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import fsspec

KINDS = ("listings", "observations", "evidence", "quarantine", "sources")

# COPY options for landing Parquet written by DuckDB. Parquet v2 pages (DELTA encodings for strings and
# integers) are written and read back by the loader with far less CPU than v1's dictionary-or-plain pages
# (benchmarks/RESULTS.md, "## bulk_ingest.py"); pyarrow and DuckDB both read them.
LANDING_PARQUET = "FORMAT parquet, PARQUET_VERSION v2"
# The same for wide listing files: a column stops trying dictionary encoding after 1,000 distinct values per row
# group (DuckDB otherwise hashes every value of every high-cardinality column, ids, names, addresses, before
# giving up); a low-cardinality column (insurer, state, status) keeps its dictionary. ~0.3 CPU s less per 400k
# listings, file ~5% larger, loader CPU unchanged.
LANDING_PARQUET_WIDE = LANDING_PARQUET + ", DICTIONARY_SIZE_LIMIT 1000"


def slugify(text: str) -> str:
    """A filesystem-safe slug of a source name ("Acme Health" -> "acme-health")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:60] or "source"


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id such as 20261125T031500Z-1a2b3c."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def run_id_of(path: str) -> str:
    """The run id encoded in a landing file name (`<run_id>[__part].jsonl`)."""
    stem = path.rstrip("/").rsplit("/", 1)[-1]
    stem = stem.split(".", 1)[0]
    return stem.split("__", 1)[0]


def utcnow_iso() -> str:
    """The current UTC time as an ISO 8601 string (seconds precision)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _default(value: Any) -> Any:
    """JSON encoder fallback for dates, sets and paths."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class LandingWriter:
    """Write one landing file of records; the file appears only on clean close."""

    def __init__(self, root: str, kind: str, source: str, run_id: str, part: str = "") -> None:
        """Prepare `<root>/<kind>/<slug(source)>/<run_id>[__part].jsonl`."""
        if kind not in KINDS:
            raise ValueError(f"unknown landing kind {kind!r}")
        suffix = f"__{slugify(part)}" if part else ""
        self.root = root.rstrip("/")
        self.path = f"{self.root}/{kind}/{slugify(source)}/{run_id}{suffix}.jsonl"
        self.tmp_path = self.path + ".tmp"
        self.count = 0
        self._fs, _ = fsspec.core.url_to_fs(self.root)
        self._fh: IO[str] | None = None

    def __enter__(self) -> "LandingWriter":
        """Open the temporary file."""
        self._fs.makedirs(self.tmp_path.rsplit("/", 1)[0], exist_ok=True)
        self._fh = self._fs.open(self.tmp_path, "w", encoding="utf-8")
        return self

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as a JSON line."""
        assert self._fh is not None, "use LandingWriter as a context manager"
        self._fh.write(json.dumps(record, default=_default, ensure_ascii=False) + "\n")
        self.count += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Publish the file on success (even when empty); drop it on error."""
        assert self._fh is not None
        self._fh.close()
        if exc_type is None:
            self._fs.mv(self.tmp_path, self.path)
        else:
            self._fs.rm(self.tmp_path)


def write_records(root: str, kind: str, source: str, run_id: str, records: list[dict[str, Any]], part: str = "") -> str:
    """Write a list of records as one landing file and return its path."""
    with LandingWriter(root, kind, source, run_id, part) as writer:
        for record in records:
            writer.write(record)
    return writer.path


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """True when an fsspec filesystem is the local disk (a writer may then write in place instead of copying)."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def publish_file(local_path: str, root: str, kind: str, source: str, run_id: str, part: str = "",
                 suffix: str = ".parquet") -> str:
    """Copy a finished local file (e.g. Parquet from DuckDB) to `<root>/<kind>/<slug>/<run_id>[__part]<suffix>`.

    Written as `.tmp` and renamed like LandingWriter's files, so the loader never sees half a file.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown landing kind {kind!r}")
    name = f"{run_id}__{slugify(part)}" if part else run_id
    path = f"{root.rstrip('/')}/{kind}/{slugify(source)}/{name}{suffix}"
    fs, fs_path = fsspec.core.url_to_fs(path)
    fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
    fs.put_file(local_path, fs_path + ".tmp")
    fs.mv(fs_path + ".tmp", fs_path)
    return path

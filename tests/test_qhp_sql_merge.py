"""Merging the SQL path's partition files into the one landing Parquet file of a providers file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent

MERGE = """
import sys
from crawlers.bulk import qhp_sql
work, parts = sys.argv[1], sys.argv[2:]
con = qhp_sql.connect(work)
for n, part in enumerate(parts):
    con.execute(f"COPY (SELECT {n} AS part, i FROM range(3) t(i)) TO '{part.replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
print(qhp_sql._merge(con, parts, work))
print('pandas' in sys.modules)
"""


def test_partition_files_merge_in_order_without_pulling_in_pandas(tmp_path: Path) -> None:
    """Every row of every part, parts in the given order (paths with quotes too), in a fresh process without pandas."""
    parts = [str(tmp_path / "o'brien-0.parquet"), str(tmp_path / "o'brien-1.parquet")]
    out = subprocess.run([sys.executable, "-c", MERGE, str(tmp_path), *parts], capture_output=True, text=True,
                         cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    merged, pandas_loaded = out.stdout.split()
    table = pq.read_table(merged)
    assert list(zip(table.column("part").to_pylist(), table.column("i").to_pylist())) == \
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert pandas_loaded == "False"

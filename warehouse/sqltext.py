"""Run the warehouse's own statements with their `?` placeholders filled by SQL literals.

DuckDB's Python client imports pandas, when it is installed, the first time a statement binds a
parameter: ~0.3 s for every process that loads a landing file or opens a new warehouse. The values
the warehouse passes are its own (run ids, hashes, paths, counts), so they are written into the SQL
as quoted literals instead; any other value (a float, bytes, a text holding NUL) is still bound.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb

# String literals (plain and E'' escapes), quoted identifiers and comments are skipped; a bare `?` is a placeholder.
_TOKENS = re.compile(r"""[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?""", re.S)


def literal(value: object) -> str | None:
    """`value` as a DuckDB SQL literal, or None when only binding carries it exactly."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def fill(sql: str, params: Sequence[object]) -> str | None:
    """`sql` with each placeholder replaced by its parameter's literal; None when that cannot be done exactly."""
    values = [literal(v) for v in params]
    if any(v is None for v in values):
        return None
    filled: list[str] = []

    def put(match: re.Match[str]) -> str:
        """A placeholder takes the next literal; anything else stays as written."""
        if match.group(0) != "?":
            return match.group(0)
        filled.append(values[len(filled)] if len(filled) < len(values) else "?")
        return filled[-1]

    text = _TOKENS.sub(put, sql)
    return text if len(filled) == len(values) else None


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> duckdb.DuckDBPyConnection:
    """`con.execute(sql, params)`, with the parameters written into the SQL when they can be (see module doc)."""
    if not params:
        return con.execute(sql)
    text = fill(sql, params)
    return con.execute(text) if text is not None else con.execute(sql, list(params))

"""Shared CLI plumbing: the `-c` option, one-line errors with exit code 2, the console."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from crawlers.config import CONFIG_FILENAME, Config, ConfigError, load_config
from warehouse.db import WarehouseError
from warehouse.load import LoadError

F = TypeVar("F", bound=Callable[..., Any])

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

ConfigOption = typer.Option(
    Path(CONFIG_FILENAME), "-c", "--config", help="Path to ghostcheck.toml.", show_default=True
)


class UserError(Exception):
    """A problem the user can fix, reported as one line with exit code 2."""


def fail(message: str) -> None:
    """Print one clear line to stderr and exit with code 2."""
    console.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(code=2)


def friendly(func: F) -> F:
    """Turn known errors into one-line messages (exit 2) instead of tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, UserError, WarehouseError, LoadError) as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"{exc.filename or exc}: file not found")
        except PermissionError as exc:
            fail(f"{exc.filename or exc}: permission denied")
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(code=130)
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
            if "--debug" in sys.argv or _verbose():
                raise
            fail(f"{type(exc).__name__}: {exc}")

    return wrapper  # type: ignore[return-value]


def _verbose() -> bool:
    """True when GHOSTCHECK_DEBUG is set: show tracebacks for bug reports."""
    import os

    return bool(os.environ.get("GHOSTCHECK_DEBUG"))


def plain(value: Any) -> Any:
    """A CSV/JSON-friendly value: dates as ISO strings, floats rounded to 4 places."""
    import datetime as dt

    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def emit_rows(columns: list[str], rows: list[tuple], fmt: str) -> bool:
    """Write rows to stdout as CSV or JSON and return True; False for `table` (the caller draws it)."""
    import csv
    import json

    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[plain(v) for v in row] for row in rows])
        return True
    if fmt == "json":
        sys.stdout.write(json.dumps([{c: plain(v) for c, v in zip(columns, row)} for row in rows], indent=2) + "\n")
        return True
    return False


def load_pending(cfg: Config, quiet: bool = False):  # type: ignore[no-untyped-def]
    """Load the landing files not yet in the warehouse, with a progress bar; return the LoadSummary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from warehouse.db import connect
    from warehouse.load import load_landing

    con = connect(cfg.warehouse.path)
    try:
        if quiet:
            return load_landing(con, cfg.warehouse.landing)
        with Progress(TextColumn("loading landing files"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), console=console, transient=True) as bar:
            task = bar.add_task("", total=None)

            def step(done: int, total: int, path: str) -> None:
                """Advance the bar to this file."""
                bar.update(task, completed=done, total=total, description=path.rsplit("/", 2)[-2])

            return load_landing(con, cfg.warehouse.landing, progress=step)
    finally:
        con.close()


def is_quiet(ctx: typer.Context | None) -> bool:
    """True when the global --quiet flag was given."""
    return bool(ctx is not None and ctx.obj and ctx.obj.get("quiet"))


def read_config(path: Path) -> Config:
    """Load the config named by `-c` (errors become one-line exits)."""
    return load_config(path)

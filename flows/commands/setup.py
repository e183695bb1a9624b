"""`ghostcheck init`, `ghostcheck status` and `ghostcheck load`: set up and inspect the warehouse."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from crawlers.config import CONFIG_FILENAME, parse_config
from flows.commands.common import ConfigOption, UserError, console, friendly, is_quiet, load_pending, out, read_config
from warehouse.db import connect, schema_version, table_counts
from warehouse.runs import latest_runs


def example_config() -> str:
    """The commented example ghostcheck.toml shipped with the package."""
    return resources.files("flows.templates").joinpath("ghostcheck.example.toml").read_text(encoding="utf-8")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add init, status and load to the CLI."""

    @app.command("init")
    @friendly
    def init(
        directory: Path = typer.Argument(Path("."), help="Folder to write ghostcheck.toml into."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing ghostcheck.toml."),
    ) -> None:
        """Write a commented example ghostcheck.toml."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CONFIG_FILENAME
        if target.exists() and not force:
            raise UserError(f"{target}: already exists (use --force to overwrite)")
        text = example_config()
        import tomllib

        parse_config(tomllib.loads(text), target)  # the example must always be valid
        target.write_text(text, encoding="utf-8")
        out.print(f"wrote {target}")

    @app.command("status")
    @friendly
    def status(config: Path = ConfigOption) -> None:
        """Open (and migrate) the warehouse and print its state."""
        cfg = read_config(config)
        con = connect(cfg.warehouse.path)
        table = Table(title=f"warehouse {cfg.warehouse.path} (schema v{schema_version(con)})")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in table_counts(con).items():
            table.add_row(name, f"{rows:,}")
        out.print(table)
        runs = latest_runs(con)
        if runs:
            runs_table = Table(title="latest runs")
            for col in ("run", "started", "finished", "status", "as of"):
                runs_table.add_column(col)
            for row in runs:
                runs_table.add_row(*[str(v) if v is not None else "" for v in row])
            out.print(runs_table)
        con.close()

    @app.command("load")
    @friendly
    def load(ctx: typer.Context, config: Path = ConfigOption) -> None:
        """Load landing files not yet in the warehouse (idempotent)."""
        summary = load_pending(read_config(config), is_quiet(ctx))
        out.print(
            f"loaded {summary.files_loaded} file(s), {summary.rows:,} row(s); "
            f"{summary.quarantined:,} quarantined; {summary.files_skipped} already loaded"
        )
        for error in summary.errors:
            console.print(f"[red]error:[/] {error}")
        if summary.errors and not summary.files_loaded:
            raise typer.Exit(code=2)

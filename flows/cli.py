"""The `ghostcheck` command line (Typer + rich); each command group lives in flows/commands/."""

from __future__ import annotations

import importlib
import os
from importlib.metadata import PackageNotFoundError, version

import typer

COMMAND_MODULES = (
    "setup",
    "crawl_directories",
    "crawl_sites",
    "ingest",
    "sample",
    "extract",
    "reconcile",
    "report",
    "audit",
    "demo",
    "export",
    "compliance",
    "history",
)


def _version() -> str:
    """The installed ghostcheck version."""
    try:
        return version("ghostcheck")
    except PackageNotFoundError:
        return "0+unknown"


def _show_version(value: bool) -> None:
    """Print the version and exit (for `--version`)."""
    if value:
        typer.echo(f"ghostcheck {_version()}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """Assemble the CLI from the command modules present in flows/commands/."""
    app = typer.Typer(
        name="ghostcheck",
        help="Audit health-insurer provider directories for ghost listings.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )
    groups = {
        "crawl": typer.Typer(help="Crawl insurer directories or practice websites.", no_args_is_help=True),
        "ingest": typer.Typer(help="Ingest practice reports.", no_args_is_help=True),
        "export": typer.Typer(help="Export findings and corrections.", no_args_is_help=True),
    }

    @app.callback()
    def main(
        ctx: typer.Context,
        version_: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True, help="Show the version."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print errors and final results."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Print more detail (and tracebacks)."),
    ) -> None:
        """ghostcheck: find ghost listings in provider directories."""
        ctx.obj = {"quiet": quiet, "verbose": verbose}
        # ghostcheck never phones home: no Prefect server analytics unless the user turns them on.
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        if verbose:
            os.environ["GHOSTCHECK_DEBUG"] = "1"

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"flows.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"flows.commands.{name}":
                raise
            continue
        module.register(app, groups)
    for name, group in groups.items():
        if group.registered_commands or group.registered_groups or group.registered_callback:
            app.add_typer(group, name=name)
    return app


app = build_app()

if __name__ == "__main__":
    app()

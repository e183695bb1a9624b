"""`ghostcheck demo`: build and serve the embedded local world, audit it, summarize, optionally serve the report."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import typer

from flows.commands.common import UserError, friendly, out


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the `demo` command to the CLI."""

    @app.command("demo")
    @friendly
    def demo(
        out_dir: Path = typer.Option(Path("ghostcheck-demo"), "--out", help="Folder for the demo's config, warehouse and report."),
        serve: bool = typer.Option(False, "--serve", help="After the run, serve the report on 127.0.0.1 until Ctrl-C."),
        seed: int = typer.Option(7, "--seed", help="Seed of the generated world (same seed, same world)."),
        practices: int = typer.Option(50, "--practices", min=8, max=500, help="Number of practices in the world."),
        prefect: bool = typer.Option(True, "--prefect/--no-prefect",
                                     help="Run the audit as a Prefect flow on a temporary local server (default), "
                                          "or call the same steps directly."),
        port: int = typer.Option(0, "--port", min=0, max=65535, help="Port for --serve (0: any free port)."),
    ) -> None:
        """Run the whole chain on a generated local world (3 insurer directories, ~50 practice sites, reports)."""
        from flows.demo.session import NotADemoFolder, clean_out_dir, demo_session
        from flows.demo.summary import print_summary, summarize

        started = time.perf_counter()
        try:
            clean_out_dir(out_dir.expanduser().resolve())
        except NotADemoFolder as exc:
            raise UserError(str(exc)) from None
        with demo_session(out_dir, seed=seed, n_practices=practices) as session:
            world = session.world
            out.print(f"Demo world: {len(world.practices)} practices, {len(world.listings)} listings from 3 insurers, "
                      f"{len(world.reports)} practice reports; serving on {session.running.sites_url.rsplit(':', 1)[0]}")
            try:
                result = session.audit(prefect=prefect)
            except RuntimeError as exc:
                raise UserError(str(exc)) from None
            from crawlers.config import load_config

            db_path = load_config(session.config_path).warehouse.path
            summary = summarize(result, world, session.running, db_path, time.perf_counter() - started)
            print_summary(out, summary, world)
            out.print(f"Config used: {session.config_path}")
            if serve:
                report_dir = getattr(result, "report_dir", None)
                if not report_dir or not Path(report_dir).is_dir():
                    raise UserError(f"{report_dir}: no report folder to serve")
                from flows.demo.servers import serve_directory

                with serve_directory(str(report_dir), port=port) as url:
                    out.print(f"Serving the report at [bold]{url}[/] (the demo world stays up for evidence links); "
                              "press Ctrl-C to stop.")
                    try:
                        threading.Event().wait()
                    except KeyboardInterrupt:
                        out.print("stopped")

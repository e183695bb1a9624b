"""A demo session: build the world, serve it, write its config, run the audit on it (used by CLI, tests, benchmark)."""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from flows.demo.config import DEMO_MARKER, TOKEN_ENV, write_demo_files
from flows.demo.servers import RunningWorld, serve_world
from flows.demo.world import World, build_world

# What a previous demo run left in the out dir (removed so every demo starts from a clean warehouse).
PREVIOUS_RUN = ("ghostcheck.duckdb", "ghostcheck.duckdb.wal", "landing", "report")


@dataclass
class DemoSession:
    """A served demo world with its config file; `audit()` runs the whole chain on it."""

    world: World
    running: RunningWorld
    out_dir: Path
    config_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    audit_seconds: list[float] = field(default_factory=list)

    def audit(self, *, prefect: bool = False, progress: Any = None) -> Any:
        """Run flows.audit.run_audit on the demo config (as of the world's date) with the API token set."""
        try:
            from flows.audit import run_audit
        except ImportError as exc:  # the audit flow is another package's file; say so in one line
            raise RuntimeError(f"the audit flow is not available (flows/audit.py: {exc})") from None
        previous = os.environ.get(TOKEN_ENV)
        os.environ[TOKEN_ENV] = self.world.token
        started = time.perf_counter()
        try:
            return run_audit(str(self.config_path), as_of=self.world.as_of, prefect=prefect, progress=progress)
        finally:
            self.audit_seconds.append(time.perf_counter() - started)
            if previous is None:
                os.environ.pop(TOKEN_ENV, None)
            else:
                os.environ[TOKEN_ENV] = previous


class NotADemoFolder(ValueError):
    """The out dir holds a ghostcheck.toml the demo did not write: never wipe a real audit's warehouse."""


def clean_out_dir(out_dir: Path) -> None:
    """Remove what an earlier demo run wrote (warehouse, landing files, report); refuse a real audit's folder."""
    config = out_dir / "ghostcheck.toml"
    if config.exists() and not config.read_text(encoding="utf-8", errors="replace").startswith(DEMO_MARKER):
        raise NotADemoFolder(f"{out_dir}: holds a ghostcheck.toml not written by `ghostcheck demo`; "
                             "choose another --out folder (the demo replaces its warehouse and report)")
    for name in PREVIOUS_RUN:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


@contextmanager
def demo_session(out_dir: str | Path, *, seed: int = 7, n_practices: int = 50, as_of: date | None = None,
                 browser: str | None = None) -> Iterator[DemoSession]:
    """Build and serve the demo world and write its config into out_dir, for the duration of the block."""
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    clean_out_dir(out)
    started = time.perf_counter()
    world = build_world(seed=seed, n_practices=n_practices, as_of=as_of)
    built = time.perf_counter()
    with serve_world(world) as running:
        config = write_demo_files(world, running, out, browser=browser)
        session = DemoSession(world, running, out, config, {"build_s": built - started})
        yield session

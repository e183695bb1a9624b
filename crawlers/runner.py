"""Run one spider in a child process (the Twisted reactor cannot restart) and report progress and outcome.

Parent side: `run_spider(...) -> SpiderResult`. Child side: `python -m crawlers.runner SPIDER --config FILE
--run-id ID -a insurer=NAME` prints `@@ghostcheck {json}` lines (progress, then result) on stdout; Scrapy's
log goes to stderr, of which the parent keeps a token-redacted tail.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

MARKER = "@@ghostcheck "
REPO_ROOT = Path(__file__).resolve().parent.parent
_BEARER = re.compile(r"(Bearer\s+)[^\s'\"]+", re.I)


@dataclass
class SpiderResult:
    """Outcome of one spider run: ok/failed, why, counts, the landing files written and the log tail."""

    status: str
    reason: str | None
    items: int = 0
    pages: int = 0
    landing_files: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)


def secrets_for(config_path: str) -> list[str]:
    """Token values named by the config's `token_env` keys (to be redacted from anything we print)."""
    from crawlers.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError:
        return []
    values = [os.environ.get(d.token_env, "") for d in config.directory if d.token_env]
    return [v for v in values if len(v) >= 4]


def redact(line: str, secrets: list[str]) -> str:
    """Replace token values and `Bearer xxx` in a log line."""
    for secret in secrets:
        line = line.replace(secret, "[redacted]")
    return _BEARER.sub(r"\1[redacted]", line)


def _child_command(spider: str, config_path: str, run_id: str, args: dict[str, str]) -> list[str]:
    """argv of the child process."""
    command = [sys.executable, "-m", "crawlers.runner", spider, "--config", str(config_path), "--run-id", run_id]
    for key, value in args.items():
        command += ["-a", f"{key}={value}"]
    return command


def _parse_marker(line: str) -> dict[str, Any] | None:
    """The JSON payload of a `@@ghostcheck` stdout line, else None."""
    if not line.startswith(MARKER):
        return None
    try:
        value = json.loads(line[len(MARKER):])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def run_spider(spider: str, config_path: str, run_id: str, args: dict[str, str],
               on_progress: Callable[[dict[str, Any]], None] | None = None,
               timeout: float | None = None) -> SpiderResult:
    """Run `spider` in a child process; call `on_progress({'pages','items'})` as it goes; never raises for crawl errors."""
    secrets = secrets_for(config_path)
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(_child_command(spider, config_path, run_id, args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", env=env,
                            start_new_session=True)
    tail: deque[str] = deque(maxlen=60)

    def read_stderr() -> None:
        """Keep the last lines of the child's log, redacted."""
        assert proc.stderr is not None
        for raw in proc.stderr:
            tail.append(redact(raw.rstrip("\n"), secrets))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    timed_out = threading.Event()

    def kill() -> None:
        """Stop a child that ran past `timeout`, with its own children (Chromium) - its process group only."""
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    result: dict[str, Any] | None = None
    assert proc.stdout is not None
    for line in proc.stdout:
        message = _parse_marker(line.rstrip("\n"))
        if message is None:
            continue
        if message.get("event") == "progress" and on_progress:
            on_progress({"pages": message.get("pages", 0), "items": message.get("items", 0)})
        elif message.get("event") == "result":
            result = message
    proc.wait()
    if timer:
        timer.cancel()
    reader.join(timeout=5)
    log_tail = list(tail)
    if timed_out.is_set():
        return SpiderResult("failed", f"timed out after {timeout:g}s", log_tail=log_tail)
    if result is None:
        errors = [l for l in log_tail if "ERROR" in l or "Error" in l] or log_tail or [f"exit code {proc.returncode}"]
        return SpiderResult("failed", f"spider process ended without a result: {errors[-1][-300:]}", log_tail=log_tail)
    return SpiderResult(
        status=result.get("status", "failed"), reason=redact(result["reason"], secrets) if result.get("reason") else None,
        items=int(result.get("items", 0)), pages=int(result.get("pages", 0)),
        landing_files=list(result.get("landing_files", [])), log_tail=log_tail,
    )


def emit(event: str, **payload: Any) -> None:
    """Print one machine-readable line for the parent process."""
    sys.stdout.write(MARKER + json.dumps({"event": event, **payload}) + "\n")
    sys.stdout.flush()


class ProgressReporter:
    """Scrapy extension (child side): print pages/items progress at most a few times a second."""

    interval = 0.25

    def __init__(self, crawler: Any) -> None:
        """Connect to the item and close signals."""
        from scrapy import signals

        self.crawler = crawler
        self.items = 0
        self.last = 0.0
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ProgressReporter":
        """Build from the crawler (Scrapy hook)."""
        return cls(crawler)

    def _report(self, force: bool = False) -> None:
        """Emit a progress line when the interval has passed (or when forced)."""
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            self.last = now
            spider = self.crawler.spider
            emit("progress", pages=getattr(spider, "pages", 0), items=self.items + getattr(spider, "published_items", 0))

    def item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        """Count listings/observations."""
        if isinstance(item, dict) and item.get("_kind") in ("listings", "observations"):
            self.items += len(item["_records"]) if "_records" in item else 1
        self._report()

    def response_received(self, response: Any = None, request: Any = None, spider: Any = None) -> None:
        """Report page progress."""
        self._report()


def child_main(argv: list[str] | None = None) -> int:
    """Child process entry: run one spider with CrawlerProcess and print its result line."""
    parser = argparse.ArgumentParser(prog="python -m crawlers.runner", description="Run one ghostcheck spider.")
    parser.add_argument("spider")
    parser.add_argument("--config", required=True)
    parser.add_argument("--run-id", default=None)
    parser.add_argument("-a", dest="args", action="append", default=[], help="spider argument NAME=VALUE")
    opts = parser.parse_args(argv)
    spider_args = dict(a.split("=", 1) for a in opts.args if "=" in a)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawlers.settings")

    from scrapy.crawler import CrawlerProcess
    from scrapy.spiderloader import get_spider_loader
    from scrapy.utils.project import get_project_settings

    from crawlers.landing import new_run_id

    settings = get_project_settings()
    settings.set("EXTENSIONS", {**settings.getdict("EXTENSIONS"), "crawlers.runner.ProgressReporter": 500})
    loader = get_spider_loader(settings)
    if opts.spider not in loader.list():
        emit("result", status="failed", reason=f"unknown spider {opts.spider!r} (have {', '.join(loader.list())})")
        return 2
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(opts.spider)
    process.crawl(crawler, config=opts.config, run_id=opts.run_id or new_run_id(), **spider_args)
    process.start()
    spider = crawler.spider
    outcome = getattr(spider, "outcome", None) or {
        "status": "failed", "reason": getattr(spider, "failure", None) or "spider did not finish", "items": 0,
        "pages": getattr(spider, "pages", 0)}
    emit("progress", pages=outcome.get("pages", 0), items=outcome.get("items", 0))
    emit("result", status=outcome["status"], reason=outcome.get("reason"), items=outcome.get("items", 0),
         pages=outcome.get("pages", 0), landing_files=getattr(spider, "landing_files", []))
    return 0 if outcome["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(child_main())

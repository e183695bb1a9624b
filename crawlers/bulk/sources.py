"""Find the NDJSON files of a FHIR bulk directory: a folder, a glob, a URL list, or a `$export` manifest.

Remote files are streamed to a local work folder (SSRF-checked, bearer token
from the environment, never logged) so DuckDB can read them at full speed.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawlers.config import CrawlConfig, DirectoryConfig
from crawlers.safety import check_url

RESOURCE_TYPES = (
    "PractitionerRole", "Practitioner", "Location", "Organization",
    "HealthcareService", "OrganizationAffiliation", "Endpoint",
)
NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")


class BulkSourceError(Exception):
    """The bulk source could not be listed or fetched (one line naming the URL or path)."""


@dataclass(frozen=True)
class BulkFile:
    """One NDJSON file of one resource type, available locally."""

    resource_type: str
    path: str
    origin: str


def _open_text(path: str):  # type: ignore[no-untyped-def]
    """Open a (possibly gzipped) NDJSON file for reading text."""
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def type_from_name(name: str) -> str | None:
    """The resource type a bulk file name announces (Practitioner.ndjson, PractitionerRole.000.ndjson.gz)."""
    stem = Path(name).name
    for kind in sorted(RESOURCE_TYPES, key=len, reverse=True):
        if stem.startswith(kind + ".") or stem.startswith(kind + "_") or stem.startswith(kind + "-") or stem == kind:
            return kind
    return None


def sniff_type(path: str) -> str | None:
    """The resourceType of the first parseable line of a file."""
    try:
        with _open_text(path) as fh:
            for _, line in zip(range(50), fh):
                try:
                    kind = json.loads(line).get("resourceType")
                except (ValueError, AttributeError):
                    continue
                if kind in RESOURCE_TYPES:
                    return str(kind)
    except OSError:
        return None
    return None


def _local_files(spec: str) -> list[str]:
    """Expand a folder or glob into NDJSON file paths."""
    path = Path(spec)
    if path.is_dir():
        return sorted(str(p) for p in path.rglob("*") if p.name.endswith(NDJSON_SUFFIXES))
    if glob.has_magic(spec):
        return sorted(p for p in glob.glob(spec, recursive=True) if p.endswith(NDJSON_SUFFIXES))
    if path.is_file() and path.name.endswith(NDJSON_SUFFIXES):
        return [str(path)]
    if path.is_file() and path.suffix in {".txt", ".list"}:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    raise BulkSourceError(f"{spec}: no NDJSON files found (expected a folder, a glob, a .txt URL list or a $export URL)")


class Fetcher:
    """Stream remote files to a work folder with the SSRF guard and an optional bearer token."""

    def __init__(self, crawl: CrawlConfig, token: str | None, work_dir: str) -> None:
        """Remember the crawl settings, token and target folder."""
        self.crawl = crawl
        self.token = token
        self.work_dir = work_dir

    def _request(self, url: str, accept: str) -> urllib.request.Request:
        """A GET request with our user agent and, for the token's own host, the token."""
        check_url(url, self.crawl.allow_private_networks)
        headers = {"User-Agent": self.crawl.user_agent, "Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return urllib.request.Request(url, headers=headers)

    def json(self, url: str) -> dict:
        """GET a JSON document (the $export status manifest)."""
        try:
            with urllib.request.urlopen(self._request(url, "application/json"), timeout=self.crawl.timeout_seconds) as resp:
                status = resp.status
                body = resp.read(50_000_000)
        except urllib.error.HTTPError as exc:
            raise BulkSourceError(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise BulkSourceError(f"{url}: {getattr(exc, 'reason', exc)}") from None
        if status == 202:
            raise BulkSourceError(f"{url}: export still in progress (HTTP 202); try again later")
        try:
            data = json.loads(body)
        except ValueError:
            raise BulkSourceError(f"{url}: manifest is not JSON") from None
        if not isinstance(data, dict):
            raise BulkSourceError(f"{url}: manifest is not a JSON object")
        return data

    def download(self, url: str) -> str:
        """Stream one file to the work folder; return its local path."""
        name = Path(urlsplit(url).path).name or "file.ndjson"
        target = Path(self.work_dir) / f"{len(os.listdir(self.work_dir)):05d}-{name}"
        try:
            with urllib.request.urlopen(self._request(url, "application/fhir+ndjson"), timeout=self.crawl.timeout_seconds) as resp:
                with open(target, "wb") as fh:
                    shutil.copyfileobj(resp, fh, length=1 << 20)
        except urllib.error.HTTPError as exc:
            raise BulkSourceError(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise BulkSourceError(f"{url}: {getattr(exc, 'reason', exc)}") from None
        return str(target)


def resolve_files(directory: DirectoryConfig, crawl: CrawlConfig, work_dir: str) -> list[BulkFile]:
    """Every NDJSON file of the directory with its resource type, fetched locally when remote."""
    token = os.environ.get(directory.token_env) if directory.token_env else None
    if directory.token_env and not token:
        raise BulkSourceError(f"{directory.url}: environment variable {directory.token_env} (token_env) is not set")
    fetcher = Fetcher(crawl, token, work_dir)
    spec = directory.url
    entries: list[tuple[str | None, str]] = []
    if spec.startswith(("http://", "https://")):
        if spec.split("?")[0].endswith(NDJSON_SUFFIXES):
            entries = [(None, spec)]
        else:
            manifest = fetcher.json(spec)
            outputs = manifest.get("output")
            if not isinstance(outputs, list):
                raise BulkSourceError(f"{spec}: manifest has no output list")
            entries = [(o.get("type"), o.get("url")) for o in outputs if isinstance(o, dict) and o.get("url")]
    else:
        entries = [(None, p) for p in _local_files(spec)]
    files = []
    for declared, location in entries:
        local = fetcher.download(location) if location.startswith(("http://", "https://")) else location
        kind = declared if declared in RESOURCE_TYPES else (type_from_name(location) or sniff_type(local))
        if kind:
            files.append(BulkFile(kind, local, location))
    if not any(f.resource_type == "PractitionerRole" for f in files):
        raise BulkSourceError(f"{spec}: no PractitionerRole file among {len(files)} bulk file(s)")
    return files

"""The lazy spider loader: its registry matches the spiders Scrapy finds, and loading one imports only that one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader, get_spider_loader

from crawlers import settings as project_settings
from crawlers.spiders import SPIDERS, LazySpiderLoader

ROOT = Path(__file__).resolve().parent.parent


def test_registry_matches_the_spiders_found_by_walking_the_modules() -> None:
    """Every spider class under SPIDER_MODULES is registered under its name, and nothing else is."""
    walked = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": project_settings.SPIDER_MODULES}))
    lazy = LazySpiderLoader()
    assert lazy.list() == sorted(walked.list())
    for name in walked.list():
        assert lazy.load(name) is walked.load(name)


def test_project_settings_use_the_lazy_loader_and_unknown_names_fail_like_scrapy() -> None:
    """Scrapy builds our loader from the project settings; an unknown name raises KeyError as Scrapy's does."""
    settings = Settings({"SPIDER_LOADER_CLASS": project_settings.SPIDER_LOADER_CLASS})
    loader = get_spider_loader(settings)
    assert isinstance(loader, LazySpiderLoader)
    with pytest.raises(KeyError, match="nope"):
        loader.load("nope")


def test_loading_the_fhir_spider_does_not_import_the_other_spiders() -> None:
    """A FHIR crawl's child process does not pay for the site crawler or the QHP reader at start-up."""
    code = ("import sys; from crawlers.spiders import LazySpiderLoader; LazySpiderLoader().load('fhir_directory'); "
            "print(sorted(m for m in sys.modules if m.startswith('crawlers.spiders.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "['crawlers.spiders.fhir']"
    assert set(SPIDERS) >= {"fhir_directory", "qhp_directory"}

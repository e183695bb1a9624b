"""Claim extraction from practice web pages: pure functions the website spider calls per page and per site.

`extract_page` turns one fetched page into `PageClaims`; `aggregate_site` merges a site's pages into
landing `observations` records (source="website"). No network, no DuckDB.
"""

from crawlers.extract.page import Claim, PageClaims, extract_page
from crawlers.extract.site import aggregate_site
from crawlers.extract.text import Block, visible_blocks, visible_text

__all__ = ["Block", "Claim", "PageClaims", "aggregate_site", "extract_page", "visible_blocks", "visible_text"]

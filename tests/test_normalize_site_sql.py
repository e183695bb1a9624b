"""The SQL split of plain website URLs in reconcile.batch gives exactly what site_parts gives."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.batch import _normalize_sites, site_parts


@pytest.fixture(scope="module")
def con(module_duckdb):
    """This module's shared DuckDB file (tests/conftest.py)."""
    return module_duckdb


def sql_sites(con, urls: list[str]) -> dict[str, tuple]:
    """Run the batch stage's site normalization over `urls`; {url: (site_domain, site_root)}."""
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_l (website VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_src_o (source VARCHAR, site_url VARCHAR, evidence_url VARCHAR)")
    con.executemany("INSERT INTO temp_rc_src_o VALUES ('website', ?, NULL)", [[u] for u in dict.fromkeys(urls)])
    _normalize_sites(con)
    return {v: (d, r) for v, d, r in con.execute("SELECT v, site_domain, site_root FROM temp_rc_url").fetchall()}


_HOSTS = st.sampled_from(["www.springfieldfamily.org", "Springfield-Peds.COM", "x.co.uk", "clinic.example.net",
                          "localhost", "x.org.", "a.b.c.d.health", "xn--bcher-kva.example", "127.0.0.1", "x"])
_SEGMENTS = st.sampled_from(["", "Springfield", "team", "index.html", "Home", "default.aspx", "our-providers",
                             "a.b", "~doc", "%20x", "q?x=1", "#top"])
_SCHEMES = st.sampled_from(["https://", "http://", "HTTPS://", "", "ftp://", "https:/", "//"])


@given(st.lists(st.tuples(_SCHEMES, _HOSTS, st.sampled_from(["", ":8080", ":443", "@x"]),
                          st.lists(_SEGMENTS, max_size=3), st.sampled_from(["", "/"])), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_site_parts_equal_python(con, parts):
    urls = [f"{scheme}{host}{port}" + "".join(f"/{s}" for s in segments) + tail
            for scheme, host, port, segments, tail in parts]
    for url, value in sql_sites(con, urls).items():
        assert value == (site_parts(url) or (None, None)), url

"""The reconciliation run: normalize -> link -> compare -> findings + metrics, over the warehouse views."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.actions import action_contacts, add_actions
from reconcile.batch import Prepared, prepare
from reconcile.compare import build_evidence
from reconcile.findings import build_findings
from reconcile.link import link_all
from reconcile.metrics import compute_metrics, with_call_metrics
from reconcile.plan_metrics import with_plan_metrics
from reconcile.reference import apply_reference, with_reference_findings
from reconcile.settings import ReconcileSettings
from reconcile.temp import drop_temp

OBSERVED_VALUE_COLUMNS = ("listing_id", "insurer", "field", "directory_value", "observed_value", "agrees",
                          "evidence_source", "observation_id", "observed_at")


@dataclass
class ReconcileResult:
    """Everything one run decided: links, findings, metrics, per-listing observed values, and stage timings."""

    as_of: dt.date
    links: pa.Table
    findings: pa.Table
    metrics: pa.Table
    observed_values: pa.Table
    listings_checked: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


# The TEMP tables findings, observed values and metrics read (compare's verdicts and what cross-directory
# conflicts and reference findings join); every other table of the run is dropped once compare is done.
AFTER_COMPARE_TABLES = ("temp_rc_l", "temp_rc_verdict", "temp_rc_dir_links", "temp_rc_addr_match", "temp_rc_ref")
# What the recommended actions' contacts, the observed values and the metrics read.
AFTER_FINDINGS_TABLES = ("temp_rc_l", "temp_rc_verdict")


def _drop_temp_tables(con: duckdb.DuckDBPyConnection, keep: tuple[str, ...] = ()) -> None:
    """Drop this module's TEMP tables (temp_rc_* and _temp_rc_*) except `keep`: a clean start, and memory freed."""
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND "
        "(starts_with(table_name, 'temp_rc_') OR starts_with(table_name, '_temp_rc_'))"
    ).fetchall()
    drop_temp(con, *(name for (name,) in names if name not in keep))
    if "temp_rc_links" not in keep:  # link's one TEMP view (over tables dropped above)
        con.execute("DROP VIEW IF EXISTS temp.temp_rc_links")


def _observed_values(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Per listing and field: the listing's value and the deciding evidence's value (listing history).

    Ordered by listing_id, field: temp_rc_l's integer lid is dense and in listing_id order (reconcile.batch), so
    sorting on it gives the same order as the strings at a fraction of the cost.
    """
    return con.execute(
        """
        SELECT v.listing_id, l.insurer, v.field,
               CASE v.field WHEN 'accepting_status' THEN l.status WHEN 'phone' THEN l.phone
                            WHEN 'reachable' THEN l.phone WHEN 'address' THEN l.address_display
                            WHEN 'provider' THEN l.name_text WHEN 'insurer' THEN l.insurer END AS directory_value,
               v.observed_value, NOT v.contradicts AS agrees, v.source AS evidence_source,
               v.observation_id, v.observed_at
        FROM temp_rc_verdict v JOIN temp_rc_l l USING (listing_id) WHERE l.role = 'audited'
        ORDER BY l.lid, v.field
        """
    ).to_arrow_table()


@contextmanager
def _unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB build the run's TEMP tables without preserving insertion order (less memory, more parallelism).

    Every result the run returns is ORDER BY'd and every QUALIFY has a total order, so nothing depends on
    the physical order of a TEMP table. The connection's own setting is restored afterwards.
    """
    before = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


def reconcile(con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ReconcileSettings) -> ReconcileResult:
    """Reconcile the `listings` view against the `observations` view (and other directories) as of a date.

    Reads views and writes only TEMP tables; the caller persists the result with warehouse.store.save_reconcile.
    """
    with _unordered(con):
        return _reconcile(con, as_of, settings)


def _reconcile(con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ReconcileSettings) -> ReconcileResult:
    """The stages of reconcile(), timed one by one."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    timings: dict[str, float] = {}
    _drop_temp_tables(con)
    start = time.perf_counter()
    prep = prepare(con, settings)
    timings["normalize"] = time.perf_counter() - start
    start = time.perf_counter()
    links = link_all(con, prep, settings.link_threshold, settings.threads)
    timings["link"] = time.perf_counter() - start
    return _after_link(con, prep, links, as_of, settings, timings)


def _after_link(con: duckdb.DuckDBPyConnection, prep: Prepared, links: pa.Table, as_of: dt.date,
                settings: ReconcileSettings, timings: dict[str, float]) -> ReconcileResult:
    """The stages after link (compare, findings, metrics), timed one by one; ends the run."""
    start = time.perf_counter()
    build_evidence(con, prep)
    links = pa.concat_tables([links, apply_reference(con, prep).cast(links.schema)])  # reconcile/reference.py
    timings["compare"] = time.perf_counter() - start
    counts = dict(prep.counts)
    # Links and evidence are decided: free DuckDB's memory for the findings / observed-values Arrow tables.
    _drop_temp_tables(con, keep=AFTER_COMPARE_TABLES)
    prep.addresses.clear()  # the parsed objects are only for pairwise matching (link, compare): free them before
    prep.names.clear()      # the findings/observed-values Arrow tables are built (peak RSS at national scale)
    start = time.perf_counter()
    findings = build_findings(con, as_of, settings.stale_days, settings.min_confidence)
    findings = with_reference_findings(con, findings, settings.min_confidence)
    # Only the listings and verdicts are read from here on (contacts, observed values, metrics): free the rest.
    _drop_temp_tables(con, keep=AFTER_FINDINGS_TABLES)
    contacts = action_contacts(findings, con)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The recommended actions are Arrow compute and Python over the findings; DuckDB releases the GIL while it
        # builds the observed values and the metrics, so the two overlap on the machine's cores.
        pending = pool.submit(add_actions, findings, contacts)
        observed = _observed_values(con)
        timings["findings"] = time.perf_counter() - start
        start = time.perf_counter()
        metrics = with_plan_metrics(con, as_of,
                                    with_call_metrics(con, as_of, compute_metrics(con, as_of, settings.stale_days)))
        findings = pending.result()  # "metrics" includes waiting for the actions still being written
    timings["metrics"] = time.perf_counter() - start
    # The observed values are exactly the audited listings' verdicts: count their listings instead of a second join.
    checked = pc.count_distinct(observed.column("listing_id")).as_py() if observed.num_rows else 0
    counts.update(links=links.num_rows, findings=findings.num_rows)
    _drop_temp_tables(con)
    return ReconcileResult(as_of=as_of, links=links, findings=findings, metrics=metrics, observed_values=observed,
                           listings_checked=int(checked), timings=timings, counts=counts)

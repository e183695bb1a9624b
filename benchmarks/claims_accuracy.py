"""Accuracy of page-claim extraction on the labelled corpus (tests/data/claims): status and insurer lists.

Usage: python benchmarks/claims_accuracy.py [--split dev|heldout|both] [--errors]
Prints per-label status accuracy, a confusion matrix, and exact-match rates of the insurer lists.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.extract.insurers import insurer_key  # noqa: E402
from crawlers.extract.page import extract_page  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "claims"
LABELS = ("accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown")


def load(split: str) -> list[dict[str, Any]]:
    """Read one corpus split (dev or heldout) as a list of records."""
    path = CORPUS / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def same_list(got: list[str], want: list[str]) -> bool:
    """Insurer lists match exactly, as sets of normalized verbatim names."""
    return sorted({insurer_key(x) for x in got}) == sorted({insurer_key(x) for x in want})


def evaluate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Run extraction on every record and collect status/insurer results and errors."""
    confusion: Counter[tuple[str, str]] = Counter()
    acc_ok = nacc_ok = both_ok = 0
    errors: list[str] = []
    started = time.perf_counter()
    for rec in records:
        body = rec.get("html") or rec.get("text") or ""
        page = extract_page(body, f"https://practice.example/{rec['id']}", "2026-01-01T00:00:00Z", "0" * 64, rec.get("known_insurers") or ())
        confusion[(rec["status"], page.status)] += 1
        a = same_list(page.insurers_accepted, rec["insurers_accepted"])
        n = same_list(page.insurers_not_accepted, rec["insurers_not_accepted"])
        acc_ok += a
        nacc_ok += n
        both_ok += a and n
        if page.status != rec["status"]:
            errors.append(f"{rec['id']} status want={rec['status']} got={page.status} :: {body[:140]!r}")
        if not (a and n):
            errors.append(
                f"{rec['id']} insurers want={rec['insurers_accepted']}/{rec['insurers_not_accepted']} "
                f"got={page.insurers_accepted}/{page.insurers_not_accepted} :: {body[:120]!r}"
            )
    n_rec = len(records)
    correct = sum(v for (w, g), v in confusion.items() if w == g)
    return {
        "n": n_rec,
        "status_accuracy": correct / n_rec if n_rec else 0.0,
        "accepted_exact": acc_ok / n_rec if n_rec else 0.0,
        "not_accepted_exact": nacc_ok / n_rec if n_rec else 0.0,
        "insurers_exact": both_ok / n_rec if n_rec else 0.0,
        "confusion": confusion,
        "errors": errors,
        "seconds": time.perf_counter() - started,
    }


def print_report(name: str, result: dict[str, Any]) -> None:
    """Print the per-label accuracy table, confusion matrix and insurer exact-match rates."""
    confusion = result["confusion"]
    print(f"\n== {name}: {result['n']} passages, {result['seconds'] * 1000 / max(result['n'], 1):.1f} ms/passage ==")
    print(f"{'label':<15}{'n':>5}{'correct':>9}{'accuracy':>10}")
    for label in LABELS:
        total = sum(v for (w, _g), v in confusion.items() if w == label)
        good = confusion[(label, label)]
        print(f"{label:<15}{total:>5}{good:>9}{(good / total if total else float('nan')):>10.1%}")
    print(f"{'ALL':<15}{result['n']:>5}{'':>9}{result['status_accuracy']:>10.1%}")
    print("\nconfusion (rows = label, columns = extracted)")
    short = {"accepting": "acc", "not_accepting": "not", "existing_only": "exist", "waitlist": "wait", "limited": "lim", "unknown": "unk"}
    print(f"{'':<15}" + "".join(f"{short[g]:>7}" for g in LABELS))
    for w in LABELS:
        print(f"{w:<15}" + "".join(f"{confusion[(w, g)]:>7}" for g in LABELS))
    print(f"\ninsurers accepted exact:      {result['accepted_exact']:.1%}")
    print(f"insurers not accepted exact:  {result['not_accepted_exact']:.1%}")
    print(f"both lists exact:             {result['insurers_exact']:.1%}")


def synthetic_page(providers: int = 12, plans: int = 24, filler: int = 200) -> str:
    """A realistic practice page (~50 KB): nav, hero, team cards, plan list, FAQ, long prose, footer."""
    plan_names = ["Aetna", "Cigna", "Humana", "UnitedHealthcare", "Blue Cross Blue Shield of Illinois", "Medicare",
                  "Medicaid", "Tricare", "Ambetter", "Molina Healthcare", "Oscar Health", "Acme Health"]
    cards = "".join(
        f"<div class='card'><h3>Dr. First{i} Last{i}, MD</h3><p>Family Medicine</p>"
        f"<p>{'Accepting new patients' if i % 3 else 'Not accepting new patients'}</p></div>" for i in range(providers)
    )
    items = "".join(f"<li>{plan_names[i % len(plan_names)]} {'' if i < len(plan_names) else 'Plan ' + str(i)}</li>" for i in range(plans))
    prose = "<p>Our board-certified physicians provide preventive care, chronic disease management, women's health, " \
            "sports physicals and same-day sick visits for the whole family in a friendly, modern office.</p>" * filler
    return (
        "<html><head><title>Maple Family Medicine</title><script>window.dataLayer=[];</script></head><body>"
        "<header><nav class='main-nav'><ul><li>Home</li><li>New Patients</li><li>Insurance</li><li>Our Team</li></ul></nav></header>"
        "<main><h1>Welcome to Maple Family Medicine</h1><p>We are accepting new patients!</p>" + prose
        + "<h2>Our Providers</h2>" + cards + "<h2>Insurance Plans We Accept</h2><ul>" + items + "</ul>"
        "<p>We no longer accept Cobalt Care.</p><h2>FAQ</h2><h4>Do you take Medicaid?</h4><p>Yes, we do.</p></main>"
        "<footer><p>Phone: (217) 555-0100 | Fax: (217) 555-0199</p><address>1200 W. Main Street, Suite 4<br>"
        "Springfield, IL 62704</address></footer></body></html>"
    )


def throughput(repeat: int = 40) -> None:
    """Time extract_page on the synthetic page (caches cleared each run) and print pages per second."""
    from crawlers.extract import contacts

    html = synthetic_page()
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(repeat):
        contacts.phones_in_text.cache_clear()
        contacts._addresses_in.cache_clear()
        extract_page(html, f"https://maple.example/p{i}", "2026-01-01T00:00:00Z", "0" * 64, ("Acme Health", "Cobalt Care"))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"\n== throughput: synthetic practice page of {len(html) / 1024:.0f} KiB, {repeat} runs, one process ==")
    print(f"{'wall ms/page':<14}{'CPU ms/page':>12}{'pages/s (wall)':>16}")
    print(f"{elapsed * 1000 / repeat:<14.1f}{cpu * 1000 / repeat:>12.1f}{repeat / elapsed:>16.1f}")


def main() -> int:
    """Evaluate the requested splits and print the tables (errors only on request)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--errors", action="store_true", help="list every mismatch")
    parser.add_argument("--no-throughput", action="store_true", help="skip the pages-per-second timing")
    args = parser.parse_args()
    splits = ("dev", "heldout") if args.split == "both" else (args.split,)
    for split in splits:
        result = evaluate(load(split))
        print_report(split, result)
        if args.errors:
            print("\n".join(result["errors"]))
    if not args.no_throughput:
        throughput()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Specialties: map codes, NUCC names, common synonyms and near-misses to a NUCC taxonomy entry.

Order: a NUCC code anywhere in the text; the verbatim NUCC display name; normalized display name; shipped synonym
(reconcile/data/specialty_synonyms.csv, e.g. "PCP" -> Family Medicine 207Q00000X, "Cardiology" -> Cardiovascular
Disease); a classification/specialization name (ties go to active physician rows); composite labels
("Internal Medicine - Gastroenterology"); then rapidfuzz token_sort_ratio >= 90 over all of those names.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

__all__ = ["Specialty", "lookup_specialty", "specialty_by_code"]

_CODE = re.compile(r"\b(\d{3}[0-9A-Z]{6}X)\b", re.IGNORECASE)
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_TRAILING_ROLE = re.compile(r"\s+(?:physician|physicians|doctor|doctors|provider|providers|practice)$")
_FUZZY_CUTOFF = 90.0  # token_sort_ratio: typos ("Dermatolgy") pass, different specialties ("Neurology"/"Urology") fail


@dataclass(frozen=True)
class Specialty:
    """One NUCC Health Care Provider Taxonomy entry."""

    code: str
    display: str
    classification: str
    specialization: str


def _norm(text: str) -> str:
    """Comparison form of a specialty label: ASCII, casefold, '&'->'and', punctuation to spaces, no trailing 'physician'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    text = text.replace("&", " and ").replace("'", "")
    text = " ".join(_NON_WORD.sub(" ", text).split())
    return _TRAILING_ROLE.sub("", text) if " " in text else text


@lru_cache(maxsize=1)
def _taxonomy() -> dict[str, Specialty]:
    """Read reconcile/data/nucc_provider_taxonomy.csv once into code -> Specialty (file order kept)."""
    with resources.files("reconcile.data").joinpath("nucc_provider_taxonomy.csv").open(encoding="utf-8") as handle:
        return {
            row["Code"].strip().upper(): Specialty(
                code=row["Code"].strip().upper(),
                display=row["Display Name"].strip(),
                classification=row["Classification"].strip(),
                specialization=row["Specialization"].strip(),
            )
            for row in csv.DictReader(handle)
            if row.get("Code")
        }


def _preference(spec: Specialty) -> tuple[int, int]:
    """Order candidates sharing a name: active before deactivated, physicians (20x) before others."""
    return (int(spec.display.startswith("Deactivated")), int(not spec.code.startswith("20")))


@lru_cache(maxsize=1)
def _name_index() -> dict[str, Specialty]:
    """Map normalized names to entries; priority: NUCC display name > shipped synonym > (classification, specialization)."""
    taxonomy = _taxonomy()
    candidates: dict[str, list[Specialty]] = {}
    for spec in taxonomy.values():
        candidates.setdefault(_norm(spec.specialization or spec.classification), []).append(spec)
    for spec in taxonomy.values():  # classifications with no generalist row ("Radiology", "Pathology")
        candidates.setdefault(_norm(spec.classification), []).append(spec)
    index = {key: min(specs, key=_preference) for key, specs in candidates.items() if key}
    with resources.files("reconcile.data").joinpath("specialty_synonyms.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            spec = taxonomy.get(row["code"].strip().upper())
            if spec is not None:
                index[_norm(row["synonym"])] = spec
    displays: dict[str, list[Specialty]] = {}
    for spec in taxonomy.values():
        displays.setdefault(_norm(spec.display), []).append(spec)
    index.update({key: min(specs, key=_preference) for key, specs in displays.items() if key})
    return index


@lru_cache(maxsize=1)
def _display_index() -> dict[str, Specialty]:
    """Map each verbatim NUCC display name (casefolded, spaces collapsed) to its entry."""
    index: dict[str, Specialty] = {}
    for spec in _taxonomy().values():
        index.setdefault(" ".join(spec.display.casefold().split()), spec)
    return index


@lru_cache(maxsize=1)
def _fuzzy_choices() -> tuple[list[str], list[Specialty]]:
    """Names and entries for fuzzy matching (deactivated entries left out)."""
    items = [(k, v) for k, v in _name_index().items() if not v.display.startswith("Deactivated") and len(k) >= 5]
    return [k for k, _ in items], [v for _, v in items]


_SPLIT = re.compile(r"\s+-\s+|\s*[,;:|]\s*|\s*\(\s*|\s*\)\s*|\s+/\s+")


@lru_cache(maxsize=1)
def _pair_index() -> dict[tuple[str, str], Specialty]:
    """Map (classification, specialization) normalized pairs to their entry."""
    return {(_norm(s.classification), _norm(s.specialization)): s for s in _taxonomy().values() if s.specialization}


def _lookup_pair(text: str) -> Specialty | None:
    """Resolve composite labels: "Internal Medicine - Gastroenterology", "Sleep Medicine (Pediatrics)"."""
    parts = [_norm(p) for p in _SPLIT.split(text) if p and p.strip()]
    if len(parts) < 2:
        return None
    pairs = _pair_index()
    for a, b in ((parts[0], parts[1]), (parts[1], parts[0])):
        if (a, b) in pairs:
            return pairs[(a, b)]
    index = _name_index()
    for part in reversed(parts):  # the more specific part usually comes last
        if part in index:
            return index[part]
    return None


def specialty_by_code(code: str | None) -> Specialty | None:
    """Return the NUCC entry for a taxonomy code, or None."""
    return _taxonomy().get(code.strip().upper()) if code else None


@lru_cache(maxsize=65_536)
def lookup_specialty(text: str | None) -> Specialty | None:
    """Resolve a specialty label or code: NUCC code, exact NUCC name, synonym, then a safe fuzzy match."""
    if not text or not isinstance(text, str) or not text.strip():
        return None
    code_match = _CODE.search(text)
    if code_match:
        spec = specialty_by_code(code_match.group(1))
        if spec is not None:
            return spec
    exact = _display_index().get(" ".join(text.casefold().split()))
    if exact is not None:
        return exact
    key = _norm(text)
    if not key:
        return None
    index = _name_index()
    if key in index:
        return index[key]
    pair = _lookup_pair(text)
    if pair is not None:
        return pair
    if len(key) < 5:
        return None
    names, specs = _fuzzy_choices()
    best = process.extractOne(key, names, scorer=fuzz.token_sort_ratio, score_cutoff=_FUZZY_CUTOFF)
    return specs[best[2]] if best else None

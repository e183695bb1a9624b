"""Insurer names: normalization and matching free-text names to the configured (canonical) insurers.

``normalize_insurer_name`` casefolds, folds accents, turns "&" into "and", strips punctuation, drops legal
suffixes (inc, llc, co, company, corp, ltd, lp, plc, the) and generic words (health plan(s), plan(s),
insurance, healthcare, health, assurance, mutual) and product words (ppo, hmo, epo, pos). It KEEPS "of <state>":
"Blue Cross Blue Shield of Illinois" and "... of Texas" are different insurers. When stripping would leave
nothing (e.g. "Health Plan"), the stripped-only-of-punctuation form is returned instead.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

__all__ = ["normalize_insurer_name", "InsurerMatcher", "load_insurer_aliases"]

_LEGAL = {"inc", "incorporated", "llc", "llp", "lp", "co", "company", "corp", "corporation", "ltd", "plc", "the", "pc"}
_GENERIC = {"health", "healthcare", "plan", "plans", "insurance", "assurance", "mutual", "ppo", "hmo", "epo", "pos",
            "network", "networks", "hmopos", "ppos", "hmos"}
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_FUZZY_CUTOFF = 88.0  # tuned: "Acme Health"~"Acme Health Plan"~"ACME" match, "Acme Health"/"Apex Health" do not
_STATE_TAIL = re.compile(r"\bof (\w+(?: \w+)?)$")


def _fold(text: str) -> str:
    """Casefold, strip accents, turn '&' into 'and' and punctuation into spaces."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    return " ".join(_NON_WORD.sub(" ", text).split())


@lru_cache(maxsize=65_536)
def normalize_insurer_name(text: str | None) -> str:
    """Return the comparison form of an insurer name ('' for None/empty); see the module docstring for the rules."""
    if not text:
        return ""
    folded = _fold(str(text))
    words = [w for w in folded.split() if w not in _LEGAL]
    core = [w for w in words if w not in _GENERIC]
    while core and core[-1] in {"of", "and"}:
        core.pop()
    while core and core[0] in {"of", "and"}:
        core.pop(0)
    return " ".join(core) or " ".join(words) or folded


@lru_cache(maxsize=1)
def load_insurer_aliases() -> tuple[tuple[str, str, str], ...]:
    """Read the shipped alias table reconcile/data/insurer_aliases.csv as (family, alias, kind) rows, once."""
    with resources.files("reconcile.data").joinpath("insurer_aliases.csv").open(encoding="utf-8") as handle:
        return tuple((row["family"], row["alias"], row["kind"]) for row in csv.DictReader(handle))


def _contains_phrase(haystack: str, needle: str) -> int:
    """Return the word position where needle occurs as whole words in haystack, or -1."""
    if not needle:
        return -1
    padded = f" {haystack} "
    index = padded.find(f" {needle} ")
    return -1 if index < 0 else padded.count(" ", 0, index + 1) - 1


def _state_of(normalized: str) -> str | None:
    """Return the '<state>' of a trailing 'of <state>' qualifier, if any."""
    match = _STATE_TAIL.search(normalized)
    return match.group(1) if match else None


class InsurerMatcher:
    """Match free-text insurer names (from websites, reports) to a fixed list of canonical insurer names."""

    def __init__(self, canonical: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None) -> None:
        """Index canonical names, config aliases (canonical -> aliases) and the shipped alias families."""
        self.canonical: list[str] = [c for c in dict.fromkeys(canonical) if c and c.strip()]
        exact: dict[str, set[str]] = defaultdict(set)  # normalized key -> canonical names
        for name in self.canonical:
            exact[normalize_insurer_name(name)].add(name)
        for name, names in (aliases or {}).items():
            target = self._resolve_canonical(name)
            for alias in names:
                if target and normalize_insurer_name(alias):
                    exact[normalize_insurer_name(alias)].add(target)
        self._exact = {k: next(iter(v)) for k, v in exact.items() if len(v) == 1}
        self._phrases: list[tuple[str, str, bool]] = []  # (normalized alias, canonical, is_program)
        self._add_families(exact)
        self._choices = [k for k, v in self._exact.items() if v]
        self._choice_targets = [self._exact[k] for k in self._choices]

    def _resolve_canonical(self, name: str) -> str | None:
        """Return the canonical name that a config alias key refers to (exact or normalized)."""
        if name in self.canonical:
            return name
        wanted = normalize_insurer_name(name)
        hits = [c for c in self.canonical if normalize_insurer_name(c) == wanted]
        return hits[0] if len(hits) == 1 else None

    def _add_families(self, exact: dict[str, set[str]]) -> None:
        """Attach each shipped alias family to the one canonical name it names (ambiguous families are skipped)."""
        families: dict[str, list[tuple[str, str]]] = defaultdict(list)
        unowned: list[tuple[str, str, bool]] = []
        for family, alias, kind in load_insurer_aliases():
            families[family].append((normalize_insurer_name(alias), kind))
        for family, rows in families.items():
            names = {normalize_insurer_name(family)} | {a for a, _ in rows}
            owners = set()
            for canon in self.canonical:
                norm = normalize_insurer_name(canon)
                if norm in names or any(k != "exact" and len(a) >= 4 and _contains_phrase(norm, a) >= 0
                                        for a, k in rows):
                    owners.add(canon)
            is_program = any(k == "program" for _, k in rows)
            if len(owners) != 1:  # a known insurer that is not configured (or ambiguous): "" = known, not ours
                unowned.extend((alias, kind, is_program) for alias, kind in rows)
                continue
            owner = owners.pop()
            for alias, kind in rows:
                if alias and alias not in self._exact and alias not in exact:
                    self._exact[alias] = owner
                if alias and kind != "exact":
                    self._phrases.append((alias, owner, is_program))
        for alias, kind, is_program in unowned:
            if alias and alias not in self._exact and alias not in exact:
                self._exact[alias] = ""
                if kind != "exact":
                    self._phrases.append((alias, "", is_program))
        programs = {normalize_insurer_name(a) for _, a, k in load_insurer_aliases() if k == "program"}
        for key, owner in list(self._exact.items()):  # canonical names and config aliases inside longer text
            if len(key) >= 4 and owner:
                self._phrases.append((key, owner, normalize_insurer_name(owner) in programs))
        self._phrases.sort(key=lambda p: -len(p[0]))

    def _match_exact(self, norm: str) -> str | None:
        """Exact name or alias, else a known alias phrase inside the text (brands before programs).

        Returns the canonical name, "" for a known insurer that is not configured (no fuzzy guess then), or None.
        """
        if not norm:
            return None
        hit = self._exact.get(norm)
        if hit is not None:
            return hit
        best: tuple[int, int, int] | None = None
        winner = None
        for alias, owner, is_program in self._phrases:
            position = _contains_phrase(norm, alias)
            if position >= 0:
                rank = (int(is_program), position, -len(alias))
                if best is None or rank < best:
                    best, winner = rank, owner
        return winner

    def _fuzzy_ok(self, norm: str, key: str, score: float) -> bool:
        """Veto fuzzy hits whose 'of <state>' qualifiers disagree or whose text is too short to judge."""
        if score < _FUZZY_CUTOFF or len(norm.replace(" ", "")) < 3:
            return False
        return _states_agree(norm, key)

    def match(self, text: str | None) -> str | None:
        """Return the canonical insurer that text names, or None when none matches safely."""
        return self.match_many([text])[0]

    def match_many(self, texts: Iterable[str | None]) -> list[str | None]:
        """Match many names at once: dictionary lookups first, then one vectorized rapidfuzz cdist for the rest."""
        texts = list(texts)
        norms = [normalize_insurer_name(t) if isinstance(t, str) else "" for t in texts]
        resolved: dict[str, str | None] = {}
        pending: list[str] = []
        for norm in dict.fromkeys(norms):
            hit = self._match_exact(norm)
            if hit and not _states_agree(norm, normalize_insurer_name(hit)):
                hit = None
            resolved[norm] = hit or None
            if hit is None and norm:
                pending.append(norm)
        if pending and self._choices:
            scores = process.cdist(pending, self._choices, scorer=fuzz.token_set_ratio, workers=1)
            ratios = process.cdist(pending, self._choices, scorer=fuzz.ratio, workers=1)
            for row, norm in enumerate(pending):
                # plain ratio catches typos; token_set_ratio catches "Cobalt" ~ "Cobalt Care" but also rewards any
                # subset ("blue" in "blue cross"), so it only counts when _subset_ok says the subset is distinctive
                best_ratio, best_set = int(ratios[row].argmax()), int(scores[row].argmax())
                candidates = [(float(ratios[row][best_ratio]), best_ratio)]
                if _subset_ok(norm, self._choices[best_set]):
                    candidates.append((float(scores[row][best_set]), best_set))
                score, best = max(candidates)
                target = self._choice_targets[best]
                if self._fuzzy_ok(norm, normalize_insurer_name(target), score):
                    resolved[norm] = target
        return [resolved.get(n) for n in norms]


def _states_agree(a: str, b: str) -> bool:
    """False when both names carry an 'of <state>' qualifier and the qualifiers differ."""
    state_a, state_b = _state_of(a), _state_of(b)
    return not (state_a and state_b and state_a != state_b)


def _subset_ok(a: str, b: str) -> bool:
    """Allow the token-set score only when the shorter name's words are a distinctive part of the longer one."""
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and short.split()[0] == long_.split()[0]

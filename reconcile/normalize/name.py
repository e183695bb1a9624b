"""Person names: parse provider names (credentials, suffixes, "Last, First") and compare them tolerantly.

* ``parse_person`` strips titles (nameparser), credentials (MD, PA-C, FNP-BC, "M.D., Ph.D.", FACP ...) into
  ``credentials`` and generational suffixes (Jr, III) into ``suffix``. Credentials that are also surnames
  (Do, Ma, Pa) are only taken as credentials when written upper-case in a mixed-case name, and never when they
  would leave fewer than two name words ("Anh Do" keeps its surname). A lone word is a surname ("Dr. Smith").
* Simple forms ("First M. Last", "LAST, FIRST M", "Dr. First Last", with credentials) skip nameparser through a
  fast path (``_simple_parts``) whose results are property-tested to equal nameparser's.
* ``key`` is "first|last", ASCII-folded, casefolded, letters and digits only ("O'Neil-Smith" -> "oneilsmith").
* ``person_names_match``: same surname after folding hyphen/space/apostrophe variants (a double-barrelled surname
  also matches one of its parts), and compatible first names: equal, nickname (reconcile/data/nicknames.csv,
  spelling variants included), initial, a first-name prefix, or the middle name of "J. Robert Smith".
  A side with no first name ("Dr. Smith") is compatible with any first name. Conflicting middle initials
  ("John A. Smith" / "John B. Smith") or generational suffixes (Jr / Sr) mean two different people.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from nameparser import HumanName
from nameparser.config import Constants

__all__ = ["PersonName", "parse_person", "first_names_match", "person_names_match", "name_key", "fold_name"]

# Professional credentials, degrees, licences and fellowships, compared upper-case without dots.
_CREDENTIALS = {
    "MD", "DO", "MBBS", "MBCHB", "NP", "PA", "PAC", "RN", "BSN", "MSN", "APRN", "APN", "CNP", "CRNP", "ARNP", "FNP",
    "FNPC", "FNPBC", "AGNP", "AGNPC", "AGPCNP", "AGACNP", "ANP", "ANPBC", "ACNP", "PNP", "PNPBC", "PMHNP",
    "PMHNPBC", "WHNP", "WHNPBC", "NNP", "DNP", "CNM", "CRNA", "CNS", "LPN", "LVN", "PHD", "PSYD", "EDD", "DRPH",
    "DDS", "DMD", "OD", "DPM", "DC", "DPT", "PT", "MPT", "OT", "OTR", "OTRL", "SLP", "CCCSLP", "AUD", "PHARMD",
    "RPH", "LCSW", "LICSW", "LMSW", "LSW", "MSW", "LPC", "LPCC", "LMHC", "LMFT", "MFT", "LCPC", "LADC", "LCADC",
    "CADC", "BCBA", "RD", "RDN", "LD", "LDN", "CDE", "CDCES", "IBCLC", "MPH", "MS", "MA", "MBA", "MHA", "MSC",
    "MED", "MSED", "BS", "BA", "FACP", "FAAP", "FACS", "FACC", "FACOG", "FAAFP", "FACE", "FAAN", "FASN", "FCCP",
    "FACEP", "FAANP", "FAAOS", "FACOI", "FACOFP", "FAPA", "FASA", "FAHA", "FSCAI", "FACG", "FAAD", "FRCPC",
    "FRCSC", "FRCS", "FHM", "FAOA", "DABFM", "DABR", "ABFM", "BC", "BCPS", "CPNP", "MSPAS", "MMS", "MPAS", "MMSC",
    "DACM", "LAC", "DAOM", "ND", "NMD", "DVM", "OTD", "SCD", "DSC", "DSW", "RNFA", "RNC", "CNA", "MT", "MLS",
    "RRT", "ATC", "CSCS", "LAT", "LMT", "CPT", "CCC", "ABPP", "NCC", "CHES", "DHSC", "DHA", "JD", "ESQ", "EMTP",
}
# Credentials that are also common surnames ("Anh Do", "Li Ma"): only stripped when written upper-case.
_AMBIGUOUS = {"DO", "MA", "PA", "OD", "MS", "BA", "BS", "ND", "LD", "MT", "RD", "DC", "MED", "LAC", "CNA", "ANP",
              "PT", "OT", "BC", "AUD", "LAT", "CCC", "ACE"}
_PRETTY = {"PHD": "PhD", "PSYD": "PsyD", "EDD": "EdD", "DRPH": "DrPH", "PHARMD": "PharmD", "PAC": "PA-C",
           "FNPBC": "FNP-BC", "FNPC": "FNP-C", "ANPBC": "ANP-BC", "PMHNPBC": "PMHNP-BC", "WHNPBC": "WHNP-BC",
           "AGNPC": "AGNP-C", "PNPBC": "PNP-BC", "CCCSLP": "CCC-SLP", "OTRL": "OTR/L", "SCD": "ScD",
           "DSC": "DSc", "DHSC": "DHSc", "MBCHB": "MBChB", "AUD": "AuD", "MSC": "MSc", "EMTP": "EMT-P"}
_GENERATIONAL = {"JR": "Jr", "SR": "Sr", "II": "II", "III": "III", "IV": "IV", "V": "V", "2ND": "II", "3RD": "III"}
_TOKEN_CLEAN = re.compile(r"[.\-/'’()]")
_WORD_SPLIT = re.compile(r"[\s\-]+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NAMEPARSER = Constants()  # private instance: never mutate nameparser's global CONSTANTS


@dataclass(frozen=True, slots=True)  # slots: millions of these at national scale
class PersonName:
    """A parsed person name; key is 'first|last' casefolded ASCII (accents, hyphens, apostrophes folded)."""

    first: str
    middle: str
    last: str
    suffix: str
    credentials: tuple[str, ...]
    key: str


@lru_cache(maxsize=262_144)  # name words repeat across a directory: fold each once
def fold_name(text: str | None) -> str:
    """Casefold, strip accents and drop everything but letters/digits ("O'Neil-Smith" -> "oneilsmith")."""
    if not text:
        return ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub("", ascii_text.casefold())


def _name_parts(text: str | None) -> tuple[str, ...]:
    """Fold a name into its hyphen/space-separated components ("Garcia-Lopez" -> ("garcia", "lopez"))."""
    if not text:
        return ()
    return tuple(p for p in (fold_name(w) for w in _WORD_SPLIT.split(text)) if p)


@lru_cache(maxsize=262_144)  # name words repeat across a directory: fold each once
def _credential(token: str, all_caps: bool) -> str | None:
    """Return the canonical credential a token spells ("M.D.," -> "MD"), or None if it is not one."""
    bare = _TOKEN_CLEAN.sub("", token.strip(",;:")).upper()
    if bare not in _CREDENTIALS:
        return None
    if bare in _AMBIGUOUS and not all_caps and not token.strip(",;:.").replace(".", "").isupper():
        return None
    return _PRETTY.get(bare, bare)


def _strip_credentials(text: str) -> tuple[str, list[str]]:
    """Remove credential tokens from the end of each comma part, keeping at least the name's words."""
    letters = [c for c in text if c.isalpha()]
    all_caps = bool(letters) and all(c.isupper() for c in letters)
    parts = [p.strip() for p in re.split(r"[,;]", text)]
    parts = [p for p in parts if p]
    credentials: list[str] = []
    kept_parts: list[list[str]] = []
    for part in parts:
        tokens = part.split()
        found = [_credential(t, all_caps) for t in tokens]
        if all(found):  # a whole part of credentials: ", MD, PhD"
            credentials.extend(f for f in found if f)
            continue
        kept_parts.append(tokens)
    name_words = sum(len(p) for p in kept_parts)
    for tokens in reversed(kept_parts):  # trailing credentials inside a part: "JOHN A SMITH MD FACP"
        minimum = 1 if len(kept_parts) > 1 else 2
        trailing: list[str] = []
        while len(tokens) > minimum and name_words > 2 - (len(kept_parts) > 1):
            cred = _credential(tokens[-1], all_caps)
            if not cred:
                break
            trailing.append(cred)
            tokens.pop()
            name_words -= 1
        credentials.extend(reversed(trailing))
    return ", ".join(" ".join(t) for t in kept_parts), list(dict.fromkeys(credentials))


@lru_cache(maxsize=262_144)  # name words repeat across a directory: fold each once
def _clean_piece(text: str) -> str:
    """Strip stray punctuation and spaces around a parsed name piece ('' when nothing name-like is left)."""
    piece = " ".join(text.replace(",", " ").split()).strip(" .;:")
    return piece if fold_name(piece) else ""


# Fast path: words nameparser would treat specially (titles, particles, suffixes, conjunctions) send a name to it.
_SPECIAL_WORDS = frozenset(
    w for group in ("titles", "prefixes", "suffix_acronyms", "suffix_not_acronyms", "conjunctions", "first_name_titles")
    for w in getattr(_NAMEPARSER, group)
)
_PLAIN = re.compile(r"[A-Za-z]{2,}")
_GIVEN = re.compile(r"[A-Za-z]+\.?")  # a first or middle name, or its initial ("J", "J.")
_INITIAL = re.compile(r"[A-Za-z]\.?")


def _plain(word: str, pattern: re.Pattern[str]) -> bool:
    """Tell whether a word is an ordinary ASCII name word nameparser gives no special meaning."""
    return pattern.fullmatch(word) is not None and word.rstrip(".").lower() not in _SPECIAL_WORDS


def _middle(word: str) -> bool:
    """A middle name or initial; a lone initial is plain even where nameparser lists the letter ("E", "I", "V", "Y")."""
    return _INITIAL.fullmatch(word) is not None or _plain(word, _GIVEN)


@lru_cache(maxsize=1024)
def _trailing_initial(token: str) -> tuple[str, str] | None:
    """(middle, suffix) nameparser makes of a lone initial after "Last, First" ("Q" -> middle, "V" -> suffix)."""
    human = HumanName(f"Zzyx, Quorra {token}", constants=_NAMEPARSER)
    if (human.first, human.last, human.title) != ("Quorra", "Zzyx", "") or (human.middle, human.suffix) not in (
            (token, ""), ("", token)):
        return None
    return human.middle, human.suffix


def _simple_parts(remainder: str) -> tuple[str, str, str, str] | None:
    """(first, middle, last, suffix) as nameparser would give them, for the common simple forms only; else None.

    Forms: "First Last", "First M Last", "First M. Last", "Dr. First [M] Last", "Last, First", "Last, First M".
    Anything else (particles, suffixes, nicknames, accents, hyphens, more words) goes to nameparser; the
    equivalence is property-tested in tests/test_normalize_name.py.
    """
    if remainder.count(",") > 1:
        return None
    if "," in remainder:
        left, _, right = remainder.partition(",")
        lasts, givens = left.split(), right.split()
        if len(lasts) != 1 or not 1 <= len(givens) <= 2 or not _plain(lasts[0], _PLAIN):
            return None
        if not _plain(givens[0], _GIVEN):
            return None
        if len(givens) == 1:
            return givens[0], "", lasts[0], ""
        if _plain(givens[1], _GIVEN):
            return givens[0], givens[1], lasts[0], ""
        if _INITIAL.fullmatch(givens[1]) is None:
            return None
        read = _trailing_initial(givens[1])  # a trailing "V"/"I" is a suffix to nameparser, "E"/"Y" a middle
        return None if read is None else (givens[0], read[0], lasts[0], read[1])
    words = remainder.split()
    if len(words) > 2 and words[0].rstrip(".").lower() == "dr":
        words = words[1:]
    if not 2 <= len(words) <= 3 or not _plain(words[-1], _PLAIN) or not _plain(words[0], _GIVEN):
        return None
    if len(words) == 3 and not _middle(words[1]):
        return None
    return words[0], (words[1] if len(words) == 3 else ""), words[-1], ""


@lru_cache(maxsize=262_144)
def _parse(text: str, fast: bool = True) -> PersonName | None:
    """Cached core of parse_person for one distinct string (fast=False: always through nameparser, for tests)."""
    text = " ".join(text.replace("\u00a0", " ").split())
    if not any(c.isalpha() for c in text):
        return None
    remainder, credentials = _strip_credentials(text)
    simple = _simple_parts(remainder) if fast else None
    if simple is not None:
        human_first, human_middle, human_last, human_suffix = simple
    else:
        human = HumanName(remainder, constants=_NAMEPARSER)
        human_first, human_middle, human_last, human_suffix = human.first, human.middle, human.last, human.suffix
    suffixes: list[str] = []
    for piece in filter(None, (s.strip() for s in human_suffix.split(","))):
        bare = _TOKEN_CLEAN.sub("", piece).upper()
        if bare in _GENERATIONAL:
            suffixes.append(_GENERATIONAL[bare])
        else:
            cred = _credential(piece, True)
            if cred and cred not in credentials:
                credentials.append(cred)
    first, middle, last = _clean_piece(human_first), _clean_piece(human_middle), _clean_piece(human_last)
    if first and not last and not middle:  # a lone word ("Dr. Smith", "Smith") is a surname
        first, last = "", first
    if not last and not first:
        return None
    key = f"{fold_name(first)}|{fold_name(last)}"
    return PersonName(first=first, middle=middle, last=last, suffix=" ".join(suffixes),
                      credentials=tuple(credentials), key=key)


def parse_person(text: str | None) -> PersonName | None:
    """Parse a provider name ("Smith, John A., MD", "Dr. John Smith", "JOHN A SMITH MD FACP") into its parts."""
    if not text or not isinstance(text, str):
        return None
    return _parse(text)


def name_key(text: str | None) -> str | None:
    """Return the 'first|last' comparison key of a name, or None when it cannot be parsed."""
    parsed = parse_person(text)
    return parsed.key if parsed else None


@lru_cache(maxsize=1)
def _nickname_index() -> dict[str, frozenset[str]]:
    """Map each folded first name or nickname to the formal names it can stand for (read once from nicknames.csv)."""
    index: dict[str, set[str]] = defaultdict(set)
    with resources.files("reconcile.data").joinpath("nicknames.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            formal = fold_name(row["name"])
            index[formal].add(formal)
            for nick in row["nicknames"].split():
                index[fold_name(nick)].add(formal)
    return {k: frozenset(v) for k, v in index.items()}


@lru_cache(maxsize=262_144)
def _first_match(a: str, b: str) -> bool:
    """Cached core of first_names_match over folded names."""
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:  # an initial matches any name starting with it
        return a[0] == b[0]
    index = _nickname_index()
    if index.get(a, frozenset({a})) & index.get(b, frozenset({b})):
        return True
    # an unlisted short form ("Eli"/"Elijah") or a formal name ("Ann"/"Anne") may be a prefix of the other;
    # a listed nickname may not ("Dan" is Daniel, not Danielle)
    short, long_ = sorted((a, b), key=len)
    listed_as_nickname_only = short in index and short not in index[short]
    return len(short) >= 3 and long_.startswith(short) and not listed_as_nickname_only


def first_names_match(a: str | None, b: str | None) -> bool:
    """Tell whether two first names can be the same person's: equal, nickname (Bob/Robert), initial (J./John)."""
    parts_a, parts_b = _name_parts(a), _name_parts(b)
    if not parts_a or not parts_b:
        return False
    if "".join(parts_a) == "".join(parts_b):
        return True
    return any(_first_match(x, y) for x in parts_a[:2] for y in parts_b[:2])


def _last_names_match(a: str, b: str) -> bool:
    """Same surname after folding hyphen/space/apostrophe variants; a double-barrelled name matches its parts."""
    parts_a, parts_b = _name_parts(a), _name_parts(b)
    if not parts_a or not parts_b:
        return False
    if "".join(parts_a) == "".join(parts_b):
        return True
    small, big = sorted((set(parts_a), set(parts_b)), key=len)
    return len(big) > 1 and small <= big and all(len(p) > 2 for p in small)


def _surnames(person: PersonName) -> tuple[tuple[str, str], ...]:
    """(surname, middle left) readings: the surname, plus middle+surname when the middle may be its first half.

    "Mary O Neil", "Ana de Souza", "Jane Smith Lee" (for "Jane Smith-Lee"): the middle word so taken is no
    longer a middle name.
    """
    if not person.middle:
        return ((person.last, ""),)
    *rest, last_middle = person.middle.split()
    return ((person.last, person.middle), (f"{last_middle} {person.last}", " ".join(rest)))


def _middle_readings(a: PersonName, b: PersonName) -> list[tuple[str, str]]:
    """The (middle, middle) pairs to compare when the surnames match; empty when no surname reading matches.

    Any surname reading that matches keeps the middles as written ("Maria Garcia Lopez" is "Maria Garcia"); only an
    exact one may drop the middle word it took ("Jane A. Smith-Lee" is "Jane Smith Lee", not "Jane B. Lee").
    """
    readings = [(x, y) for x in _surnames(a) for y in _surnames(b) if _last_names_match(x[0], y[0])]
    if not readings:
        return []
    exact = [(x[1], y[1]) for x, y in readings if "".join(_name_parts(x[0])) == "".join(_name_parts(y[0]))]
    return [(a.middle, b.middle), *exact]


def _middles_compatible(a: str, b: str) -> bool:
    """Middle names are compatible when one is missing or they share an initial ("A." vs "Ann"; not "A" vs "B")."""
    initials_a = {fold_name(w)[:1] for w in _WORD_SPLIT.split(a) if fold_name(w)}
    initials_b = {fold_name(w)[:1] for w in _WORD_SPLIT.split(b) if fold_name(w)}
    return not initials_a or not initials_b or bool(initials_a & initials_b)


def _as_person(value: str | PersonName | None) -> PersonName | None:
    """Accept a raw string or an already parsed PersonName."""
    return value if isinstance(value, PersonName) or value is None else parse_person(value)


def person_names_match(a: str | PersonName | None, b: str | PersonName | None) -> bool:
    """Same person by name: same surname and compatible first names (a missing first name is compatible)."""
    pa, pb = _as_person(a), _as_person(b)
    if pa is None or pb is None:
        return False
    middles = _middle_readings(pa, pb)
    if not middles:
        return False
    if pa.suffix and pb.suffix and pa.suffix != pb.suffix:  # John Smith Jr and John Smith Sr are two doctors
        return False
    if not pa.first or not pb.first:
        return True
    if first_names_match(pa.first, pb.first):
        return any(_middles_compatible(ma, mb) for ma, mb in middles)
    # "J. Robert Smith" goes by his middle name
    if len(fold_name(pa.first)) == 1 and pa.middle and first_names_match(pa.middle, pb.first):
        return True
    return len(fold_name(pb.first)) == 1 and bool(pb.middle) and first_names_match(pb.middle, pa.first)

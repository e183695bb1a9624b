"""Provider names on practice pages (team rosters) and departures ("Dr. Smith has left the practice")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from nameparser import HumanName

from crawlers.extract.text import Block, split_sentences

__all__ = ["find_names", "name_key", "ProviderMention", "find_providers", "find_departed", "CREDENTIALS"]

CREDENTIALS = (
    "MD", "M.D.", "DO", "D.O.", "NP", "N.P.", "FNP", "FNP-C", "FNP-BC", "APRN", "APRN-CNP", "APRN-BC", "ARNP", "CRNP",
    "CNP", "AGNP", "AGNP-C", "AGPCNP-BC", "ANP", "ANP-BC", "ACNP", "PMHNP", "PMHNP-BC", "WHNP", "WHNP-BC", "PNP", "CPNP",
    "DNP", "PA", "PA-C", "P.A.", "P.A.-C", "MPAS", "DPM", "DDS", "D.D.S.", "DMD", "D.M.D.", "OD", "O.D.", "PhD",
    "Ph.D.", "PsyD", "Psy.D.", "LCSW", "LICSW", "LPC", "LPCC", "LMHC", "LMFT", "CNM", "DC", "D.C.", "MBBS", "MBChB",
    "FAAP", "FACP", "FAAFP", "FACOG", "FACC", "FACS", "FAAD", "FACE", "FCCP", "FASN", "FAANS", "RN", "BSN", "MSN",
    "MPH", "MS", "MA", "MBA", "MHS", "LAc", "L.Ac.", "DPT", "PT", "OTR", "OTR/L", "AuD", "Au.D.", "CCC-SLP", "RD",
    "RDN", "CDE", "CDCES", "IBCLC", "DACM", "ND", "N.D.", "FNP-C", "NP-C", "PA-S", "MMS", "MSPAS",
)
_CRED_SET = frozenset(c.upper().replace(".", "") for c in CREDENTIALS)
_CRED_ALT = "|".join(sorted((re.escape(c) for c in set(CREDENTIALS)), key=len, reverse=True))
_CRED = rf"(?:{_CRED_ALT})(?![\w-])"
_UP = "[A-ZÀ-ÖØ-ÞĀ-Ž]"
_LET = r"(?:[^\W\d_]|['’\-])"
_TOKEN = rf"(?:{_UP}{_LET}+|{_UP}\.|(?:Mc|Mac|O'|O’|D'|De|Van|Von|La|Le|Di|Du){_UP}?{_LET}+)"
_PARTICLE = r"(?:\s+(?:de|del|de la|van|von|der|da|di|le|la|bin|al)(?=\s+[A-Z]))?"
_WITH_DR = re.compile(
    rf"\b(?:Dra|DRA|Dr|DR|Doctora?)\.?\s+(?P<body>{_TOKEN}(?:{_PARTICLE}\s+{_TOKEN}){{0,3}})(?P<creds>(?:,?\s+{_CRED})(?:\s*,\s*{_CRED})*)?"
)
_WITH_CRED = re.compile(
    rf"(?<![\w.])(?P<body>{_TOKEN}(?:{_PARTICLE}\s+{_TOKEN}){{1,3}})(?P<creds>,?\s+{_CRED}(?:\s*,\s*{_CRED})*)"
)
_STOP_TOKENS = frozenset(
    """is are was were and or the a an to of for in on at with by from our your their his her its we you it this that
    accepting accept not new patients patient now currently no longer has have had will be been who which welcome meet
    about call contact team staff office practice clinic see seeing provider providers doctor doctors physician
    physicians family medicine care health center services appointment appointments schedule today more info
    read bio view profile learn specialty specialties location locations hours also all both join joined joining
    left retired retiring moved leaving departed""".split()
)
_LEADING_WORDS = frozenset("meet welcome about introducing say hello to with by call contact ask our your".split())
# "retired Navy captain", "after retiring from the Army": a career note in a bio, not a departure.
_NOT_CLINICAL_RETIREMENT = (
    r"(?!\s+(?:from\s+)?(?:the\s+)?(?:u\.?s\.?\s+)?(?:army|navy|naval|air\s+force|marines?|military|coast\s+guard|"
    r"national\s+guard|armed\s+forces|colonel|captain|commander|lieutenant|major|officer|veteran|nfl|professional)\b)"
)
_DEPARTURE = re.compile(
    r"\b(?:has|have|had)\s+left\b(?!\s+for\s+the\s+day)|\bleft\s+(?:our|the)\s+(?:practice|group|office|clinic|team)\b|\b(?:is|are)\s+(?:now\s+)?leaving\b|"
    r"\bwill\s+be\s+leaving\b|\bno\s+longer\s+(?:with|at|part\s+of|practicing|practices|affiliated|employed)\b|"
    r"\bno\s+longer\s+(?:sees|seeing)\s+patients\b(?!\s+(?:under|over|younger|older|age[sd]?|who|with)\b)|"
    rf"(?<!semi-)(?<!semi\s)\bretired\b{_NOT_CLINICAL_RETIREMENT}|(?<!semi-)\bretiring\b{_NOT_CLINICAL_RETIREMENT}|"
    r"\bwill\s+retire\b|\bretirement\s+of\b|\b(?:bid|say|saying)\s+(?:farewell|goodbye)\s+to\b|"
    r"\bya\s+no\s+(?:trabaja|atiende|está|esta|forma\s+parte|ejerce)\b|\bse\s+(?:ha\s+)?jubil(?:ó|o|ado|ará)\b|"
    r"\bdej(?:ó|o)\s+(?:la|nuestra)\s+(?:práctica|clínica|clinica|consulta)\b|\b(?:has\s+)?relocated\b|\bhas\s+moved\b|"
    r"\bmoved\s+(?:away|out\s+of\s+state|to\s+another)\b|\bdeparted\b|\bdeparture\s+of\b|\bpassed\s+away\b|\blast\s+day\b|"
    r"\bhas\s+closed\s+(?:her|his|their)\s+practice\b",
    re.IGNORECASE,
)
_ROSTER_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "strong", "b", "p", "div", "a", "span", "figcaption", "caption"})


@dataclass(frozen=True)
class ProviderMention:
    """A provider name as written on the page, where it was and the verbatim block it came from."""

    name: str
    key: str
    snippet: str
    block_index: int
    tag: str


def _trim(body: str) -> str:
    """Cut a matched name at the first stop word (e.g. 'Dr. Lee Is Accepting' -> 'Lee')."""
    tokens = body.split()
    kept: list[str] = []
    for token in tokens:
        if len(token.strip(".,")) > 1 and token.strip(".,").lower() in _STOP_TOKENS:
            break
        kept.append(token)
    return " ".join(kept)


def _is_credential(token: str) -> bool:
    """True for MD/DO/NP/PA-C/FAAP style credential tokens."""
    return token.upper().replace(".", "").strip(",") in _CRED_SET


def find_names(text: str) -> list[tuple[str, int]]:
    """Provider names in a piece of text, as written (with 'Dr.' and credentials), with their start offsets."""
    found: list[tuple[str, int, int]] = []
    for match in _WITH_DR.finditer(text):
        body = _trim(match.group("body"))
        possessive = re.search(r"['’]s$", body)
        body = body[: possessive.start()] if possessive else body  # "Dr. Okafor's last day" names Dr. Okafor
        if not body or _is_credential(body.split()[0]):
            continue
        end = match.start("body") + len(body)
        creds = match.group("creds") if body == match.group("body") and match.group("creds") else ""
        name = text[match.start() : end] + (creds or "")
        found.append((name.rstrip(" ,"), match.start(), match.start() + len(name)))
    for match in _WITH_CRED.finditer(text):
        if any(s <= match.start() < e for _, s, e in found):
            continue
        tokens = match.group("body").split()
        while tokens and tokens[0].lower() in _LEADING_WORDS:
            tokens.pop(0)
        if len(tokens) < 2 or any(len(t.strip(".,")) > 1 and t.strip(".,").lower() in _STOP_TOKENS for t in tokens):
            continue
        if any(_is_credential(t) for t in tokens):
            continue
        body = " ".join(tokens)
        start = match.start("body") + match.group("body").index(tokens[0])
        name = body + match.group("creds")
        found.append((name.strip(" ,"), start, start + len(name)))
    found.sort(key=lambda item: item[1])
    return [(name, start) for name, start, _ in found]


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """A comparison key for a provider name: 'last|first initial' without titles/credentials, casefolded."""
    cleaned = re.sub(rf",?\s+{_CRED}", "", name)
    cleaned = re.sub(r"^\s*(?:Dra|DRA|Dr|DR|Doctora?)\.?\s+", "", cleaned).strip(" ,")
    parsed = HumanName(cleaned)
    last = (parsed.last or cleaned.split()[-1] if cleaned.split() else "").casefold()
    first = (parsed.first or "")[:1].casefold() if parsed.last else ""
    return f"{last}|{first}"


def _merge(mentions: list[ProviderMention]) -> list[ProviderMention]:
    """Deduplicate mentions by name key, letting 'Dr. Jane Smith, MD' absorb a later 'Dr. Smith'."""
    kept: list[ProviderMention] = []
    for mention in mentions:
        last, first = mention.key.split("|")
        clash = next(
            (i for i, k in enumerate(kept) if k.key.split("|")[0] == last and (not first or not k.key.split("|")[1] or k.key.split("|")[1] == first)),
            None,
        )
        if clash is None:
            kept.append(mention)
        elif len(mention.name) > len(kept[clash].name) and first and not kept[clash].key.split("|")[1]:
            kept[clash] = mention
    return kept


_NOMINAL_DEPARTURE = re.compile(r"^(?:retirement|departure|bid|say|saying)\b", re.IGNORECASE)
_ARRIVAL = re.compile(r"\bjoin(?:ed|s|ing)?\b|\b(?:moved|relocated)\b.*\bfrom\b", re.IGNORECASE)
_NAME_LIST_GAP = re.compile(r"^\s*(?:,|&|and|,\s*and)\s*$")


def _departed_in(sentence: str) -> list[str]:
    """Names a sentence says have left: each departure phrase's own subject, not every name nearby.

    'Dr. Smith has retired and Dr. Carter will take over his patients' names Smith only; 'the retirement
    of Dr. Smith' looks after the phrase; 'Dr. A and Dr. B have retired' names both; 'left X and joined
    our practice' is an arrival.
    """
    names = find_names(sentence)
    out: list[str] = []
    for match in _DEPARTURE.finditer(sentence):
        after = [(n, s) for n, s in names if s >= match.end()]
        following = after[0][1] if after else len(sentence)
        if _ARRIVAL.search(sentence[match.start() : following]):
            continue
        before = [(n, s) for n, s in names if s + len(n) <= match.start()]
        if _NOMINAL_DEPARTURE.match(match.group(0)) or not before:
            out.extend(n for n, _ in after[:1])
            continue
        subjects = [before[-1]]
        for name, start in reversed(before[:-1]):
            gap = sentence[start + len(name) : subjects[0][1]]
            if not _NAME_LIST_GAP.match(gap):
                break
            subjects.insert(0, (name, start))
        out.extend(n for n, _ in subjects)
    return list(dict.fromkeys(out))


def find_departed(blocks: Sequence[Block]) -> list[ProviderMention]:
    """Providers a page says have left, retired or moved, with the sentence that says so."""
    mentions: list[ProviderMention] = []
    for index, block in enumerate(blocks):
        if not _DEPARTURE.search(block.text):
            continue
        for sentence, _start in split_sentences(block.text):
            if not _DEPARTURE.search(sentence) or sentence.rstrip().endswith("?"):
                continue
            for name in _departed_in(sentence):
                mentions.append(ProviderMention(name, name_key(name), sentence, index, block.tag))
    return _merge(mentions)


_HEADING_NAME = re.compile(rf"^(?:(?:Dra|DRA|Dr|DR|Doctora?)\.?\s+\S.{{1,70}}|\S.{{1,70}}?,?\s+{_CRED}(?:\s*,\s*{_CRED})*)$")


def _whole_line_name(line: str, tag: str) -> str | None:
    """A heading/list line that is wholly a provider name ('Dr. ...' or '..., MD'), kept verbatim even if odd."""
    if tag not in ("h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "strong", "b", "figcaption") or len(line.split()) > 9:
        return None
    if _DEPARTURE.search(line) or re.search(r"[a-z]{3,}[.!?]\s|\b(?:is|are|accepting|patients|welcome)\b", line, re.IGNORECASE):
        return None
    return line.strip() if _HEADING_NAME.match(line.strip()) else None


_ROLE_LINE = re.compile(
    r"\b(?:physician|pediatrician|nurse\s+practitioner|physician\s+assistant|family\s+(?:medicine|physician|nurse)|"
    r"internal\s+medicine|internist|obstetrician|gynecologist|ob/?gyn|midwife|psychiatrist|psychologist|therapist|"
    r"counselor|dentist|orthodontist|optometrist|ophthalmologist|dermatologist|cardiologist|surgeon|podiatrist|"
    r"chiropractor|audiologist|dietitian|medical\s+director|board[-\s]certified)\b",
    re.IGNORECASE,
)
_NOT_NAME_WORDS = frozenset(
    """our team meet providers family medicine pediatrics health care center clinic services insurance contact us new
    patients hours location locations about welcome home internal primary women's womens medical group associates
    office staff nurse practitioner physician physicians assistant assistants doctors clinicians specialists
    pediatric behavioral mental dental vision wellness resources forms billing portal faq news blog""".split()
)
_PLAIN_NAME = re.compile(rf"^{_TOKEN}(?:{_PARTICLE}\s+{_TOKEN}){{1,3}}$")


def _credentials_only(line: str) -> bool:
    """True for a line that is only credentials ('MD', 'FNP-C, APRN'): the title line under a name on a card."""
    tokens = [t for t in re.split(r"[\s,/]+", line.strip()) if t]
    return 0 < len(tokens) <= 4 and all(_is_credential(t) for t in tokens)


def _name_by_role(blocks: Sequence[Block], index: int) -> str | None:
    """A bare 'Jane Smith' heading whose next line gives a clinical role ('Nurse Practitioner')."""
    block = blocks[index]
    text = block.text.strip()
    if block.tag not in ("h2", "h3", "h4", "h5", "h6", "strong", "b", "dt", "figcaption", "li", "td") or "\n" in text:
        if not ("\n" in text and block.tag in ("p", "div", "li", "td")):
            return None
        text, rest = text.split("\n", 1)
        role = rest[:80]
    else:
        role = blocks[index + 1].text[:80] if index + 1 < len(blocks) else ""
    if not _PLAIN_NAME.match(text) or not (_ROLE_LINE.search(role) or _credentials_only(role.split("\n", 1)[0])):
        return None
    if any(t.strip(".,").lower() in _NOT_NAME_WORDS or t.strip(".,").lower() in _STOP_TOKENS for t in text.split() if len(t.strip(".,")) > 1):
        return None
    return text


def find_providers(blocks: Sequence[Block]) -> list[ProviderMention]:
    """Names that head a block (team-page cards, list items, headings), excluding departed providers."""
    departed = {m.key for m in find_departed(blocks)}
    mentions: list[ProviderMention] = []
    for index, block in enumerate(blocks):
        first_line = block.text.split("\n", 1)[0]
        if block.tag not in _ROSTER_TAGS or len(first_line) > 300 or _DEPARTURE.search(first_line):
            continue
        names = find_names(first_line)
        whole = _whole_line_name(first_line, block.tag)
        if whole and not any(len(n) >= len(whole) - 2 for n, _ in names):
            names = [(whole, 0)]
        if not names:
            by_role = _name_by_role(blocks, index)
            names = [(by_role, 0)] if by_role else []
        for name, start in names:
            lead = first_line[:start].strip(" -–—|•:").lower()
            if start > 0 and lead and lead not in _LEADING_WORDS and lead not in ("meet", "meet our", "meet dr"):
                if not (block.tag in ("li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6") and len(lead.split()) <= 2):
                    continue
            key = name_key(name)
            if key in departed:
                continue
            mentions.append(ProviderMention(name, key, first_line, index, block.tag))
    return _merge(mentions)

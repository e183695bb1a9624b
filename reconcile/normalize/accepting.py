"""Accepting-new-patients status: map short directory/report values onto the canonical vocabulary.

Order of decision (first hit wins): exact flags and codes (yes/no/Y/N/1/0, FHIR newpt/nopt/existptonly/existptfam,
QHP "accepting"/"not accepting"); explicit blanks (N/A, unknown, "call office", "see website") -> unknown;
"label: value" (also "?", "|", "=", " - ") decided by the value; existing-patients-only; waitlist; any negation ("not", "no longer",
"closed", "full") -> not_accepting, so negation always beats a positive word; referral/limited/"some plans" or
"only"+positive -> limited; a positive word -> accepting; otherwise unknown.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["CANONICAL", "normalize_accepting", "takes_new_patients"]

CANONICAL = ("accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown")

_CHECKS, _CROSSES = "✓✔☑✅", "✗✘✕✖❌☒"  # check and cross marks
_EXACT = {
    # booleans and flags as spreadsheets and APIs write them
    "yes": "accepting", "y": "accepting", "true": "accepting", "t": "accepting", "1": "accepting",
    "no": "not_accepting", "n": "not_accepting", "false": "not_accepting", "f": "not_accepting", "0": "not_accepting",
    "open": "accepting", "closed": "not_accepting", "full": "not_accepting",
    # FHIR Plan-Net / NDH acceptingPatients codes
    "newpt": "accepting", "nopt": "not_accepting", "existptonly": "existing_only", "existptfam": "existing_only",
    # canonical values themselves (idempotence) and QHP values
    "accepting": "accepting", "not_accepting": "not_accepting", "not accepting": "not_accepting",
    "existing_only": "existing_only", "waitlist": "waitlist", "limited": "limited", "unknown": "unknown",
    # check and cross marks, as directory pages and spreadsheets show a yes/no column
    **dict.fromkeys(_CHECKS, "accepting"), **dict.fromkeys(_CROSSES, "not_accepting"),
}

_UNKNOWN_WORDS = re.compile(
    r"^(?:n/?a|none|null|nan|unknown|unk|not (?:known|sure|specified|available|applicable)|tbd|\?+|-+|"
    r"pending|see .*|call .*|contact .*|varies|unclear|no (?:answer|response|data|info(?:rmation)?))$"
)
_BLANK_VALUES = {"unknown", "unk", "n/a", "na", "none", "null", "?", "-", "--", "tbd", "not specified", "not known"}
_NEUTRAL = re.compile(r"\bno (?:referrals?|wait(?:ing)?[\s-]?(?:list|time)?|copay|cost)\b(?: (?:needed|required|necessary))?")
_MISSING = re.compile(r"\b(?:not available|unavailable|not provided|not listed|not reported|not verified|no data)\b")
_NO_CONTACT = re.compile(
    r"\breach|\banswer|voice ?mail|\bmessage|disconnect|\bbusy\b|hung up|wrong number|no response|pick(?:ed)? up"
    r"|call ?back|\bring(?:s|ing)?\b|\bhold\b|\bfax\b|out of service|not in service"
)
_GONE = re.compile(r"\bretired\b|\bdeceased\b|\bleft (?:the )?(?:practice|office|group)\b|\bno longer (?:with|at|practicing|practices|sees)\b")
_ABOUT_PATIENTS = re.compile(r"accept|tak(?:e|ing)|patient|\bnew\b|\bopen\b|seeing|panel")
_EXISTING_ONLY = re.compile(
    r"\b(?:existing|established|current|returning|own)\s+(?:patients?|pts?|clients?|families|members)\b(?:\s+(?:and|&)\s+\w+)?\s+only\b"
    r"|\bonly\s+(?:accepting\s+|seeing\s+|taking\s+)?(?:existing|established|current|returning)\b"
)
# "existing patients' family", "existing patients and their families" (no "only"): existing-only unless new patients
# are named beside them ("accepting new and existing patients and their families")
_EXISTING_FAMILY = re.compile(
    r"\b(?:existing|established|current)\s+(?:patients?|pts?)['’]?\s+(?:(?:and|&)\s+(?:their\s+)?)?"
    r"(?:family|families|relatives)\b"
)
_NEW_AND_EXISTING = re.compile(r"\bnew\s+(?:patients?\s*)?(?:,|\band\b|&|\bor\b)\s*(?:existing|established|current)\b")
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?"
          r"|nov(?:ember)?|dec(?:ember)?)\b")  # whole month names only: "in Marion" is a place
# Not taking new patients now: "stopped accepting", "will accept new patients in January", "accepting new patients
# starting next year" (read as accepting before). A date alone does not say "not yet": "accepting new patients
# from January 2024" or "in March" may be now.
_LATER = rf"(?:{_MONTH}|next (?:year|month|week))"
_ACCEPTING_WORDS = r"\b(?:accept|tak)\w*(?:\s+new)?(?:\s+(?:patients?|pts?))?"
_NOT_NOW = re.compile(
    r"\b(?:stopped|quit|ceased|discontinued|paused|suspended)\s+(?:accepting|taking|seeing)\b"
    r"|\bwill\s+(?:begin\s+|start\s+|be\s+)?(?:accept|tak)\w*"
    rf"|{_ACCEPTING_WORDS}(?:\s+again)?\s+(?:after|starting|beginning)\s+{_LATER}"
    rf"|{_ACCEPTING_WORDS}\s+again\s+(?:in|from)\s+{_LATER}"
    rf"|{_ACCEPTING_WORDS}\s+(?:in|from)\s+next (?:year|month|week)"
)
_WAITLIST = re.compile(r"\bwait(?:ing)?[\s-]?list(?:ed)?\b|\bwait\s*list\b|\bwaitlist\b")
_NEGATIVE = re.compile(
    r"\b(?:not|no longer|isn'?t|aren'?t|cannot|can'?t|unable to|won'?t|don'?t|doesn'?t|never)\b"
    r"|\bclosed\b|\bpanel (?:is )?full\b|\b(?:practice|provider|panel|doctor|office) (?:is )?(?:full|closed)\b|^full\b"
    r"|^(?:n|no)\b|[:\-]\s*no\b|\bno new\b|\bnone\b"
)
_LIMITED_STRONG = re.compile(
    r"\breferrals?\b|\breferred\b|\blimited\b|\bcase[\s-]by[\s-]case\b|\brestricted\b|\bapproval\b"
    r"|\b(?:some|select(?:ed)?|certain|specific) (?:plans?|insurances?|insurers?|payers?|networks?)\b"
)
_LIMITED_WEAK = re.compile(r"\bonly\b|\bsome\b|\bselect(?:ed)?\b|\bcertain\b|\bdepend(?:s|ing)?\b|\bexcept\b|\bspecific\b")
# The last label/value separator: a colon, a question mark, "|" or "=", or a dash with spaces around it (so "wait-list"
# and "case-by-case" stay words).
_LABEL_VALUE = re.compile(r".*(?::|\?|\||=|\s[-–—]\s)(.*)$")
_POSITIVE = re.compile(
    r"\baccept(?:s|ing|ed)?\b|\btaking\b|\btakes\b|\bopen\b|\byes\b|\bwelcom(?:e|ed|ing)\b|\bavailable\b|\bseeing new\b|^y\b"
    r"|\b(?:booking|scheduling|enrolling) new\b"
)


@lru_cache(maxsize=65_536)
def _normalize_text(text: str) -> str:
    """Cached core of normalize_accepting for one distinct string."""
    t = " ".join(text.casefold().replace("_", " ").split()).strip(" .!,;")
    t = t.replace("’", "'").replace("\ufe0f", "")  # (the emoji variation selector of ✔️)
    if not t:
        return "unknown"
    exact = _EXACT.get(t) or _EXACT.get(t.replace(" ", "_"))
    if exact:
        return exact
    if t[0] in _CHECKS + _CROSSES and t[1:2] == " ":  # "✗ Accepting new patients": a mark in front answers the phrase
        rest = _normalize_text(t[2:])
        return "not_accepting" if t[0] in _CROSSES and rest == "accepting" else rest
    if _UNKNOWN_WORDS.match(t):
        return "unknown"
    label_value = _LABEL_VALUE.match(t)  # "Accepting new patients: No" (or "? No", "| No", "- No"): the value decides
    if label_value:
        value = label_value.group(1).strip(" .!,;")
        if value in _BLANK_VALUES:
            return "unknown"
        if value:
            decided = _normalize_text(value)
            if decided != "unknown":
                return decided
    if (_MISSING.search(t) or _NO_CONTACT.search(t)) and not _ABOUT_PATIENTS.search(t):
        return "unknown"  # "information not available", "could not reach" say nothing about new patients
    if _GONE.search(t):
        return "not_accepting"
    t = _NEUTRAL.sub(" ", t)  # "no referral needed" is not a refusal
    if _EXISTING_ONLY.search(t) or (_EXISTING_FAMILY.search(t) and not _NEW_AND_EXISTING.search(t)):
        return "existing_only"
    if _WAITLIST.search(t):
        return "waitlist"
    if _NEGATIVE.search(t) or _NOT_NOW.search(t):
        return "not_accepting"
    if _LIMITED_STRONG.search(t) or (_LIMITED_WEAK.search(t) and _POSITIVE.search(t)):
        return "limited"
    if _POSITIVE.search(t):
        return "accepting"
    return "unknown"


def normalize_accepting(text: str | bool | int | None) -> str:
    """Map a short accepting-new-patients value (flag, FHIR code, QHP value, free phrase) to a CANONICAL status."""
    if text is None:
        return "unknown"
    if isinstance(text, bool):
        return "accepting" if text else "not_accepting"
    if isinstance(text, (int, float)):
        return {1.0: "accepting", 0.0: "not_accepting"}.get(float(text), "unknown")  # NaN -> unknown
    return _normalize_text(str(text))


def takes_new_patients(status: str | None) -> bool | None:
    """Coarse comparison value of DESIGN.md: True for accepting/limited, False for refusals, None for unknown."""
    if status in ("accepting", "limited"):
        return True
    if status in ("not_accepting", "existing_only", "waitlist"):
        return False
    return None

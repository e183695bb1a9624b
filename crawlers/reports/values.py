"""Parse the values of practice report cells: NPI, dates, booleans, insurer lists, accepting status, call outcomes.

Every parser takes the verbatim cell (str, number, bool or None) and returns the clean value, None for an empty
or "don't know" cell, or raises `ValueError` with a short reason the parser puts in the quarantine record.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from reconcile.normalize.accepting import normalize_accepting
from reconcile.normalize.npi import clean_npi, is_valid_npi

__all__ = [
    "CALL_OUTCOMES", "SOURCES", "is_blank", "parse_npi", "parse_datetime", "parse_date", "parse_bool", "parse_reachable",
    "split_insurers", "report_accepting", "parse_call_outcome", "outcome_reachable", "parse_first_appointment",
    "parse_source",
]

CALL_OUTCOMES = ("reached", "wrong_number", "no_answer", "voicemail", "disconnected", "transferred_unresolved",
                 "not_at_location")
SOURCES = ("attestation", "phone_survey", "secret_shopper")

_BLANK = {"", "n/a", "na", "none", "null", "nan", "-", "--", "?", "unknown", "unk", "not asked", "n.a.", "tbd",
          "not applicable", "did not ask", "not recorded"}


def is_blank(value: object) -> bool:
    """True for None, empty strings and the usual "no value" spellings of spreadsheets."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        return not text or (len(text) <= 16 and " ".join(text.casefold().split()) in _BLANK)
    return isinstance(value, float) and value != value  # NaN


def _text(value: object) -> str:
    """A cell as trimmed text with inner whitespace collapsed."""
    return " ".join(str(value).split())


# --- NPI -----------------------------------------------------------------------------------------------------


_TEXT_MARK = re.compile(r"^\s*(?:'|=\s*\"(.*)\"\s*$)")  # '1234567893 and ="1234567893": Excel's "keep as text"
_SCIENTIFIC = re.compile(r"\d(?:\.(\d+))?[eE]\+?(\d{1,2})")


def _spreadsheet_number(text: str) -> str:
    """Undo spreadsheet wrappers around a number: a leading apostrophe, ="...", or 1.234567893E+09 notation.

    Scientific notation is read only when it keeps every digit: "1.00000002E+09" may stand for any of
    1000000020-1000000024, and a wrong NPI that passes the check digit must not load; such a cell raises.
    """
    text = text.strip()
    match = _TEXT_MARK.match(text)
    if match:
        text = (match.group(1) if match.group(1) is not None else text[match.end():]).strip()
    scientific = _SCIENTIFIC.fullmatch(text)
    if scientific:
        decimals, exponent = scientific.group(1) or "", int(scientific.group(2))
        if len(decimals) < exponent:
            raise ValueError(f"NPI {text!r} is in scientific notation with digits lost (format the column as text)")
        number = float(text)
        return str(int(number)) if number.is_integer() else text
    return text


def parse_npi(value: object) -> str | None:
    """Return a valid 10-digit NPI (Luhn check with the 80840 prefix), None when blank; raise on a bad one."""
    if is_blank(value):
        return None
    cell = _spreadsheet_number(value) if isinstance(value, str) else value
    npi = clean_npi(cell if isinstance(cell, (str, int, float)) else str(cell))
    if npi is None:
        raise ValueError(f"invalid NPI {_text(value)!r} (not 10 digits)")
    if not is_valid_npi(npi):
        raise ValueError(f"invalid NPI {_text(value)!r} (check digit fails)")
    return npi


# --- dates ---------------------------------------------------------------------------------------------------

_DATE_FORMATS = (
    "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%m.%d.%Y", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d",
    "%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%b %d", "%B %d", "%a %b %d %Y", "%A %B %d %Y",
    "%d-%b-%Y", "%d-%b-%y", "%b-%d-%Y", "%m/%d", "%m-%d", "%Y-%m-%d",
)
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I %p", "%I:%M%p", "%I%p")
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.IGNORECASE)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_WEEKDAY = re.compile(r"^\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s+", re.IGNORECASE)  # "Tue 11/3/2026"


def _clean_date_text(text: str) -> str:
    """Drop commas, ordinals ("25th") and weekday commas so strptime formats stay few."""
    text = _ORDINAL.sub("", text.replace(",", " ").replace("Sept ", "Sep "))
    text = _WEEKDAY.sub("", text) if _WEEKDAY.match(text) and re.search(r"\d[/.-]\d", text) else text
    return " ".join(text.split())


def _split_time(text: str) -> tuple[str, str | None]:
    """Split 'DATE TIME' into its date and time parts (time None when absent)."""
    match = re.search(r"\s+(\d{1,2}(?::\d{2}){0,2}\s*(?:[ap]\.?m\.?)?)$", text, re.IGNORECASE)
    if match and (":" in match.group(1) or re.search(r"[ap]\.?m", match.group(1), re.IGNORECASE)):
        return text[: match.start()], match.group(1).replace(".", "").upper()
    return text, None


@lru_cache(maxsize=65_536)
def _parse_datetime_text(text: str, default_year: int | None) -> dt.datetime | dt.date:
    """Cached core of parse_datetime for one distinct string."""
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return parsed if len(text) > 10 else parsed.date()
    except ValueError:
        pass
    if re.fullmatch(r"\d{5}(\.\d+)?", text):  # Excel serial date
        serial = float(text)
        if 20_000 <= serial <= 80_000:
            moment = dt.datetime.combine(_EXCEL_EPOCH, dt.time()) + dt.timedelta(seconds=round(serial * 86_400))
            return moment if serial % 1 else moment.date()
    date_text, time_text = _split_time(_clean_date_text(text))
    day: dt.date | None = None
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(date_text, fmt)
        except ValueError:
            continue
        if "%Y" not in fmt and "%y" not in fmt:
            if default_year is None:
                continue
            parsed = parsed.replace(year=default_year)
        day = parsed.date()
        break
    if day is None:  # day-first only when unambiguous: 25/11/2026
        match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", date_text)
        if match and int(match.group(1)) > 12:
            day = dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    if day is None:
        raise ValueError("unreadable date")
    if time_text is None:
        return day
    for fmt in _TIME_FORMATS:
        try:
            clock = dt.datetime.strptime(time_text, fmt).time()
        except ValueError:
            continue
        return dt.datetime.combine(day, clock)
    raise ValueError("unreadable time")


def parse_datetime(value: object, default_year: int | None = None) -> dt.datetime | dt.date | None:
    """Parse ISO, US ("11/25/2026", "Nov 25, 2026", optional time) or Excel-serial dates; None when blank."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"unreadable date {value!r}")
    if isinstance(value, (int, float)):
        value = str(value)
    text = _text(value)
    try:
        return _parse_datetime_text(text, default_year)
    except ValueError:
        raise ValueError(f"unreadable date {text!r}") from None


def parse_date(value: object, default_year: int | None = None) -> dt.date | None:
    """Parse a date (dropping any time of day); None when blank, ValueError when unreadable."""
    parsed = parse_datetime(value, default_year)
    return parsed.date() if isinstance(parsed, dt.datetime) else parsed


# --- booleans ------------------------------------------------------------------------------------------------

_TRUE = {"true", "t", "yes", "y", "1", "x", "✓", "✔", "reached", "answered", "correct", "confirmed", "ok",
         "yes confirmed", "in network", "accepts", "accepted", "takes", "1.0", "yeah", "yep"}
_UNSURE = re.compile(r"^(?:not sure|unsure|uncertain|unknown|unclear|dk|don'?t know|do not know|unverified|"
                     r"not verified|not applicable|n/?a)\b")
_FALSE = {"false", "f", "no", "n", "0", "not reached", "unreached", "unreachable", "incorrect", "wrong",
          "not confirmed", "out of network", "does not accept", "doesn't accept", "not accepted", "0.0", "nope",
          "✗", "✘", "×"}


_NEGATION = re.compile(r"\b(?:not?|never|none|incorrect|wrong|cannot|unable|declined?|denied|refused?|out of network)\b"
                       r"|\b(?:does|do|did|is|are|was|were|ca|wo|could|would)n'?t\b", re.IGNORECASE)


def negated(value: object) -> bool:
    """True when a cell's text says no somewhere ("not", "never", "doesn't", "wrong", "out of network", ...)."""
    return not is_blank(value) and bool(_NEGATION.search(_text(value)))


def parse_bool(value: object) -> bool | None:
    """Parse yes/no, true/false, Y/N, 1/0, x (checkbox) and a few obvious phrases; None when blank."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = _text(value).casefold().strip(" .!*")
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = re.split(r"[\s,;:(\-]+", text, maxsplit=1)[0]
    if first in {"yes", "y", "true"} or (first in {"correct", "verified", "confirmed"} and not negated(text)):
        return True  # ("Confirmed not at location" is no yes)
    if first in {"no", "n", "false", "incorrect", "wrong"}:
        return False
    if _UNSURE.match(text) or _REPORT_UNKNOWN.search(text):
        return None  # "not sure", "unable to verify", "didn't ask": no answer, not a bad row
    raise ValueError(f"not a yes/no value: {_text(value)!r}")


_NEGATED_REACH = re.compile(r"\b(?:not|never|unable to|could ?n[o']?t|can'?t|cannot|did ?n[o']?t|not able to)\s+"
                            r"(?:be\s+)?(?:reach|connect|get through|answer)", re.IGNORECASE)


def parse_reachable(value: object) -> bool | None:
    """Parse a "reached?" cell: yes/no, "could not reach", or an outcome written there ("Left VM", "Wrong #")."""
    if isinstance(value, str) and _NEGATED_REACH.search(value):
        return False
    try:
        return parse_bool(value)
    except ValueError:
        outcome = parse_call_outcome(value)
        if outcome is None:
            raise
        return outcome_reachable(outcome)


# --- insurer lists -------------------------------------------------------------------------------------------

_PROTECT = re.compile(
    r"blue\s*cross\s*(?:and|&|/|-|\+)?\s*blue\s*shield|bc\s*/\s*bs|anthem\s+blue\s+cross|"
    r"health\s*net\s*(?:and|&)\s*\w+|johnson\s*&\s*johnson|aetna\s*/\s*cvs",
    re.IGNORECASE,
)
_SUFFIX_COMMA = re.compile(r",\s*(?=(?:inc|llc|l\.l\.c|co|corp|ltd|lp|pc)\b\.?)", re.IGNORECASE)
_HARD_SPLIT = re.compile(r"\s*[;|\n\r•]+\s*")
_SOFT_SPLIT = re.compile(r"\s*(?:,|/|\s\+\s|\s&\s|\band\b|\bor\b)\s*", re.IGNORECASE)
_NONE_LIST = {"none", "no insurance", "self pay only", "self-pay only", "cash only"}


def split_insurers(value: object) -> list[str]:
    """Split an insurer list on ; | , / & and "and" while keeping names like "Blue Cross and Blue Shield" whole."""
    if isinstance(value, list):
        named = [next((v[k] for k in ("name", "insurer", "plan", "display") if v.get(k)), None)
                 if isinstance(v, dict) else v for v in value]  # [{"name": "Aetna"}, ...] from JSON exports
        items = [_text(v) for v in named if not is_blank(v)]
        return list(dict.fromkeys(item for item in items if item))
    if is_blank(value) or _text(value).casefold() in _NONE_LIST:
        return []
    text = _text(value)
    protected: list[str] = []

    def _hold(match: re.Match[str]) -> str:
        """Replace a protected name by a placeholder so it is not split."""
        protected.append(match.group(0))
        return f"\x00{len(protected) - 1}\x00"

    text = _SUFFIX_COMMA.sub(" ", _PROTECT.sub(_hold, text))
    pieces: list[str] = []
    for chunk in _HARD_SPLIT.split(text):
        pieces.extend(_SOFT_SPLIT.split(chunk) if "," in chunk or " and " in f" {chunk.casefold()} " or "/" in chunk
                      or " & " in chunk or " + " in chunk or " or " in f" {chunk.casefold()} " else [chunk])
    out: list[str] = []
    for piece in pieces:
        restored = re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], piece)
        restored = restored.strip(" .-'\"")
        if restored and restored.casefold() not in {"and", "or", "etc"} and restored not in out:
            out.append(restored)
    return out


# --- accepting status ----------------------------------------------------------------------------------------

_REPORT_UNKNOWN = re.compile(
    r"\b(?:unable to|could ?n[o']?t|can'?t|cannot|did ?n[o']?t|didn't|not able to|wouldn'?t|would not|refused to|"
    r"declined to|never)\s+(?:\w+\s+)?(?:confirm|determine|verify|reach|get through|ask|say|answer|tell|provide|"
    r"disclose|find out)\b|\bnot (?:asked|confirmed|verified|reached|discussed)\b|\bno (?:one|body) answered\b|"
    r"\bvoice ?mail\b|\bno answer\b|\bunclear\b|\bdon'?t know\b|\bunsure\b",
    re.IGNORECASE,
)
_REPORT_WAIT = re.compile(r"\b\d+\s*(?:-|to)?\s*\d*\s*(?:day|week|wk|month|mo|year|yr)s?\s+(?:wait|waiting)\b",
                          re.IGNORECASE)
_REPORT_DEPENDS = re.compile(r"\bdepends on\b|\bcase by case\b|\bsome plans\b", re.IGNORECASE)
_POSITIVE_WORD = re.compile(r"\b(?:yes|accept\w*|taking|open)\b", re.IGNORECASE)


@lru_cache(maxsize=65_536)
def _report_accepting_text(text: str) -> str:
    """Cached core of report_accepting for one distinct string."""
    if _REPORT_UNKNOWN.search(text):
        return "unknown"
    if re.fullmatch(r"[01]\.0+", text):  # a yes/no column saved as numbers by a spreadsheet
        return "accepting" if text.startswith("1") else "not_accepting"
    base = normalize_accepting(text)
    if base == "unknown" and _REPORT_WAIT.search(text) and not _POSITIVE_WORD.search(text):
        return "waitlist"
    if base == "unknown" and _REPORT_DEPENDS.search(text):
        return "limited"
    return base


def report_accepting(value: object) -> str:
    """Canonical accepting status of a report cell: the shared mapper plus report phrasings it does not cover.

    Report-specific additions: "unable to confirm", "could not reach", "not asked", "no answer" mean unknown (the
    shared mapper reads their negation as a refusal); "3 month wait" means waitlist; "depends on the plan" limited.
    """
    if isinstance(value, bool):
        return "accepting" if value else "not_accepting"
    if value is None or (isinstance(value, float) and value != value):
        return "unknown"
    if isinstance(value, (int, float)):
        return normalize_accepting(value)
    text = _text(value)
    return _report_accepting_text(text) if text else "unknown"


# --- call outcomes -------------------------------------------------------------------------------------------

_OUTCOME_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), outcome)
    for p, outcome in (
        (r"^(?:reached|wrong_number|no_answer|voicemail|disconnected|transferred_unresolved|not_at_location)$", ""),
        (r"\bdisconnect|\bnot in service\b|\bno longer in service\b|\bout of service\b|\bnon[- ]?working\b|"
         r"\bnot a working\b|\binvalid (?:phone|number|#)|\bnumber (?:is )?(?:not valid|invalid)\b|\bnot a valid (?:phone|number)\b|"
         r"\bfast busy\b|\bintercept\b|\bcannot be completed\b", "disconnected"),
        (r"\bwrong (?:number|no\b|#|office|practice|person)|\bwrong\s*#|\bnot (?:the|a) (?:medical|doctor'?s?|"
         r"provider'?s?) office\b|\b(?:residence|residential|personal (?:cell|phone)|fax (?:machine|tone|line))\b|"
         r"\bdifferent (?:business|practice|office)\b", "wrong_number"),
        (r"\bnot (?:at|with|in) (?:this|that|the) (?:location|office|practice|address|clinic)\b|"
         r"\b(?:no longer|doesn'?t|does not|never) (?:work|practice|see patients)s? (?:here|there|at)\b|"
         r"\b(?:has |have |had )?left (?:the |this |our )?(?:practice|office|group|clinic|location)\b|"
         r"\b(?:retired|moved|deceased|relocated|no longer with)\b|\bnot (?:affiliated|associated)\b|\bno such (?:provider|doctor)\b|"
         r"\bnever heard of\b|\bunknown provider\b|\bnot at location\b|\bnot here\b|"
         r"\bno longer (?:there|here|at|with|practicing|seeing patients)\b|\b(?:closed|shut) (?:permanently|down)\b|"
         r"\bpermanently closed\b|\bout of business\b|\bno longer (?:open|in business|operating)\b", "not_at_location"),
        (r"\bvoice ?mail|\bvm\b|\bmessage\b|\bmachine\b|\bmailbox\b|\bafter[- ]hours recording\b", "voicemail"),
        (r"\btransfer|\bon hold\b|\bhold\b.*\b(?:min|hung|drop)|\bhung up\b|\bcall dropped\b|\bdropped\b|"
         r"\bcall ?back\b.*\bnever\b|\bnever called back\b|\bunresolved\b|\bphone tree\b|\bmenu\b|\bivr\b|"
         r"\bcould ?n[o']?t get\b|\bnot resolved\b", "transferred_unresolved"),
        (r"\bno answer\b|\bnot answered\b|\bunanswered\b|\bno one answered\b|\bnobody answered\b|\brang\b|"
         r"\bring(?:s|ing)?\b.*\b(?:no|out)\b|\bbusy\b|\bno response\b|\bno pick ?up\b|\bdid ?n[o']?t answer\b|"
         r"\b(?:nobody|no one|never) pick(?:ed|s)? up\b", "no_answer"),
        # A negated success ("not reached", "unable to reach", "unsuccessful") is a failed call, not a reached one.
        (r"\b(?:not|never|unable to|could ?n[o']?t|can'?t|cannot|did ?n[o']?t)\s+(?:be\s+)?(?:reach|connect|complete|"
         r"successful|answer)|\bunsuccessful\b|\bno contact\b|\bnot contacted\b", "no_answer"),
        (r"\breached\b|\bspoke\b|\bspoken\b|\btalked\b|\banswered\b|\bconnected\b|\bsuccess|\bcompleted?\b|"
         r"\bconfirmed\b|\bverified\b|\breceptionist\b|\bfront desk\b|\bstaff\b|\boffice manager\b|\blive person\b|"
         r"\bcontact(?:ed)? made\b|^ok$|^yes$", "reached"),
    )
)


@lru_cache(maxsize=65_536)
def _outcome_text(text: str) -> str | None:
    """Cached core of parse_call_outcome for one distinct string."""
    key = text.casefold().strip(" .!")
    squashed = re.sub(r"[\s\-/]+", "_", key)
    if squashed in CALL_OUTCOMES:
        return squashed
    for pattern, outcome in _OUTCOME_RULES[1:]:
        if pattern.search(key):
            return outcome
    return None


def parse_call_outcome(value: object) -> str | None:
    """Map a free-text call outcome ("Left VM", "wrong #", "number not in service"...) onto CALL_OUTCOMES.

    Returns None for a blank cell and for text that names no outcome (the verbatim text stays in `raw`).
    """
    if is_blank(value) or isinstance(value, bool):
        return None
    return _outcome_text(_text(value))


def outcome_reachable(outcome: str | None) -> bool | None:
    """Whether an outcome means the dialled office was reached (someone there answered about the provider)."""
    if outcome is None:
        return None
    return outcome in ("reached", "not_at_location")


# --- first appointment ---------------------------------------------------------------------------------------

_RELATIVE = re.compile(
    r"\b(?:in\s+|about\s+|approx\.?\s+|~\s*)?(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
    r"\s*(?:-|to)?\s*(?:\d+\s*)?(day|week|wk|month|mo|year|yr)s?\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12}
_UNIT_DAYS = {"day": 1, "week": 7, "wk": 7, "month": 30, "mo": 30, "year": 365, "yr": 365}
_NO_APPOINTMENT = re.compile(r"\bnone\b|\bno (?:appointments?|appts?|availability|openings?)\b|\bnot offered\b|"
                             r"\bnot scheduling\b|\bno dates?\b", re.IGNORECASE)
_YES_NO = re.compile(r"^\s*(?:y|n|yes|no|true|false)\b(?!\s*\d)", re.IGNORECASE)
_TODAY = re.compile(r"^(?:today|same[- ]day)$", re.IGNORECASE)
_TOMORROW = re.compile(r"^(?:tomorrow|next day)$", re.IGNORECASE)


def parse_first_appointment(value: object, reported: dt.date | None) -> dt.date | None:
    """The first appointment date offered: a date, or "in 3 weeks" / "tomorrow" counted from the report date."""
    if is_blank(value) or (isinstance(value, str) and _NO_APPOINTMENT.search(value)):
        return None
    if isinstance(value, bool) or (isinstance(value, str) and _YES_NO.match(value)):
        return None  # "Appt Avail (Y/N)": whether one was offered, not when
    text = _text(value) if not isinstance(value, (dt.date, dt.datetime)) else ""
    if reported is not None and text:
        if _TODAY.match(text):
            return reported
        if _TOMORROW.match(text):
            return reported + dt.timedelta(days=1)
    try:
        offered = parse_date(value, default_year=reported.year if reported else None)
        if offered is not None and reported is not None and offered < reported and not re.search(r"\d{4}|\d[/-]\d{1,2}[/-]\d{2}$", text):
            offered = offered.replace(year=offered.year + 1)  # "Jan 5" said in November means next January
        return offered
    except ValueError:
        match = _RELATIVE.search(text)
        if match is None or reported is None:
            raise ValueError(f"unreadable first appointment {text!r}") from None
    count = match.group(1).casefold()
    amount = int(count) if count.isdigit() else _NUMBER_WORDS[count]
    return reported + dt.timedelta(days=amount * _UNIT_DAYS[match.group(2).casefold()])


# --- source --------------------------------------------------------------------------------------------------

_SOURCE_WORDS = (
    (re.compile(r"secret|mystery|shopper|simulated", re.IGNORECASE), "secret_shopper"),
    (re.compile(r"attest|self[- ]?report|roster|provider portal|caqh", re.IGNORECASE), "attestation"),
    (re.compile(r"phone|survey|call|outreach|telephon", re.IGNORECASE), "phone_survey"),
)


def parse_source(value: object) -> str | None:
    """Map a source cell ("Secret Shopper", "phone survey", "attestation"...) to SOURCES; None when blank."""
    if is_blank(value):
        return None
    text = _text(value)
    squashed = re.sub(r"[\s\-]+", "_", text.casefold())
    if squashed in SOURCES:
        return squashed
    for pattern, source in _SOURCE_WORDS:
        if pattern.search(text):
            return source
    raise ValueError(f"unknown report source {text!r} (expected attestation, phone_survey or secret_shopper)")

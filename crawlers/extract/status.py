"""Accepting-new-patients claims in page sentences: status, scope (practice or provider) and evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from crawlers.extract.gazetteer import INSURERS
from crawlers.extract.providers import find_names
from crawlers.extract.text import Block, split_sentences

__all__ = ["StatusClaim", "find_status_claims", "resolve_status", "normalize_sentence", "NEW_PATIENTS", "PRIORITY", "THIRD_PARTY"]

STATUSES = ("accepting", "not_accepting", "existing_only", "waitlist", "limited", "unknown")
PRIORITY = {"waitlist": 5, "existing_only": 4, "limited": 3, "not_accepting": 2, "accepting": 1, "unknown": 0}
POSITIVE = frozenset({"accepting", "limited"})
NEGATIVE = frozenset({"not_accepting", "existing_only", "waitlist"})

_TYPOS = {
    r"\bpat(?:ei|ie|ia)n(?:t)?s\b": "patients", r"\bpatiens\b": "patients", r"\bpaitents?\b": "patients",
    r"\bpatents\b": "patients", r"\bpts\b": "patients", r"\bpt\b": "patient",
    r"\b(?:acc?pet|acc?ept|exc?ep?t|acept)(ing|ed|s)?\b": r"accept\1", r"\baccpeting\b": "accepting",
    r"\bacceptng\b": "accepting", r"\bexcepting\b": "accepting", r"\bwelcom(?=ing\b)": "welcom",
    r"\bnew-patients?\b": "new patients", r"\bwait[\s-]+list": "waitlist", r"\bwaiting[\s-]+list": "waitlist",
    r"\bcan ?not\b": "cannot", r"\bare ?n[o']t\b": "are not", r"\bis ?n[o']t\b": "is not", r"\bcan't\b": "cannot",
    r"\bdon't\b": "do not", r"\bdoesn't\b": "does not", r"\bwon't\b": "will not", r"\baren't\b": "are not",
    r"\bwe're\b": "we are", r"\bwe've\b": "we have", r"\bit's\b": "it is",
}
_TYPO_RES = [(re.compile(k), v) for k, v in _TYPOS.items()]

NEW_PATIENTS = r"new\s+(?:(?!and\s+(?:existing|established|current))[a-z0-9'()/-]+\s+){0,3}?(?:patients?|clients|families|members)\b"
_NP = NEW_PATIENTS
_NEG = r"(?:\bnot\b|\bno longer\b|\bnever\b|\bunable\b|\bcannot\b|\bstopped\b|\bceased\b|\bpaused\b|\bsuspended\b|\bhalted\b|\bno\b)"
_VERB = (
    r"(?:accept(?:ing|ed|s)?|tak(?:e|es|ing)(?:\s+on)?|welcom(?:e|es|ed|ing)|see(?:ing|s)?|enroll(?:ing|s)?|"
    r"book(?:ing|s)?|schedul(?:e|es|ing)|accommodat(?:e|ing)|open\s+(?:to|for)|room\s+for|openings?\s+for|"
    r"availability\s+for|capacity\s+for|treat(?:ing)?)"
)
_POS_RES = [
    re.compile(rf"\b(?P<verb>{_VERB})\s+(?:(?:a|any|our|all|more|additional|some|limited|select|small)\s+){{0,2}}(?:number\s+of\s+)?(?P<np>{_NP})"),
    re.compile(rf"(?P<np>{_NP})\s+(?:are|is)?\s*(?:always\s+|currently\s+|now\s+|gladly\s+|being\s+)?(?P<verb>welcome[d]?|accepted|seen|scheduled)\b"),
    re.compile(rf"(?P<np>{_NP})\s*(?:status)?\s*[:\-–—|]\s*(?P<verb>accepting|open|welcome|yes|available)\b"),
]
_NEW_AND_EXISTING = re.compile(
    r"\b(?:(?:accept\w*|welcom\w*|seeing|see|tak\w*)\s+(?:both\s+)?new\s+(?:and|&)\s+(?:existing|established|returning|current)\s+patients|"
    r"new\s+(?:and|&)\s+(?:existing|established|returning|current)\s+patients\s+(?:are\s+)?(?:always\s+)?(?:welcome[d]?|accepted))\b"
)
_LABEL_YESNO = re.compile(
    rf"^(?:currently\s+)?(?:accepting|taking)\s+(?P<np>{_NP})\??\s*(?:[:\-–—|]\s*)?(?P<val>yes|no|y|n|true|false|open|closed|limited|not at this time|not currently|[✓✔☑✅✗✘×❌])\W*$"
)
_NEG_RES = [
    re.compile(rf"\bclosed\s+(?:(?:its|our|their|his|her|the)\s+)?(?:panels?\s+)?to\s+(?P<np>{_NP})"),
    re.compile(rf"\bno\s+(?:more\s+|additional\s+)?(?P<np>{_NP})"),
    re.compile(rf"(?P<np>{_NP})\s*(?:appointments?|visits?|status|intake)?\s*[:\-–—|]\s*(?:closed|not accepting|not available|unavailable|not at this time|not currently|no|none|full)\b"),
    re.compile(rf"(?P<np>{_NP})\s*(?:intake|enrollment|appointments?|visits?|scheduling)?\s+(?:is|are|has been|have been)?\s*(?:currently\s+|temporarily\s+|now\s+)?(?:not\s+(?:being\s+)?(?:accepted|seen|scheduled|available)|closed|paused|suspended|unavailable|on hold|full)\b"),
    re.compile(rf"\b(?:paused|suspended|stopped|halted|closed|frozen|ceased)\s+(?:accepting\s+|taking\s+|all\s+)?(?P<np>{_NP})"),
    re.compile(r"\bpanels?\b[^.;]{0,30}?\b(?:is|are|remains?)\s+(?:currently\s+|now\s+)?(?:full|closed)\b"),
    re.compile(r"\b(?:closed|full)\s+panels?\b"),
    re.compile(rf"\b(?:schedules?|calendars?|practices?|books?)\s+(?:is|are)\s+(?:currently\s+|completely\s+|now\s+)?full\s+(?:for|to)\s+(?P<np>{_NP})"),
    re.compile(r"\b(?:our|the)\s+(?:practice|office|clinic)\s+is\s+(?:currently\s+|now\s+)?(?:full|at capacity)\b"),
    re.compile(rf"\b(?:at|reached)\s+(?:full\s+|our\s+|its\s+|their\s+)?capacity\b[^.;]{{0,60}}?(?P<np>{_NP})"),
    re.compile(rf"\breached\s+(?:our|its|their)\s+capacity\s+for\s+(?P<np>{_NP})"),
]
_PAST_UNTIL = re.compile(rf"\b(?:were|was|had been)\s+(?:accepting|taking|seeing|welcoming)\s+(?P<np>{_NP})\s+(?:until|through|up until|till)\b")
_PAST = re.compile(r"\b(?:previously|formerly|used to|in the past|were once|was once|had been)\b")
_WAITLIST = [
    re.compile(r"\bwaitlist\b(?![^.;]{0,20}\b(?:is|are)\s+(?:currently\s+|now\s+|also\s+)?(?:closed|full))"),
    re.compile(rf"(?P<np>{_NP})[^.;]{{0,60}}\bwait(?:ing)?\s*times?\b[^.;]{{0,40}}\b(?:\d+|several|a few|few|many|six|three|four|five|nine|twelve)\s*(?:\+|-|–|to)?\s*\d*\s*months?\b"),
    re.compile(rf"\bwait(?:ing)?(?:\s*times?)?\s+(?:for|on)\s+(?:a\s+|an\s+)?(?P<np>{_NP})[^.;]{{0,40}}\bmonths?\b"),
    re.compile(rf"\b(?:\d+|several|a few|few|many)\s*(?:\+|-|–|to)?\s*\d*\s*[- ]?months?\s*(?:long\s+)?wait\b[^.;]{{0,30}}(?P<np>{_NP})"),
    re.compile(rf"(?P<np>{_NP})[^.;]{{0,40}}\b(?:scheduled|booking|booked|scheduling)\s+(?:about\s+|approximately\s+|roughly\s+|around\s+)?(?:\d+|several|a few)\s*(?:-|–|to)?\s*\d*\s*months?\s+out\b"),
]
_EXISTING = [
    re.compile(r"\b(?:only|exclusively|solely)\b[^.;]{0,45}?\b(?:established|existing|current|returning)\s+(?:patients|clients|families)\b"),
    re.compile(r"\b(?:established|existing|current|returning)\s+(?:patients|clients)\s+(?:only|exclusively)\b"),
    re.compile(r"\b(?:established|existing|current|returning)\s+(?:patients|clients)\s+and\s+their\s+(?:immediate\s+)?famil(?:y|ies)(?:\s+members)?\s+only\b"),
    re.compile(r"\blimited\s+to\s+(?:our\s+)?(?:established|existing|current|returning)\s+(?:patients|clients)\b"),
    re.compile(r"\b(?:immediate\s+)?family(?:\s+members)?\s+of\s+(?:our\s+)?(?:established|existing|current)\s+patients\b"),
]
_LIMITED = re.compile(
    r"\b(?:only|limited\s+basis|limited\s+number|small\s+number|handful|referrals?|case[-\s]by[-\s]case|select\s+(?:providers|physicians|doctors|clinicians|plans|insurance)|"
    r"some\s+of\s+our|certain\s+(?:providers|physicians|plans|insurances?)|a\s+few\s+of\s+our|select|limited\s+capacity|limited\s+availability|exclusively)\b"
)
_NO_REFERRAL = re.compile(r"\b(?:no|without(?: a)?|not)\s+(?:physician\s+|doctor\s+)?referrals?\s*(?:is\s+|are\s+)?(?:needed|necessary|required)?\b|\breferrals?\s+(?:is\s+|are\s+)?not\s+(?:needed|necessary|required)\b")
_HAS_OPENINGS = re.compile(r"\b(?:has|have)\s+(?:some\s+|limited\s+)?(?:openings|availability|room|open slots)\b|\bis\s+available\b")
_SUBSET_SUBJECT = re.compile(r"^\s*(?:some|select|certain|a few|several|one|two|three)\b")
_HYPOTHETICAL = re.compile(
    r"\b(?:if|whether|find out|to check|check\s+(?:if|whether|to see)|ask\s+(?:if|whether)|depends|depending|to see if|to confirm|to verify)\b"
)
THIRD_PARTY = re.compile(
    r"\b(?:according to|survey|study|studies|reported|reports|announced|nationwide|national|across the (?:state|country|nation)|"
    r"in our area|trend|shortage|many (?:practices|doctors|physicians|clinics|pediatricians|offices|providers)|"
    r"most (?:practices|doctors|physicians|clinics)|other (?:practices|doctors|physicians|clinics|offices)|"
    r"cdc|guidance|says|said|consultants?|experts?|the local paper|newspaper|lawmakers|legislat\w+|pandemic)\b"
)
_BLOCK_SKIP = re.compile(
    r"\b(?:we(?:'re| are) hiring|hiring|job (?:opening|posting|description)|careers?|responsibilities|qualifications|"
    r"apply now|applicants?|salary|resume|blog|article|read (?:our|more)|testimonials?|reviews?|in the news|press release)\b",
    re.IGNORECASE,
)
_GENERIC = re.compile(r"^(?:accepting|taking|welcoming|seeing)\s+new\s+patients\s+(?:is|can|may|means|requires|helps)\b")
_PREFILTER = re.compile(r"new|panel|capacity|wait|establish|exist|current|return|pati|paci|pts|accept|except", re.IGNORECASE)
_QUESTION_START = re.compile(r"^(?:are|is|do|does|can|will|would|should|how|what|when|why|who)\b")
_YES = re.compile(r"^(?:yes|yep|absolutely|of course|we sure are|definitely)\b")
_NO = re.compile(r"^(?:no|nope|unfortunately not|not at this time|not currently)\b")
_CLAUSE_SPLIT = re.compile(r"\s*(?:;|,?\s+\bbut\b|,?\s+\bhowever\b,?|,?\s+\bwhereas\b|,?\s+\bwhile\b|\s+[–—]\s+(?=\w+\s+(?:is|are)\b))\s*")
_ELLIPSIS = re.compile(r"^(?P<subj>.{2,80}?)\s+(?:is|are|does|do|has|have|will)(?P<neg>\s+not|n't)?(?:\s+(?:still|currently|also|too|now))?\s*[.!]*$")
_PAYER = r"(?:medicare|medicaid|medi-cal|hmo|ppo|epo|tricare|marketplace|exchange|" + "|".join(
    sp.lower() for group in INSURERS.values() for sp in group
) + ")"
# "not accepting new Medicare patients", "no new patients with Medicaid": about one payer, not the practice.
_PAYER_QUALIFIED = re.compile(
    rf"\bnew\s+(?:[a-z-]+\s+)?{_PAYER}(?:\s+(?:advantage|plan|plans|insurance))?\s+(?:patients|members|enrollees|beneficiaries)\b|"
    rf"\bnew\s+(?:patients|members)\s+(?:with|who\s+have|on|covered\s+by|insured\s+(?:by|through)|under|through|from)\s+"
    rf"(?:(?!(?:any|all|every|most)\b)[a-z-]+\s+){{0,2}}?(?:{_PAYER}|insurance|plans?|coverage)\b"  # ("with any plan": all)
)
_EXCEPT_NAMES = re.compile(r"\b(?:except(?:\s+for)?|other\s+than|with\s+the\s+exception\s+of|besides|excluding)\b", re.IGNORECASE)
_ES_NP = r"(?:nuevos\s+pacientes|pacientes\s+nuevos)"
_ES_ACCEPT = re.compile(
    rf"\b(?:aceptamos|aceptando|acepta|aceptan|recibimos|recibiendo|recibe|reciben|atendemos|atendiendo)\s+(?:a\s+)?{_ES_NP}|"
    rf"{_ES_NP}\s+(?:son\s+|están\s+)?(?:bienvenidos|aceptados)"
)
_TEAM_SUBJECT = re.compile(r"\band (?:her|his|their|our) (?:team|staff|colleagues|partners)\b|\b(?:the )?(?:office|practice) of\b")


@dataclass(frozen=True)
class StatusClaim:
    """One accepting-status statement: canonical status, who it is about, the verbatim sentence, confidence."""

    status: str
    scope: str
    snippet: str
    confidence: float
    block_index: int


def normalize_sentence(text: str) -> str:
    """Lower-case a sentence, straighten quotes and fix common misspellings so patterns see one form."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"[\u2010-\u2012]", "-", text)
    for pattern, repl in _TYPO_RES:
        text = pattern.sub(repl, text)
    return re.sub(r"\s+", " ", text).strip()


def _negated_before(norm: str, start: int) -> bool:
    """True when a negation sits within a few words before position `start` in the same clause."""
    prefix = norm[max(0, start - 45) : start]
    prefix = re.split(r"[,;:!]|\bbut\b|\band\s+(?=we|our|i)\b", prefix)[-1]
    words = prefix.split()[-5:]
    return bool(re.search(_NEG, " ".join(words)))


def _classify_clause(norm: str) -> tuple[str, float] | None:
    """Classify one normalized clause into a canonical status with a base confidence, or None."""
    norm = _NO_REFERRAL.sub(" ", norm)
    spanish = _ES_ACCEPT.search(norm)
    if spanish:
        return ("not_accepting", 0.85) if _negated_before(norm, spanish.start()) else ("accepting", 0.85)
    if _PAST_UNTIL.search(norm):
        return "not_accepting", 0.75
    for pattern in _WAITLIST:
        match = pattern.search(norm)
        if match and (re.search(_NP, norm) or "waitlist" in norm and re.search(r"\b(?:join|added|add|placed|sign up|our)\b", norm)):
            return "waitlist", 0.85
    for pattern in _EXISTING:
        match = pattern.search(norm)
        if match and not re.search(r"\b(?:including|even|nor)\b[^.;]{0,25}$", norm[: match.start()]):
            return "existing_only", 0.85
    if _NEW_AND_EXISTING.search(norm) and not _negated_before(norm, _NEW_AND_EXISTING.search(norm).start()):
        return "accepting", 0.8
    label = _LABEL_YESNO.match(norm)
    if label:
        value = label.group("val")
        if value == "limited":
            return "limited", 0.8
        positive = value in ("yes", "y", "true", "open", "✓", "✔", "☑", "✅")
        return ("accepting" if positive else "not_accepting"), 0.8
    for pattern in _NEG_RES:
        match = pattern.search(norm)
        if match:
            if _PAST.search(norm[: match.start()]):
                return None
            return "not_accepting", 0.85
    for pattern in _POS_RES:
        match = pattern.search(norm)
        if not match:
            continue
        if _PAST.search(norm[: match.start()]):
            return None
        if _negated_before(norm, match.start("verb") if match.start("verb") < match.start("np") else match.start("np")):
            return "not_accepting", 0.85
        if pattern is _POS_RES[1] and re.search(rf"{_NEG}\s*(?:being\s+)?$", norm[match.start("np") : match.start("verb")]):
            return "not_accepting", 0.8
        if _LIMITED.search(norm) or _SUBSET_SUBJECT.search(norm):
            return "limited", 0.8
        return "accepting", 0.85
    return None


def _sentence_claims(sentence: str, context_name: str | None, block_index: int) -> list[StatusClaim]:
    """Claims of one sentence: each clause classified, scoped to a named provider or the practice."""
    clauses = [c for c in _CLAUSE_SPLIT.split(sentence) if c and c.strip()]
    results: list[tuple[str, float, list[str], str]] = []
    previous: str | None = None
    for clause in clauses:
        norm = normalize_sentence(clause)
        found = _classify_clause(norm)
        if found is None and previous is not None:
            ellipsis = _ELLIPSIS.match(norm)
            if ellipsis and not re.search(_NP, norm):
                found = ("not_accepting" if ellipsis.group("neg") else "accepting"), 0.7
            elif _HAS_OPENINGS.search(norm) and not re.search(_NEG, norm):
                found = "accepting", 0.65
        if found is None:
            continue
        status, confidence = found
        previous = status
        if status in NEGATIVE and _PAYER_QUALIFIED.search(norm):
            continue  # closed to one payer's new patients only: says nothing about the practice as a whole
        found_names = find_names(clause)
        names = [name for name, _start in found_names]
        if names and _TEAM_SUBJECT.search(norm):
            names = []
        if _SUBSET_SUBJECT.search(norm) and status == "accepting":
            status = "limited"
        exception = _EXCEPT_NAMES.search(clause)
        excepted = [name for name, start in found_names if exception and start >= exception.end()] if names else []
        if excepted:  # "all of our providers are accepting new patients except Dr. Smith": Dr. Smith is the opposite
            opposite = "not_accepting" if status in POSITIVE else "accepting"
            results.append((status, confidence, [n for n in names if n not in excepted], clause))
            results.append((opposite, confidence, excepted, clause))
            continue
        results.append((status, confidence, names, clause))
    if not results:
        return []
    claims: list[StatusClaim] = []
    statuses = {r[0] for r in results}
    mixed_unnamed = len(results) > 1 and statuses & POSITIVE and statuses & NEGATIVE and any(not r[2] for r in results)
    if mixed_unnamed and not context_name:
        claims.append(StatusClaim("limited", "practice", sentence, 0.75, block_index))
        for status, confidence, names, _clause in results:
            for name in names:
                claims.append(StatusClaim(status, name, sentence, confidence, block_index))
        return claims
    for status, confidence, names, _clause in results:
        scopes = names or ([context_name] if context_name else ["practice"])
        for scope in scopes:
            claims.append(StatusClaim(status, scope, sentence, confidence, block_index))
    return claims


def _units(blocks: Sequence[Block]) -> list[tuple[int, Block, str]]:
    """Analysis units: each block, except that table rows and dt/dd pairs are joined as 'key: value'."""
    units: list[tuple[int, Block, str]] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.row:
            j = i
            cells = []
            while j < len(blocks) and blocks[j].row == block.row:
                cells.append(blocks[j].text.replace("\n", " "))
                j += 1
            units.append((i, block, ": ".join(cells) if len(cells) > 1 else cells[0]))
            i = j
            continue
        if block.tag == "dt" and i + 1 < len(blocks) and blocks[i + 1].tag == "dd":
            units.append((i, block, f"{block.text}: {blocks[i + 1].text}"))
            i += 2
            continue
        units.append((i, block, block.text))
        i += 1
    return units


def _name_only(text: str) -> str | None:
    """The provider name when a line/heading is just a name (e.g. 'Dr. Robert Lee, MD'), else None."""
    names = find_names(text)
    if len(names) == 1:
        name, start = names[0]
        rest = (text[:start] + text[start + len(name) :]).strip(" -–—|:,")
        if len(rest.split()) <= 3 and not re.search(r"^['’]s\b|\b(?:is|are|was|were|has|have|will|remains?|not)\b", rest, re.IGNORECASE):
            return name
    return None


def find_status_claims(blocks: Sequence[Block]) -> list[StatusClaim]:
    """Every accepting-status claim on a page, skipping questions, hypotheticals, job posts and third parties."""
    claims: list[StatusClaim] = []
    pending_question: tuple[str, list[str]] | None = None
    for index, block, text in _units(blocks):
        if _BLOCK_SKIP.search(text) or _BLOCK_SKIP.search(block.heading):
            continue
        heading_name = _name_only(block.heading) if block.heading else None
        line_name: str | None = None
        for sentence, _start in split_sentences(text):
            if pending_question is None and not _PREFILTER.search(sentence):
                if _name_only(sentence):
                    line_name = _name_only(sentence)
                continue
            norm = normalize_sentence(sentence)
            only_name = _name_only(sentence)
            if only_name and not re.search(_NP, norm):
                line_name = only_name
                continue
            if pending_question is not None:
                question, names = pending_question
                pending_question = None
                answer = _YES.match(norm) and "accepting" or (_NO.match(norm) and "not_accepting")
                own = _classify_clause(norm)
                if answer and own is None:
                    for scope in names or [heading_name or line_name or "practice"]:
                        claims.append(StatusClaim(answer, scope, f"{question} {sentence}", 0.65, index))
                    continue
            if sentence.rstrip().endswith("?") or _QUESTION_START.match(norm) and "?" in sentence:
                if re.search(_NP, norm) and re.search(r"\b(?:accept\w*|tak\w*|see\w*|open)\b", norm) and not THIRD_PARTY.search(norm):
                    pending_question = (sentence, [n for n, _ in find_names(sentence)])
                continue
            if not re.search(r"new|panel|capacity|waitlist|established|existing|current|returning|wait|pacientes", norm):
                continue
            if THIRD_PARTY.search(norm) or _GENERIC.match(norm):
                continue
            hypo = _HYPOTHETICAL.search(norm)
            cue = re.search(_NP, norm) or re.search(r"panel|capacity|waitlist|patients", norm)
            if hypo and cue and hypo.start() < cue.start():
                continue
            if re.search(r'^"|"$', sentence.strip()) or sentence.strip().startswith(("“", '"')):
                continue
            claims.extend(_sentence_claims(sentence, heading_name or line_name, index))
    return claims


def resolve_status(claims: Iterable[StatusClaim]) -> tuple[str, StatusClaim | None]:
    """The practice-level status of a set of claims and the claim that decides it (None when unknown).

    Practice-scoped claims win by priority (waitlist > existing_only > limited > not_accepting >
    accepting). Provider-scoped claims that disagree in direction (some take new patients, some
    don't) make the practice `limited`; when they agree they stand for the practice.
    """
    claims = list(claims)
    if not claims:
        return "unknown", None
    practice = [c for c in claims if c.scope == "practice"]
    providers = [c for c in claims if c.scope != "practice"]
    provider_status: dict[str, StatusClaim] = {}
    for claim in providers:
        key = claim.scope.casefold()
        if key not in provider_status or PRIORITY[claim.status] > PRIORITY[provider_status[key].status]:
            provider_status[key] = claim
    pool = practice + list(provider_status.values())
    directions = {("+" if c.status in POSITIVE else "-") for c in pool}
    if len(directions) > 1 and provider_status:
        best = max(pool, key=lambda c: (c.status in POSITIVE, c.confidence))
        return "limited", best
    best = max(pool, key=lambda c: (PRIORITY[c.status], c.scope == "practice", c.confidence))
    return best.status, best

"""Insurers a practice says it accepts or does not accept, from prose, bullet lists and check-mark tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from crawlers.extract.gazetteer import CASE_SENSITIVE, INSURERS, US_STATES
from crawlers.extract.providers import find_names
from crawlers.extract.status import NEW_PATIENTS, THIRD_PARTY
from crawlers.extract.text import Block, split_sentences

__all__ = ["InsurerMention", "InsurerClaim", "InsurerFinder", "find_insurer_claims", "merge_insurers", "insurer_key"]

_ACC = re.compile(
    r"\b(?:accept\w*|take|takes|taking|in[- ]?network|participat\w*|contracted|credentialed|paneled|work(?:s|ing)?\s+with|"
    r"bill(?:s|ing)?|file\s+claims|filing|covered|cover|preferred\s+provider|provider\s+for|welcome[sd]?|honou?r|"
    r"in-?plan|network\s+provider|are\s+in\s+network|remain\s+in|serv(?:e|es|ing)\s+(?:members|patients|enrollees)\s+(?:of|with|covered)|"
    r"acept(?:amos|a|an|ando|ados?|amos)|trabajamos\s+con)\b",
    re.IGNORECASE,
)
_NEG = re.compile(
    r"\b(?:not|no\s+longer|never|unable|cannot|can't|don't|doesn't|won't|out[- ]of[- ]network|out\s+of\s+network|"
    r"non[- ]?participating|non[- ]?contracted|non[- ]?network|terminat\w+|discontinu\w+|dropped|exclud\w+|leaving|"
    r"ended\s+(?:our|its|the|their)\s+(?:contract|participation|agreement|relationship)|"
    r"left\s+(?:the\s+)?(?:\w+\s+)?network|opted\s+out)\b|✗|✘|×|❌|"
    r"\b(?:no|ya\s+no)\s+(?:\w+\s+)?(?:acept\w*|trabajamos|participamos|estamos\s+(?:en|dentro\s+de)\s+la\s+red)\b|\bfuera\s+de\s+(?:la\s+)?red\b",
    re.IGNORECASE,
)
_EXCEPT = re.compile(r"\b(?:except(?:\s+for)?|excluding|other\s+than|with\s+the\s+exception\s+of|but\s+not)\b", re.IGNORECASE)
_INSTRUCTION = re.compile(
    r"\b(?:find|search|locate|look\s+up|verify|confirm|check|call\s+the\s+number|contact\s+your|prior\s+authori[sz]ation|"
    r"please\s+bring|bring\s+your|card)\b",
    re.IGNORECASE,
)
_WE = re.compile(r"\b(?:we|our\s+(?:practice|office|clinic|providers?|physicians?|doctors?)|is\s+accepted|are\s+accepted|accepted\s+here|still\s+covered)\b", re.IGNORECASE)
_CLAUSES = re.compile(r"\s*(?:;|,?\s+\bbut\b(?!\s+not\b)|,?\s+\bhowever\b,?|,?\s+\bwhile\b|,?\s+\bwhereas\b)\s*", re.IGNORECASE)
_INSURANCE_HEADING = re.compile(r"\b(?:seguros?|aseguradoras?|insurance|insurances|insurers?|plans?|networks?|payers?|payors?|carriers?|coverage|accepted|we\s+accept|participat\w*)\b", re.IGNORECASE)
_NP_NEGATION = re.compile(rf"\b(?:not|no\s+longer|unable\s+to|cannot|never)\s+(?:\w+\s+){{0,3}}?{NEW_PATIENTS}", re.IGNORECASE)
_MARK_YES = re.compile(r"^(?:✓|✔|☑|✅|yes|y|accepted|accepting|in[- ]network|participating|contracted|covered|x)$", re.IGNORECASE)
_MARK_NO = re.compile(r"^(?:✗|✘|×|❌|no|n|not\s+accepted|out[- ]of[- ]network|non[- ]participating|not\s+contracted|—|-)$", re.IGNORECASE)
_ITEM_STOP = re.compile(
    r"\b(?:please|call|bring|card|visit|contact|list|more|others?|most|all|many|self[- ]?pay|cash|checks?|credit|debit|"
    r"we|our|your|you|if|not\s+listed|questions?|ask|and\s+more|etc|hsa|fsa|payment|financing|sliding|fee|discount|"
    r"click|here|download|form|policy|copay|deductible|medical\s+records|"
    r"patients?|team|home|about|services|hours|locations?|blog|news|faqs?|resources|appointments?)\b",
    re.IGNORECASE,
)


_ASIDE = re.compile(r"^\s*(?:if|please|when|unless|for\s+questions|questions|note)\b", re.IGNORECASE)
_NAMES_ONLY_FILLER = re.compile(r"^[\s,;:&/.()*-]*(?:(?:and|or|plans?|all|products?)[\s,;:&/.()*-]*)*$", re.IGNORECASE)
_HEADER_CELL = re.compile(r"^\s*(?:plans?|insurance(?:s| plans?| company| carrier)?|insurers?|carriers?|networks?|payers?|payors?|health plans?|name|status)\s*:?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class InsurerMention:
    """An insurer name found in text: verbatim spelling and its character span."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class InsurerClaim:
    """A practice's statement that it does (accepted=True) or does not accept an insurer."""

    name: str
    accepted: bool
    snippet: str
    confidence: float
    block_index: int


def insurer_key(name: str) -> str:
    """A comparison key for a verbatim insurer name: casefolded, '&' as 'and', single spaces."""
    return re.sub(r"\s+", " ", name.replace("&", " and ").replace("-", " ")).casefold().strip(" .,")


class InsurerFinder:
    """Finds insurer names from the built-in gazetteer plus configured (known) insurer names."""

    def __init__(self, known_insurers: Sequence[str] = ()) -> None:
        """Compile one case-insensitive and one case-sensitive alternation, plus the known names."""
        spellings = [s for group in INSURERS.values() for s in group]
        loose = sorted((s for s in spellings if s not in CASE_SENSITIVE), key=len, reverse=True)
        strict = sorted((s for s in spellings if s in CASE_SENSITIVE), key=len, reverse=True)
        known = sorted({k.strip() for k in known_insurers if k and k.strip()}, key=len, reverse=True)
        known_alt = [r"[\s-]+".join(re.escape(part) for part in re.split(r"[\s-]+", k)) for k in known]
        edge_l, edge_r = r"(?<![\w-])", r"(?![\w-]|'s\w)"
        self._loose = re.compile(edge_l + "(?:" + "|".join(known_alt + loose) + ")" + edge_r, re.IGNORECASE)
        self._strict = re.compile(edge_l + "(?<!Dr\\. )(?<!Dr )(?:" + "|".join(strict) + r")(?!\s+[A-Z][a-z])" + edge_r) if strict else None
        self._canonical = [(k, re.compile(r"[\s-]+".join(re.escape(part) for part in re.split(r"[\s-]+", k)), re.IGNORECASE)) for k in known]
        self._canonical += [
            (name, re.compile("|".join(f"(?:{sp})" for sp in group), 0 if all(sp in CASE_SENSITIVE for sp in group) else re.IGNORECASE))
            for name, group in INSURERS.items()
        ]
        self._state = re.compile(r"\s+of\s+(?:" + "|".join(re.escape(s) for s in sorted(US_STATES, key=len, reverse=True)) + r")\b")

    def canonical(self, name: str) -> str:
        """The gazetteer (or configured) insurer a verbatim spelling belongs to; the spelling itself if none."""
        for canonical, pattern in self._canonical:
            if pattern.fullmatch(name) or pattern.match(name):
                return canonical
        return name

    def find(self, text: str) -> list[InsurerMention]:
        """Insurer mentions in text, longest match first on overlaps, in text order.

        A parenthesized abbreviation right after a name ('United Healthcare (UHC)') is the same insurer
        and is not reported again.
        """
        found: list[InsurerMention] = []
        for pattern in (self._loose, self._strict):
            if pattern is None:
                continue
            for match in pattern.finditer(text):
                start, end = match.span()
                if re.search(r"blue|bcbs|anthem|highmark|regence|premera|wellmark|carefirst", match.group(0), re.IGNORECASE):
                    extra = self._state.match(text, end)
                    if extra:
                        end = extra.end()
                if any(m.start <= start < m.end or start <= m.start < end for m in found):
                    continue
                found.append(InsurerMention(text[start:end], start, end))
        found.sort(key=lambda m: m.start)
        kept: list[InsurerMention] = []
        for mention in found:
            if kept and re.fullmatch(r"\s*\(\s*", text[kept[-1].end : mention.start]) and text[mention.end : mention.end + 3].lstrip().startswith(")"):
                if self.canonical(kept[-1].name) == self.canonical(mention.name):
                    continue
            kept.append(mention)
        return kept


@lru_cache(maxsize=64)
def _finder(known: tuple[str, ...]) -> InsurerFinder:
    """A cached finder per set of known insurer names (compiling the gazetteer is not free)."""
    return InsurerFinder(known)


def _polarity(text: str, context: bool | None) -> bool | None:
    """True (accepts), False (does not) or None (no claim) for one clause, given the list/heading context."""
    stripped = _NP_NEGATION.sub(" ", text)
    if _NEG.search(stripped):
        return False
    if _ACC.search(stripped) or re.match(r"^[^:]{0,40}\b(?:insurance|insurances|plans?|networks?)\b[^:]{0,20}:", stripped, re.IGNORECASE):
        return True
    return context


def _clause_claims(clause: str, finder: InsurerFinder, context: bool | None, block_index: int, snippet: str) -> list[InsurerClaim]:
    """Claims of one clause; names after 'except'/'excluding' take the opposite (not accepted) side."""
    mentions = finder.find(clause)
    if not mentions:
        return []
    excluded = [m.span() for m in re.finditer(NEW_PATIENTS, clause, re.IGNORECASE)]
    mentions = [m for m in mentions if not any(s <= m.start < e for s, e in excluded)]
    if not mentions:
        return []
    if _INSTRUCTION.search(clause) and not _WE.search(clause):
        return []
    claims: list[InsurerClaim] = []
    exc = _EXCEPT.search(clause)
    left = clause[: exc.start()] if exc else clause
    polarity = _polarity(left, context)
    one_provider = _provider_subject(clause, mentions[0].start)
    for mention in mentions:
        side = False if exc and mention.start >= exc.end() else polarity
        if side is None or (side is False and one_provider):
            continue  # "Dr. Lee is out of network with Aetna" is about Dr. Lee, not every provider of the practice
        confidence = 0.85 if context is None or _ACC.search(clause) or _NEG.search(clause) else 0.7
        claims.append(InsurerClaim(mention.name, side, snippet, confidence, block_index))
    return claims


def _provider_subject(clause: str, before: int) -> bool:
    """True when a named provider, not the practice ('we', 'our office'), is the clause's subject."""
    return any(start < before for _name, start in find_names(clause[:before])) and not re.search(
        r"\b(?:we|our|us|all|practice|office|clinic)\b", clause[:before], re.IGNORECASE
    )


def _looks_like_plan(text: str) -> bool:
    """True for a short list item that reads like a plan name ('Riverbend Health Partners')."""
    text = text.strip(" .;,*•")
    words = text.split()
    if not words or len(words) > 6 or len(text) > 60 or not re.search(r"[A-Z]", text):
        return False
    if _ITEM_STOP.search(text) or re.search(r"[?!:]|\d{3}|https?://|@", text):
        return False
    return sum(1 for w in words if w[:1].isupper() or w[:1].isdigit() or w in ("of", "and", "&", "the", "for")) == len(words)


def _context_polarity(text: str) -> bool | None:
    """Polarity a list intro or heading gives the items under it ('We do NOT accept:' -> False).

    Conditional asides ('If your plan is not listed, please call') do not count.
    """
    if not text:
        return None
    kept = [s for s, _ in split_sentences(text) if not _ASIDE.match(s)]
    text = " ".join(kept)
    if not text:
        return None
    if _NEG.search(_NP_NEGATION.sub(" ", text)):
        return False if _INSURANCE_HEADING.search(text) or _ACC.search(text) else None
    if _INSURANCE_HEADING.search(text) or _ACC.search(text):
        return True
    return None


def _row_polarity(cells: list[str]) -> bool | None:
    """Polarity of a plan table row from its marker cell (✓/✗, Yes/No, In network/Out of network)."""
    for cell in cells[1:]:
        value = cell.strip()
        if _MARK_NO.match(value):
            return False
        if _MARK_YES.match(value):
            return True
    return None


def find_insurer_claims(blocks: Sequence[Block], known_insurers: Sequence[str] = ()) -> list[InsurerClaim]:
    """Every accepted / not-accepted insurer claim on a page, in page order."""
    finder = _finder(tuple(known_insurers))
    claims: list[InsurerClaim] = []
    intro_for_group: dict[int, bool | None] = {}
    previous_text = ""
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.row:
            j = i
            while j < len(blocks) and blocks[j].row == block.row:
                j += 1
            cells = [b.text.replace("\n", " ") for b in blocks[i:j]]
            if j - i == 1 or any(len(c.split()) > 12 for c in cells):
                # A layout table (one cell, or prose in the first cell): read its cells as prose.
                for k in range(i, j):
                    claims.extend(_block_claims(blocks[k], k, finder, None))
                    previous_text = blocks[k].text
                i = j
                continue
            if all(b.tag == "th" for b in blocks[i:j]) or _HEADER_CELL.match(cells[0]):
                i = j
                continue
            mentions = finder.find(cells[0])
            polarity = _row_polarity(cells)
            if polarity is None:
                polarity = _context_polarity(" ".join(cells[1:])) if len(cells) > 1 and _NEG.search(" ".join(cells[1:])) else None
            if polarity is None:
                polarity = intro_for_group.setdefault(block.group, _context_polarity(previous_text) or _context_polarity(block.heading))
            snippet = " | ".join(cells)
            if mentions and polarity is not None:
                claims.extend(InsurerClaim(m.name, polarity, snippet, 0.85, i) for m in mentions)
            elif polarity is not None and _looks_like_plan(cells[0]) and len(cells) > 1 and _row_polarity(cells) is not None:
                claims.append(InsurerClaim(cells[0].strip(" .;,"), polarity, snippet, 0.6, i))
            i = j
            continue
        if block.tag in ("li", "dd", "dt") or (block.tag == "td" and block.group):
            context = intro_for_group.get(block.group)
            if block.group not in intro_for_group:
                context = _context_polarity(previous_text)
                if context is None:
                    context = _context_polarity(block.heading)
                intro_for_group[block.group] = context
            found = _block_claims(block, i, finder, context)
            if not found and context is not None and _looks_like_plan(block.text) and not finder.find(block.text):
                found = [InsurerClaim(block.text.strip(" .;,*•"), context, block.text, 0.6, i)]
            claims.extend(found)
        else:
            heading_context = _context_polarity(block.heading) if block.tag not in ("h1", "h2", "h3", "h4", "h5", "h6") else None
            short = len(block.text.split()) <= 12
            context = heading_context if short else None
            if context is None and len(previous_text.split()) <= 8 and _names_only(re.sub(r"\s*[•·|▪]\s*", ", ", block.text), finder):
                context = _context_polarity(previous_text)  # a bold <p> "Accepted Insurance" over a <p> of names
            claims.extend(_block_claims(block, i, finder, context))
            previous_text = block.text
        i += 1
    return claims


def _block_claims(block: Block, index: int, finder: InsurerFinder, context: bool | None) -> list[InsurerClaim]:
    """Claims of one block, sentence by sentence, with FAQ 'Do you take X? Yes.' answers."""
    claims: list[InsurerClaim] = []
    question: str | None = None
    text = re.sub(r"\s+[•·|▪]\s+", ", ", block.text)
    for sentence, _start in split_sentences(text):
        if question is not None:
            answer = re.match(r"^\s*(yes|no)\b", sentence, re.IGNORECASE)
            if answer and not finder.find(sentence):
                accepted = answer.group(1).lower() == "yes"
                claims.extend(InsurerClaim(m.name, accepted, f"{question} {sentence}", 0.65, index) for m in finder.find(question))
            question = None
        if sentence.rstrip().endswith("?"):
            question = sentence
            continue
        if THIRD_PARTY.search(sentence.lower()) or re.search(r"\blargest\b", sentence, re.IGNORECASE):
            continue
        previous: bool | None = None
        for clause in _CLAUSES.split(sentence):
            if not clause:
                continue
            found = _clause_claims(clause, finder, context, index, sentence)
            if not found and previous is not None and _names_only(clause, finder):
                found = [InsurerClaim(m.name, previous, sentence, 0.75, index) for m in finder.find(clause)]
            if found:
                previous = found[-1].accepted
            claims.extend(found)
    return claims


def _names_only(clause: str, finder: InsurerFinder) -> bool:
    """True when a clause is just insurer names and list punctuation ('Cigna; UHC')."""
    mentions = finder.find(clause)
    if not mentions:
        return False
    rest = clause
    for mention in reversed(mentions):
        rest = rest[: mention.start] + " " + rest[mention.end :]
    return bool(_NAMES_ONLY_FILLER.match(rest))


def merge_insurers(claims: Sequence[InsurerClaim]) -> tuple[list[str], list[str]]:
    """Accepted and not-accepted names, deduplicated (verbatim, page order); a 'not accepted' claim wins."""
    negative_keys = {insurer_key(c.name) for c in claims if not c.accepted}
    accepted: list[str] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for claim in claims:
        key = insurer_key(claim.name)
        if key in seen:
            continue
        if claim.accepted and key in negative_keys:
            continue
        seen.add(key)
        (accepted if claim.accepted else rejected).append(claim.name)
    return accepted, rejected

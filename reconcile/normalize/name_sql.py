"""SQL fast path for person-name keys: the simple ASCII forms get their key in DuckDB, everything else in Python.

A directory run holds millions of distinct provider names, and the engine needs only each one's key
("first|last") and surname pieces for blocking; the parsed ``PersonName`` is needed for the ~1% that reach a
pairwise comparison. This module writes, as DuckDB expressions, exactly what ``reconcile.normalize.name``
computes for the simple forms its own fast path (``_simple_parts``) accepts:

* ``[Dr.] First [Middle] Last [CRED ...][, CRED ...]`` and ``Last, First [Middle] [CRED ...][, CRED ...]``,
* ASCII letters only in name words, credentials from the same table (ambiguous ones such as DO, PA, MS only
  when written without lower-case letters, which is when ``_credential`` takes them),
* no name word that is a credential or a word nameparser treats specially (titles, particles, suffixes).

Anything else yields NULL and goes through ``parse_person``. Equality with the Python path is property-tested
(tests/test_normalize_name_sql.py) and was checked over every distinct name of the benchmark world.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reconcile.normalize.name import _AMBIGUOUS, _CREDENTIALS, _SPECIAL_WORDS

__all__ = ["SIMPLE_NAME_CHARS", "simple_name_statements"]

SIMPLE_NAME_CHARS = r"[A-Za-z.,/\- ]+"  # anything outside this set (accents, digits, tabs, ';', "'") goes to Python
_SEP = r"[./\-]*"


def _credential_pattern(bare: str) -> str:
    """Regex of one credential token: its letters with optional '.', '-', '/' around each ("M.D.", "PA-C")."""
    return _SEP + _SEP.join(re.escape(ch) for ch in bare) + _SEP


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@lru_cache(maxsize=1)
def _patterns() -> dict[str, str]:
    """The regexes of the SQL fast path, built once from the Python path's own word tables."""
    plain = sorted(_CREDENTIALS - _AMBIGUOUS)
    ambiguous = sorted(_CREDENTIALS & _AMBIGUOUS)
    return {
        # a token _credential() takes: ambiguous credentials (DO, PA, MS ...) only without lower-case letters
        "token": ("(?:(?i:" + "|".join(_credential_pattern(c) for c in plain) + ")|"
                  + "|".join(_credential_pattern(c) for c in ambiguous) + ")"),
        # name words may be neither (credentials compared in any case here: conservative)
        "not_a_name": "(?:" + "|".join(sorted({c.lower() for c in _CREDENTIALS}
                                              | {w for w in _SPECIAL_WORDS if re.fullmatch("[a-z]+", w)})) + ")",
    }


def _comma_fold(x: str) -> str:
    """SQL of regexp_replace(x, ' ?,[ ,]*', ',', 'g') for a single-spaced `x`, with plain replaces where they agree.

    In a single-spaced text without two commas apart only by spaces, each match is " ,", ", ", " , " or ","; the
    regex (several times slower at national scale) runs only on the rare rest.
    """
    return (f"CASE WHEN NOT contains({x}, ',') THEN {x} "
            f"WHEN contains({x}, ',,') OR contains({x}, ', ,') THEN regexp_replace({x}, ' ?,[ ,]*', ',', 'g') "
            f"ELSE replace(replace({x}, ' ,', ','), ', ', ',') END")


def simple_name_statements(source: str, target: str, column: str = "v") -> list[str]:
    """SQL creating TEMP table `target` (column, name_key, last_parts) for the names of `source` the fast path decides.

    Mirrors ``_strip_credentials`` + ``_simple_parts``: comma parts made only of credentials are dropped, the
    trailing credentials of the name part are dropped, and the rest must be "[Dr] G [M] L" or "L, G [M]".
    Names left out of `target` must go through Python (``parse_person``). Several statements, because the
    optimizer would otherwise copy the word-splitting expressions into every filter using them.
    """
    p = _patterns()
    not_a_name = _literal(p["not_a_name"])

    def ok(expr: str) -> str:
        """A name word that is neither a credential (in any case) nor a nameparser special word."""
        bare = f"rtrim({expr}, '.')"
        return f"NOT regexp_full_match(lower({bare}), {not_a_name})"

    given, surname, initial = r"'[A-Za-z]+\.?'", "'[A-Za-z]{2,}'", r"'[A-Za-z]\.?'"
    cred = p["token"]
    tail = f"(?: {cred})*(?:,{cred}(?: {cred})*)*"  # trailing credentials, then comma parts of credentials only

    def shape(words: int, comma: bool) -> str:
        """Whole-string regex: `words` name words (after "Last," when comma), then only credentials."""
        head = "[^ ,]+," if comma else ""
        return _literal(f"{head}[^ ,]+(?: [^ ,]+){{{words - 1}}}{tail}")

    # Python pops credentials from the end, so the name has the FEWEST words after which only credentials follow.
    # Full matches run on RE2's DFA (fast); extracting groups from such a regex would not.
    count = (f"CASE WHEN comma THEN (CASE WHEN regexp_full_match(t, {shape(1, True)}) THEN 1 "
             f"WHEN regexp_full_match(t, {shape(2, True)}) THEN 2 END) "
             f"ELSE (CASE WHEN regexp_full_match(t, {shape(2, False)}) THEN 2 "
             f"WHEN regexp_full_match(t, {shape(3, False)}) THEN 3 WHEN regexp_full_match(t, {shape(4, False)}) THEN 4 "
             f"END) END")
    split = f"""
    CREATE OR REPLACE TEMP TABLE {target}_split AS
    SELECT {column}, t, comma, {count} AS words
    FROM (
        SELECT {column}, t, NOT contains(split_part(t, ',', 1), ' ') AS comma
        FROM (
            SELECT {column}, trim({_comma_fold("x")}, ',') AS t
            FROM (
                SELECT {column}, CASE WHEN contains(trim({column}), '  ') THEN regexp_replace(trim({column}), ' +', ' ', 'g')
                                      ELSE trim({column}) END AS x
                FROM {source} WHERE {column} IS NOT NULL AND regexp_full_match({column}, {_literal(SIMPLE_NAME_CHARS)})
            )
        )
    )
    """
    words = f"""
    CREATE OR REPLACE TEMP TABLE {target}_words AS
    SELECT {column}, comma,
           CASE WHEN comma THEN split_part(p2, ' ', 1) WHEN dr AND words >= 3 THEN split_part(p1, ' ', 2)
                ELSE split_part(p1, ' ', 1) END AS g,
           CASE WHEN comma THEN (CASE WHEN words = 2 THEN split_part(p2, ' ', 2) ELSE '' END)
                WHEN words = 4 OR (words = 3 AND NOT dr) THEN split_part(p1, ' ', words - 1) ELSE '' END AS m,
           CASE WHEN comma THEN p1 ELSE split_part(p1, ' ', words) END AS l
    FROM (
        SELECT {column}, comma, words, split_part(t, ',', 1) AS p1, split_part(t, ',', 2) AS p2,
               lower(rtrim(split_part(t, ' ', 1), '.')) = 'dr' AS dr
        FROM {target}_split WHERE words IS NOT NULL
    )
    WHERE comma OR words <= 3 OR dr
    """
    keys = f"""
    CREATE OR REPLACE TEMP TABLE {target} AS
    SELECT {column}, lower(rtrim(g, '.')) || '|' || lower(l) AS name_key, [lower(l)] AS last_parts
    FROM {target}_words
    WHERE regexp_full_match(g, {given}) AND {ok("g")} AND regexp_full_match(l, {surname}) AND {ok("l")}
      AND (m = '' OR (regexp_full_match(m, {given}) AND {ok("m")})
           OR regexp_full_match(m, {initial}))
    """
    return [split, words, keys, f"DROP TABLE IF EXISTS temp.{target}_split", f"DROP TABLE IF EXISTS temp.{target}_words"]

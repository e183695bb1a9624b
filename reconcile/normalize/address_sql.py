"""SQL fast path for street lines: the common "NUMBER [DIR] NAME [TYPE] [DIR] [UNIT ID]" shape parsed in DuckDB.

Directories repeat a few street shapes millions of times ("1619 W Elm St Ste 833"); this module writes, as
DuckDB SQL, exactly what ``reconcile.normalize.address.street_parts`` returns for them: (number, street, unit)
in Pub 28 form, from the same word tables (C1 suffixes, directionals, C2 unit designators, ordinal words).
A street line is decided here only when it is plain ASCII (one comma allowed, before the unit), starts with a plain house number,
has no highway/route word, no bare number, no floor and no unit designator inside the street name, and ends in
at most one "DESIGNATOR ID" (or "DESIGNATOR # ID", "# ID"). Everything else is left to Python. Equality with the
Python path is property-tested (tests/test_normalize_address_sql.py) and was checked over every distinct street
of the benchmark world.
"""

from __future__ import annotations

from reconcile.normalize.address import (
    _HIGHWAY_WORDS,
    _WORDLIKE_UNITS,
    DIRECTIONALS,
    ORDINAL_WORDS,
    UNIT_DESIGNATORS,
    _states,
    _suffixes,
)

__all__ = ["SIMPLE_STREET_CHARS", "SIMPLE_STREET_CHARS_COMMA", "one_line_split_statements", "street_statements"]

SIMPLE_STREET_CHARS = "[A-Za-z0-9 .#']+"  # no line breaks, '/', '-' or non-ASCII: those go to Python
SIMPLE_STREET_CHARS_COMMA = "[A-Za-z0-9 .#',]+"  # one comma allowed before a unit ("12 Main St, Ste 4")
# Designators taken as the unit here: never everyday words, never a floor (floors have ordinal forms: Python).
_UNIT_HERE = sorted(k for k, v in UNIT_DESIGNATORS.items() if k not in _WORDLIKE_UNITS and v not in ("FL",)
                    and k not in ("#", "NO"))


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _one_of(expr: str, words: list[str] | set[str]) -> str:
    """SQL: `expr` is one of `words` (a regex full match: RE2's DFA is much faster than a long IN list)."""
    return f"regexp_full_match({expr}, {_literal('(?:' + '|'.join(sorted(words)) + ')')})"


def _case(expr: str, table: dict[str, str], default: str = "NULL") -> str:
    """A SQL CASE mapping `expr` through a small table."""
    whens = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in sorted(table.items()))
    return f"(CASE {expr} {whens} ELSE {default} END)"


def street_statements(source: str, target: str, column: str = "a") -> list[str]:
    """SQL creating TEMP table `target` (column, number, street, unit) for the street lines of `source` it decides.

    Street lines left out of `target` must go through ``street_parts`` in Python.
    """
    suffix_rows = ", ".join(f"({_literal(k)}, {_literal(v)})" for k, v in sorted(_suffixes().items()))
    directionals = {k: v for k, v in DIRECTIONALS.items() if "-" not in k}
    designators = {k: UNIT_DESIGNATORS[k] for k in _UNIT_HERE}
    not_street = sorted(set(UNIT_DESIGNATORS) | set(_HIGHWAY_WORDS))
    # a street-name word that would change the parse: a unit designator, '#', a highway word, a bare number
    bad_word = _literal(" (?:" + "|".join(not_street) + "|[0-9]+) ")
    id_ok = f"NOT {_one_of('toks[n]', set(UNIT_DESIGNATORS))}"
    unit_sql = f"""
        CASE WHEN n >= 5 AND toks[n - 1] = '#' AND {_one_of("toks[n - 2]", _UNIT_HERE)} AND {id_ok}
             THEN 2
             WHEN n >= 4 AND {_one_of("toks[n - 1]", [*_UNIT_HERE, "#"])} AND {id_ok}
             THEN 1 ELSE 0 END"""
    ordinal = _case("x", ORDINAL_WORDS, "x")
    has_ordinal = f"regexp_matches(' ' || name || ' ', {_literal(' (?:' + '|'.join(sorted(ORDINAL_WORDS)) + ') ')})"
    # "12 Main St, Ste 4": Python keeps a unit segment after the comma and joins it with a space
    second = f"trim(replace(replace(replace(upper(split_part({column}, ',', 2)), '.', ''), chr(39), ''), '#', ' # '))"
    first_word = f"regexp_extract({second}, '^[^ ]+')"
    unit_after_comma = (f"(regexp_full_match({column}, '[^,]+,[^,]+') AND "
                        f"{_one_of(first_word, [*_UNIT_HERE, '#'])} AND "
                        f"regexp_matches({second}, '^[^ ]+ +[^ ]'))")
    return [
        f"CREATE OR REPLACE TEMP TABLE {target}_suffix AS SELECT * FROM (VALUES {suffix_rows}) t(variant, abbr)",
        # tokens first, in a table of their own: the optimizer would otherwise push the filters below and compute
        # the tokens once per filter
        f"""
        CREATE OR REPLACE TEMP TABLE {target}_tok AS
        SELECT {column}, toks, len(toks) AS n FROM (
            -- the space-run regex only where there is a run (most lines have none; same result)
            SELECT {column}, string_split(CASE WHEN contains(x, '  ') THEN regexp_replace(x, ' +', ' ', 'g') ELSE x END,
                                          ' ') AS toks
            FROM (SELECT {column}, trim(replace(replace(replace(upper(line), '.', ''), chr(39), ''), '#', ' # ')) AS x
            FROM (
                SELECT {column}, CASE WHEN NOT contains({column}, ',') THEN {column}
                                      WHEN {unit_after_comma} THEN replace({column}, ',', ' ') END AS line
                FROM {source}
                WHERE {column} IS NOT NULL AND regexp_full_match({column}, {_literal(SIMPLE_STREET_CHARS_COMMA)})
            ) WHERE line IS NOT NULL)
        )
        """,
        f"""
        CREATE OR REPLACE TEMP TABLE {target}_w AS
        SELECT {column}, number, unit, w, len(w) AS k,
               CASE WHEN len(w) >= 2 THEN {_case("w[len(w)]", directionals)} END AS post
        FROM (
            SELECT {column}, toks[1] AS number,
                   CASE form WHEN 1 THEN {_case("toks[n - 1]", designators, "'#'")} || ' ' || toks[n]
                             WHEN 2 THEN {_case("toks[n - 2]", designators)} || ' ' || toks[n]
                             ELSE '' END AS unit,
                   list_slice(toks, 2, n - CASE form WHEN 1 THEN 2 WHEN 2 THEN 3 ELSE 0 END) AS w
            FROM (
                SELECT {column}, toks, n, {unit_sql} AS form
                FROM {target}_tok WHERE regexp_full_match(toks[1], '[0-9]+[A-Z]?')
            )
        )
        WHERE len(w) >= 1 AND NOT regexp_matches(' ' || array_to_string(w, ' ') || ' ', {bad_word})
        """,
        f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT {column}, number, concat_ws(' ', pre, CASE WHEN {has_ordinal} THEN
                   array_to_string(list_transform(body, lambda x: {ordinal}), ' ') ELSE name END, suffix, post) AS street,
               unit
        FROM (
            SELECT *, array_to_string(body, ' ') AS name
            FROM (
            SELECT {column}, number, unit, post, suffix, pre,
                   CASE WHEN pre IS NOT NULL THEN list_slice(w2, 2, len(w2)) ELSE w2 END AS body
            FROM (
            SELECT *, CASE WHEN len(w2) >= 2 THEN {_case("w2[1]", directionals)} END AS pre
            FROM (
                SELECT {column}, number, unit, post, x.abbr AS suffix,
                       CASE WHEN x.abbr IS NOT NULL THEN list_slice(w1, 1, len(w1) - 1) ELSE w1 END AS w2
                FROM (
                    SELECT *, CASE WHEN len(w1) >= 2 THEN w1[len(w1)] END AS type_word FROM (
                        SELECT {column}, number, unit, post,
                               CASE WHEN post IS NOT NULL THEN list_slice(w, 1, k - 1) ELSE w END AS w1
                        FROM {target}_w
                    )
                ) s LEFT JOIN {target}_suffix x ON x.variant = s.type_word  -- an equi-join: hashed
            )
            )
            )
        )
        """,
        f"DROP TABLE IF EXISTS temp.{target}_tok",
        f"DROP TABLE IF EXISTS temp.{target}_w",
        f"DROP TABLE IF EXISTS temp.{target}_suffix",
    ]


# "12 Main St., Ste 4, St. Louis, MO 63101[-1234]": street segments, a city of letters, a state code and a ZIP, each
# separated by exactly ", " (one space between words, no leading/trailing space, ASCII only).
_SEGMENT = "[A-Za-z0-9#'][A-Za-z0-9.#']*(?: [A-Za-z0-9#'][A-Za-z0-9.#']*)*"
_CITY = "[A-Za-z][A-Za-z.']*(?: [A-Za-z][A-Za-z.']*)*"
ONE_LINE_RE = f"({_SEGMENT}(?:, {_SEGMENT})*), ({_CITY}), ([A-Za-z]{{2}}) ([0-9]{{5}})(?:-[0-9]{{4}})?"


def one_line_split_statements(source: str, target: str, column: str = "v") -> list[str]:
    """SQL creating TEMP table `target` (column, a, c, s, z) for the one-line addresses of `source` it decides.

    Writes exactly what ``reconcile.normalize.address._split_last_line`` returns for the common website form
    "STREET[, MORE], CITY, ST 12345": upper-cased, dots dropped, the state code as given (when it is one), the
    ZIP's first five digits. A city starting with a unit designator or an ordinal word, and every other shape,
    is left out (Python splits those). Equality is property-tested in tests/test_normalize_one_line_sql.py.
    """
    codes = ", ".join(f"({_literal(k)})" for k, v in sorted(_states().items()) if len(k) == 2 and k == v)
    not_first = _literal("(?:" + "|".join(sorted({*UNIT_DESIGNATORS, *ORDINAL_WORDS})) + ")")
    return [
        f"CREATE OR REPLACE TEMP TABLE {target}_codes AS SELECT * FROM (VALUES {codes}) t(code)",
        f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT {column}, upper(replace(g['1'], '.', '')) AS a, upper(replace(g['2'], '.', '')) AS c,
               upper(g['3']) AS s, g['4'] AS z
        FROM (
            -- the groups of ONE_LINE_RE: no part holds a comma, so once it matches they are its ", " pieces
            -- (street pieces, city, "ST 12345[-1234]"); a regex with groups would run far slower than the split
            SELECT {column}, {{'1': array_to_string(p[:len(p) - 2], ', '), '2': p[len(p) - 1],
                               '3': left(p[len(p)], 2), '4': substr(p[len(p)], 4, 5)}} AS g
            FROM (SELECT {column}, string_split({column}, ', ') AS p FROM {source}
                  WHERE {column} IS NOT NULL AND regexp_full_match({column}, {_literal(ONE_LINE_RE)}))
        )
        WHERE upper(g['3']) IN (SELECT code FROM {target}_codes)
          AND NOT regexp_full_match(upper(replace(replace(split_part(g['2'], ' ', 1), '.', ''), chr(39), '')),
                                    {not_first})
        """,
        f"DROP TABLE IF EXISTS temp.{target}_codes",
    ]

"""National Provider Identifier: cleaning and Luhn check-digit validation (CMS 80840 prefix)."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["clean_npi", "is_valid_npi", "npi_check_digit", "valid_npi_sql"]

_SEPARATORS = re.compile(r"[\s\-./]")
_FLOAT_TAIL = re.compile(r"\.0+$")
_LABEL = re.compile(r"^\s*npi\s*(?:#|no\.?|number)?\s*[:#]?\s*", re.IGNORECASE)
_PREFIX_SUM = 24  # the Luhn contribution of the card-issuer prefix "80840", per the CMS NPI standard


def _luhn_sum(digits: str) -> int:
    """Sum digits Luhn-style, doubling every second digit counting from the rightmost one."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def npi_check_digit(first9: str) -> str:
    """Return the Luhn check digit completing nine NPI digits (so generators can make valid NPIs)."""
    if len(first9) != 9 or not first9.isdigit():
        raise ValueError(f"npi_check_digit needs exactly 9 digits, got {first9!r}")
    return str((10 - (_PREFIX_SUM + _luhn_sum(first9)) % 10) % 10)


@lru_cache(maxsize=262_144)
def _clean(text: str) -> str | None:
    """Cached core of clean_npi for string input."""
    text = _LABEL.sub("", text.strip())
    text = _SEPARATORS.sub("", _FLOAT_TAIL.sub("", text))
    return text if len(text) == 10 and text.isdigit() else None


def clean_npi(text: str | int | None) -> str | None:
    """Strip spaces, dashes and a spreadsheet '.0' from an NPI; return its 10 digits, else None."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        text = str(text)
    elif isinstance(text, float):
        if not text.is_integer():
            return None
        text = str(int(text))
    return _clean(str(text))


def is_valid_npi(text: str | int | None) -> bool:
    """Tell whether text is a 10-digit NPI whose last digit is the correct Luhn check digit."""
    npi = clean_npi(text)
    return npi is not None and npi_check_digit(npi[:9]) == npi[9]


def valid_npi_sql(column: str) -> str:
    """SQL boolean: a 10-digit string `column` has the right Luhn check digit (same rule as is_valid_npi).

    Directories hold millions of NPIs already written as 10 plain digits; DuckDB checks those in bulk.
    """
    def digit(i: int) -> str:
        """The i-th digit (1-based) as an integer."""
        return f"CAST(substr({column}, {i}, 1) AS INTEGER)"

    doubled = " + ".join(f"(CASE WHEN {digit(i)} * 2 > 9 THEN {digit(i)} * 2 - 9 ELSE {digit(i)} * 2 END)"
                         for i in (1, 3, 5, 7, 9))
    plain = " + ".join(digit(i) for i in (2, 4, 6, 8))
    return f"((10 - ({_PREFIX_SUM} + {doubled} + {plain}) % 10) % 10 = {digit(10)})"

"""NPI cleaning and Luhn validation (80840 prefix)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize.npi import clean_npi, is_valid_npi, npi_check_digit

# NPIs published by CMS as examples / in the NPI standard (check digit per the 80840-prefixed Luhn rule)
KNOWN_VALID = ["1234567893", "1245319599", "1003000126", "1000000004"]


@pytest.mark.parametrize("npi", KNOWN_VALID)
def test_known_valid_npis(npi):
    """Published valid NPIs pass the check."""
    assert is_valid_npi(npi)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234567893", "1234567893"),
        (" 1234567893 ", "1234567893"),
        ("1234-567-893", "1234567893"),
        ("1234 567 893", "1234567893"),
        ("1234567893.0", "1234567893"),
        ("NPI: 1234567893", "1234567893"),
        ("NPI #1234567893", "1234567893"),
        (1234567893, "1234567893"),
        (1234567893.0, "1234567893"),
        ("123456789", None),
        ("12345678901", None),
        ("12345A7893", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_clean_npi_table(text, expected):
    """Spreadsheet and web formatting is stripped; anything not 10 digits is None."""
    assert clean_npi(text) == expected


def test_invalid_check_digit_and_garbage():
    """A wrong last digit, wrong length or None is invalid."""
    assert not is_valid_npi("1234567890")
    assert not is_valid_npi("123")
    assert not is_valid_npi(None)


def test_check_digit_rejects_bad_input():
    """The generator helper refuses anything but nine digits."""
    with pytest.raises(ValueError):
        npi_check_digit("12345678")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=999_999_999), st.integers(min_value=1, max_value=9))
def test_generated_npis_validate_and_single_digit_errors_are_caught(first9, delta):
    """Every generated NPI validates; changing any one digit makes it invalid (Luhn catches single errors)."""
    body = f"{first9:09d}"
    npi = body + npi_check_digit(body)
    assert is_valid_npi(npi)
    position = first9 % 10
    changed = npi[:position] + str((int(npi[position]) + delta) % 10) + npi[position + 1:]
    assert not is_valid_npi(changed)

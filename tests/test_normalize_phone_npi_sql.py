"""SQL fast paths for phones (NANPA validity) and NPIs (Luhn check digit) equal the Python functions."""

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.normalize.npi import is_valid_npi, npi_check_digit, valid_npi_sql
from reconcile.normalize.phone import nanp_valid_sql, phone_key


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """A real DuckDB file shared by this module's tests."""
    connection = duckdb.connect(str(tmp_path_factory.mktemp("fastsql") / "fast.duckdb"))
    yield connection
    connection.close()


def _sql_flags(con, values: list[str], expression: str) -> dict[str, bool]:
    """Evaluate a boolean SQL expression over column v for each value."""
    con.execute("CREATE OR REPLACE TEMP TABLE t_values (v VARCHAR)")
    con.executemany("INSERT INTO t_values VALUES (?)", [[v] for v in dict.fromkeys(values)])
    return dict(con.execute(f"SELECT v, {expression} FROM t_values").fetchall())


_TEN_DIGITS = st.builds(lambda a, rest: f"{a}{rest:09d}", st.integers(2, 9), st.integers(0, 10**9 - 1))
# area codes of the Caribbean/Canadian NANPA regions, toll-free and premium prefixes: where region order matters
_NANPA = st.builds(lambda area, rest: f"{area}{rest:07d}",
                   st.sampled_from(["268", "264", "684", "246", "441", "242", "416", "604", "767", "809", "829",
                                    "473", "671", "876", "869", "345", "758", "670", "664", "787", "721", "649",
                                    "868", "784", "284", "340", "800", "888", "900", "500", "217", "555", "311"]),
                   st.integers(0, 10**7 - 1))


@given(st.lists(st.one_of(_TEN_DIGITS, _NANPA), min_size=1, max_size=200))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_nanp_validity_in_sql_equals_phonenumbers(con, numbers):
    flags = _sql_flags(con, numbers, nanp_valid_sql("v"))
    for number, valid in flags.items():
        assert valid == (phone_key(number) == "+1" + number), number


def test_nanp_sql_accepts_real_numbers_and_refuses_fictional_area_codes(con):
    flags = _sql_flags(con, ["2175550100", "4165550123", "2125551234", "3115550100", "9995550100"],
                       nanp_valid_sql("v"))
    assert flags == {v: phone_key(v) == "+1" + v for v in flags}
    assert flags["2175550100"] and not flags["9995550100"]


@given(st.lists(st.integers(0, 10**10 - 1).map(lambda n: f"{n:010d}"), min_size=1, max_size=200),
       st.lists(st.integers(0, 10**9 - 1).map(lambda n: f"{n:09d}"), min_size=1, max_size=50))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_npi_check_digit_in_sql_equals_python(con, random_npis, bodies):
    values = random_npis + [b + npi_check_digit(b) for b in bodies]
    for value, valid in _sql_flags(con, values, valid_npi_sql("v")).items():
        assert valid == is_valid_npi(value), value

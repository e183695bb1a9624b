"""The SQL fast path for street lines (reconcile.normalize.address_sql) gives exactly what street_parts gives."""

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.normalize.address import street_parts
from reconcile.normalize.address_sql import street_statements


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """A real DuckDB file shared by this module's tests."""
    connection = duckdb.connect(str(tmp_path_factory.mktemp("streetsql") / "streets.duckdb"))
    yield connection
    connection.close()


def sql_parts(con, streets: list[str]) -> dict[str, tuple[str, str, str]]:
    """Run the SQL fast path over `streets`; {street: (number, street, unit)} for the lines it decided."""
    con.execute("CREATE OR REPLACE TEMP TABLE t_streets (a VARCHAR)")
    con.executemany("INSERT INTO t_streets VALUES (?)", [[s] for s in dict.fromkeys(streets)])
    for statement in street_statements("t_streets", "t_fast"):
        con.execute(statement)
    return {a: (n, s, u) for a, n, s, u in con.execute("SELECT a, number, street, unit FROM t_fast").fetchall()}


_NAME_WORDS = st.sampled_from([
    "Main", "Oak", "Cedar", "Hill", "Park", "Martin", "Luther", "King", "Jr", "First", "Second", "Twelfth", "42nd",
    "1st", "Highway", "Route", "County", "Road", "Lot", "Front", "Rear", "Unit", "Suite", "Floor", "Office", "Key",
    "North", "N", "Sw", "East", "Saint", "St", "Mt", "O'Neil", "Mc", "Box", "PO", "Avenue", "Ave", "Street",
    "Boulevard", "Blvd", "Lane", "Way", "Court", "Ct", "Circle", "Dr", "Drive", "Terrace", "Ter", "Pl", "Sq",
    "Center", "Ctr", "Crossing", "Xing", "Pkwy", "Run", "Trail", "Loop", "5", "12", "B", "A1",
])
_TYPES = st.sampled_from(["", " St", " St.", " Street", " Ave", " Avenue", " Blvd", " Rd", " Dr", " Ln", " Hwy",
                          " Way", " Pkwy", " Cir", " Hl", " Park", " Ctr", " Pike"])
_DIRS = st.sampled_from(["", "", "N ", "North ", "SW ", "E. ", "Northeast "])
_POST = st.sampled_from(["", "", " N", " SE", " West", " S."])
_UNITS = st.sampled_from(["", "", " Ste 4", " Suite 200", " STE. 12B", " #5", " # 5", " Ste #4", ", Ste 619",
                          ", Suite C", ",#289", " Apt 3", " Unit B", " Rm 101", " Bldg 2", " Bldg 2 Ste 300",
                          " 2nd Floor", " Fl 3", " Floor 2", ", 2nd Floor", " Lot 7", " Rear", " Ste", " Suite Ste",
                          " 4", ", Dept 12", " Apartment 9", " Space 2", " # Ste 4", ", Attn Billing"])
_NUMBERS = st.sampled_from(["12", "1600", "7B", "0", "12-14", "12 1/2", "N12W345", "One", "", "PO Box 12"])
_CASES = st.sampled_from([str.title, str.upper, str.lower, lambda w: w])


@st.composite
def streets(draw):
    """Street lines as directories write them: the common shapes plus near misses of every kind."""
    words = " ".join(draw(st.lists(_NAME_WORDS, min_size=1, max_size=3)))
    text = f"{draw(_NUMBERS)} {draw(_DIRS)}{words}{draw(_TYPES)}{draw(_POST)}{draw(_UNITS)}"
    text = draw(_CASES)(text)
    return draw(st.sampled_from(["", " ", "  "])) + text.replace(" ", draw(st.sampled_from([" ", " ", "  "]))) \
        + draw(st.sampled_from(["", " ", ","]))


@given(st.lists(streets(), min_size=1, max_size=60))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_street_parts_equal_python(con, batch):
    for text, value in sql_parts(con, batch).items():
        assert value == street_parts(text), text


@pytest.mark.parametrize("text", [
    "7586 S Hill Ln Ste B", "5394 W Prospect Blvd", "5579 Lake Pl", "1619 W Elm St Ste 833",
    "9683 South Pine Avenue Ste 820", "1444 East River Avenue, Ste 619", "3118 Meadow Place, # 289",
    "12 First Street", "12 Main St. #4", "12 Main St Ste #4", "100 Martin Luther King Jr Blvd", "42 Cedar Hill St",
])
def test_common_shapes_are_decided_in_sql(con, text):
    assert sql_parts(con, [text]) == {text: street_parts(text)}


@pytest.mark.parametrize("text", [
    "PO Box 12", "12 Main St 4", "12 County Road 5", "100 Highway 61", "12 Main St, 2nd Floor", "12-14 Main St",
    "12 1/2 Main St", "One Main St", "12 Main St\nSuite 4", "Suite 4, 12 Main St", "12 Front St", "Calle Núñez 5",
    "12 Main St Bldg 2 Ste 300", "12 Main St, Attn Billing", "", "   ", "Main St",
])
def test_unusual_shapes_are_left_to_python(con, text):
    assert sql_parts(con, [text]) == {}

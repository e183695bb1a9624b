"""The SQL fast path for name keys (reconcile.normalize.name_sql) gives exactly what parse_person gives."""

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.batch import _parse_name
from reconcile.normalize.name_sql import simple_name_statements


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """A real DuckDB file shared by this module's tests."""
    connection = duckdb.connect(str(tmp_path_factory.mktemp("namesql") / "names.duckdb"))
    yield connection
    connection.close()


def sql_keys(con, names: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Run the SQL fast path over `names`; {name: (name_key, last_parts)} for the names it decided."""
    con.execute("CREATE OR REPLACE TEMP TABLE t_names (v VARCHAR)")
    con.executemany("INSERT INTO t_names VALUES (?)", [[n] for n in dict.fromkeys(names)])
    for statement in simple_name_statements("t_names", "t_fast"):
        con.execute(statement)
    return {v: (key, parts) for v, key, parts in con.execute("SELECT v, name_key, last_parts FROM t_fast").fetchall()}


def python_key(text: str) -> tuple[str, list[str]] | None:
    """(name_key, last_parts) from the Python path (None when the name has no surname)."""
    parsed = _parse_name(text)
    return None if parsed is None else (parsed[0], parsed[1])


_WORDS = st.one_of(
    st.sampled_from(["John", "Mary", "Smith", "Jones", "Nguyen", "Lee", "Dean", "Do", "Ma", "Pa", "Ms", "Van", "De",
                     "La", "Jr", "Sr", "III", "Dr", "Mr", "E", "Y", "V", "I", "Of", "The", "Md", "Bishop", "King",
                     "St", "Esq", "Ii", "Li", "Al", "Bin", "Sister", "Judge", "Major", "Np", "Rn", "Phd", "Mph"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9),
    st.sampled_from(["O'Neil", "Garcia-Lopez", "José", "Núñez", "Mc Donald", "J.R.", "3rd", "Smith2"]),
)
_CASES = st.sampled_from([str.title, str.upper, str.lower, lambda w: w])
_INITIAL = st.builds(lambda c, dot: c + dot, st.sampled_from(list("ABCDEIJKMQVXYZabeivy")), st.sampled_from(["", "."]))
_CREDS = st.sampled_from(["MD", "M.D.", "DO", "D.O.", "Do", "PA-C", "PhD", "Ph.D.", "FACP", "NP", "np", "MS", "Ms",
                          "FNP-BC", "OTR/L", "MPH", "RN", "LCSW", "ma", "Jr.", "III", "Esq"])
_SEPARATORS = st.sampled_from([" ", ", ", ",", " , ", ",, ", "  ", "; ", "\t", " ,"])


@st.composite
def names(draw):
    """Provider names in directory spellings: the fast path's forms plus near misses of every kind."""
    case = draw(_CASES)
    first, last = draw(st.one_of(_WORDS.map(case), _INITIAL)), case(draw(_WORDS))
    middle = draw(st.one_of(st.just(""), _INITIAL, _WORDS.map(case)))
    form = draw(st.sampled_from(["fl", "lf", "dr", "dr2", "lf"]))
    if form == "lf":
        text = f"{last}{draw(_SEPARATORS)}{first}" + (f" {middle}" if middle else "")
    else:
        prefix = {"dr": "Dr. ", "dr2": draw(st.sampled_from(["DR ", "dr. ", "Dr.", "Dr "]))}.get(form, "")
        text = prefix + f"{first} " + (f"{middle} " if middle else "") + last
    for cred in draw(st.lists(_CREDS, max_size=3)):
        text += draw(_SEPARATORS) + (cred.upper() if case is str.upper else cred)
    return draw(st.sampled_from(["", " ", ","])) + text + draw(st.sampled_from(["", " ", ",", " ,"]))


@given(st.lists(names(), min_size=1, max_size=60))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_keys_equal_parse_person(con, batch):
    decided = sql_keys(con, batch)
    for text, value in decided.items():
        assert value == python_key(text), text


@pytest.mark.parametrize("text", [
    "John Smith", "John A Smith", "John A. Smith, MD", "SMITH, JOHN A", "Smith, John A MD", "Dr. John Smith",
    "Dr. Mary K. Jones, MD", "KIMBERLY F. DALTON, M.D., FACP", "Hayett, Mark R DO, MPH", "Peter Whitwell, NP",
    "Harold Blackridge MD, FACP", "Margaret C. Radfield PA-C", "  Jane   Roe ,  LCSW ",
    # a lone initial after "Last, First" is a middle or a suffix to nameparser: the key is first|last either way
    "Smith, John V", "Whitwell, Jack I DO, MPH", "Salwood, Gerald I. MD", "Roe, Jane E",
])
def test_common_forms_are_decided_in_sql(con, text):
    assert sql_keys(con, [text]) == {text: python_key(text)}


@pytest.mark.parametrize("text", [
    "Maria de la Cruz", "Smith Jr, John", "Robert (Bob) Jones", "José García", "Mary-Jane O'Neil", "Anh Do",
    "John Paul Smith Jones", "Dr. Smith", "Judge Judy Smith", "John\tSmith", "John Smith; MD",
    "", "MD", "Smith, MD", "John Smith, MD, Cardiology",
])
def test_unusual_forms_are_left_to_python(con, text):
    assert sql_keys(con, [text]) == {}

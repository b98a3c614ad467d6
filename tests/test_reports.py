"""The reports ledger: the shipped figures, the validation rules and the safety of appending."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labor_stocks.errors import InputError
from labor_stocks.calibration.reports import (REPORT_COLUMNS, NoSuchLedger, Report, append_report, load_reports,
                                             parse_reports)

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "calibration" / "reports.csv"
ARTICLES = ROOT.parent / "shared" / "articles"

GOOD = {
    "id": "dandong-test",
    "source": "000_d47c0a86e59b55df.txt",
    "published": "2024-11-13",
    "period_start": "2024-10-01",
    "period_end": "2024-10-31",
    "place": "Dandong",
    "kind": "outflow",
    "value": "4000",
    "low": "",
    "high": "",
    "unit": "workers",
    "confidence": "medium",
    "quote": "approximately 4,000 leaving in October alone",
    "notes": "",
}


def ledger_text(*rows: dict[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow([row[column] for column in REPORT_COLUMNS])
    return buffer.getvalue()


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "reports.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


# --- the shipped ledger -------------------------------------------------------------


def test_shipped_ledger_loads_without_error():
    reports = load_reports(LEDGER)
    assert len(reports) >= 20
    assert all(isinstance(report, Report) for report in reports)


@pytest.mark.parametrize(
    "report_id, kind, place, value, low, high, unit",
    [
        ("dandong-oct-2024", "outflow", "Dandong-Sinuiju", 4000, None, None, "workers"),
        ("dandong-nov-2024", "outflow", "Dandong-Sinuiju", 2000, None, None, "workers"),
        ("dandong-daily-nov-2024", "outflow", "Dandong-Sinuiju", 200, None, None, "workers_per_day"),
        ("dandong-two-months-2024", "outflow", "Dandong-Sinuiju", 6000, None, None, "workers"),
        ("hunchun-dispatch-aug-2024", "inflow", "Hunchun", 500, None, None, "workers"),
        ("hunchun-garment-150-aug-2024", "inflow", "Hunchun", None, 150, None, "workers"),
        ("hunchun-rabboni-aug-2024", "inflow", "Hunchun", None, 200, None, "workers"),
        ("china-returned-2022-2024", "outflow", "China", 3000, None, None, "workers"),
        ("overseas-un-panel-2023", "stock", "overseas", 100000, None, None, "workers"),
        ("shanghai-defection-feb-2022", "defections", "Shanghai", None, 21, None, "workers"),
        ("jilin-tumen-nanping-2024", "inflow", "Jilin", None, 200, 999, "workers"),
        ("liaoning-no-new-oct-nov-2024", "inflow", "Liaoning", None, None, 0, "workers"),
        ("china-return-jan-2020", "inflow", "China", None, 1, None, "workers"),
    ],
)
def test_shipped_ledger_holds_the_key_figures(report_id, kind, place, value, low, high, unit):
    report = {r.id: r for r in load_reports(LEDGER)}[report_id]
    assert (report.kind, report.place, report.value, report.low, report.high, report.unit) == (
        kind,
        place,
        value,
        low,
        high,
        unit,
    )


def test_shipped_ledger_dates_the_hunchun_dispatch_and_dandong_exodus():
    reports = {r.id: r for r in load_reports(LEDGER)}
    assert (reports["hunchun-dispatch-aug-2024"].period_start, reports["hunchun-dispatch-aug-2024"].days) == (
        date(2024, 8, 28),
        2,
    )
    assert reports["dandong-oct-2024"].days == 31
    assert reports["dandong-nov-2024"].period_end == date(2024, 11, 10)


def test_shipped_ledger_cites_all_five_articles():
    sources = {r.source for r in load_reports(LEDGER)}
    assert sources == {
        "000_d47c0a86e59b55df.txt",
        "001_c849781cc78fe4c5.txt",
        "002_5c3e12e5543c9044.txt",
        "003_2fc542c236c6ed08.txt",
        "004_1c88c5258c111043.txt",
    }


@pytest.mark.skipif(not ARTICLES.is_dir(), reason="the source articles are not beside the repository")
def test_every_shipped_quote_is_verbatim_in_its_article():
    """Each part of a quote ('[...]' marks an omission) appears word for word in the article."""
    for report in load_reports(LEDGER):
        article = " ".join((ARTICLES / report.source).read_text(encoding="utf-8").split())
        for part in report.quote.split(" [...] "):
            assert " ".join(part.split()) in article, (report.id, part)


# --- validation: every bad input is one InputError line naming row and column ---------


BAD_ROWS = [
    ("place", {"place": "Pyongyang"}, "unknown place 'Pyongyang'"),
    ("kind", {"kind": "arrivals"}, "unknown kind"),
    ("unit", {"unit": "people"}, "unknown unit"),
    ("confidence", {"confidence": "certain"}, "unknown confidence"),
    ("published", {"published": "13/11/2024"}, "bad date"),
    ("period_start", {"period_start": "2024-02-30"}, "no such day"),
    ("period_end", {"period_end": "yesterday"}, "bad date"),
    ("period_end", {"period_end": "2024-09-30"}, "before it starts"),
    ("period_end", {"period_end": "2024-12-31"}, "after the report was published"),
    ("value", {"value": "5000", "low": "100", "high": "4500"}, "above high"),
    ("value", {"value": "50", "low": "100"}, "below low"),
    ("low", {"value": "", "low": "900", "high": "200"}, "above high"),
    ("value", {"value": ""}, "no value and no bound"),
    ("source", {"source": ""}, "missing"),
    ("quote", {"quote": "   "}, "missing"),
    ("value", {"value": "about 4000"}, "not a number"),
    ("high", {"high": "4,000"}, "not a number"),
    ("low", {"low": "-5"}, "negative"),
    ("value", {"value": "nan"}, "not a finite number"),
    ("value", {"value": "inf"}, "not a finite number"),
    ("id", {"id": "Dandong Oct"}, "bad id"),
    ("id", {"id": ""}, "bad id"),
    ("period_end", {"kind": "stock"}, "a stock is counted on one day"),
    ("unit", {"kind": "stock", "period_start": "2024-10-31", "unit": "workers_per_day"}, "a stock is counted in workers"),
]


@pytest.mark.parametrize("column, change, message", BAD_ROWS, ids=[f"{c}-{m}" for c, _, m in BAD_ROWS])
def test_bad_field_gives_input_error_naming_row_and_column(tmp_path, column, change, message):
    path = write(tmp_path, ledger_text({**GOOD, "id": "first"}, {**GOOD, **change}))
    with pytest.raises(InputError) as caught:
        load_reports(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: row 2 (line 3), column {column}: ")
    assert message in text
    assert "\n" not in text


def test_duplicate_id_gives_input_error_naming_both_rows(tmp_path):
    path = write(tmp_path, ledger_text(GOOD, {**GOOD, "value": "1"}))
    with pytest.raises(InputError, match=r"row 2 \(line 3\), column id: duplicate id 'dandong-test' \(first used in row 1\)"):
        load_reports(path)


def test_row_with_too_few_fields_names_the_first_missing_column(tmp_path):
    text = ledger_text(GOOD) + "short-row,000.txt,2024-11-13\n"
    with pytest.raises(InputError, match=r"row 2 \(line 3\), column period_start: missing \(the row has 3 of 14"):
        load_reports(write(tmp_path, text))


def test_row_with_too_many_fields_is_refused(tmp_path):
    text = ledger_text(GOOD).rstrip("\n") + ",surplus\n"
    with pytest.raises(InputError, match=r"row 1 \(line 2\), column notes: 1 extra field"):
        load_reports(write(tmp_path, text))


def test_row_numbers_skip_blank_lines_but_line_numbers_count_them(tmp_path):
    text = ledger_text(GOOD).replace("\n", "\n\n", 1) + "\n" + ledger_text({**GOOD, "id": "x", "place": "Mars"}).split("\n", 1)[1]
    with pytest.raises(InputError, match=r"row 2 \(line 5\), column place"):
        load_reports(write(tmp_path, text))


def test_quoted_field_with_newline_keeps_row_and_line_numbers_right(tmp_path):
    text = ledger_text({**GOOD, "notes": "two\nlines"}, {**GOOD, "id": "x", "kind": "bad"})
    with pytest.raises(InputError, match=r"row 2 \(line 4\), column kind"):
        load_reports(write(tmp_path, text))


@pytest.mark.parametrize(
    "header, column, message",
    [
        (REPORT_COLUMNS[:-2] + REPORT_COLUMNS[-1:], "quote", "missing column"),
        (REPORT_COLUMNS + ("extra",), "extra", "unknown column 'extra'"),
        (("ID",) + REPORT_COLUMNS[1:], "ID", "unknown column 'ID'"),
        (REPORT_COLUMNS[:1] + REPORT_COLUMNS, "id", "duplicate column"),
    ],
)
def test_bad_header_gives_input_error_naming_the_column(tmp_path, header, column, message):
    path = write(tmp_path, ",".join(header) + "\n")
    with pytest.raises(InputError) as caught:
        load_reports(path)
    assert str(caught.value).startswith(f"{path}: header, column {column}: {message}")


def test_header_out_of_order_is_refused(tmp_path):
    header = (REPORT_COLUMNS[1], REPORT_COLUMNS[0]) + REPORT_COLUMNS[2:]
    with pytest.raises(InputError, match="header: columns out of order"):
        load_reports(write(tmp_path, ",".join(header) + "\n"))


@pytest.mark.parametrize("content", ["", "\n\n  \n", b""])
def test_empty_file_gives_input_error(tmp_path, content):
    with pytest.raises(InputError, match="empty file"):
        load_reports(write(tmp_path, content))


def test_header_only_is_an_empty_ledger(tmp_path):
    assert load_reports(write(tmp_path, ",".join(REPORT_COLUMNS) + "\n")) == []


def test_missing_file_gives_input_error_naming_it(tmp_path):
    with pytest.raises(InputError, match="nowhere.csv: cannot read the file"):
        load_reports(tmp_path / "nowhere.csv")


def test_wrong_encoding_gives_input_error_naming_the_line(tmp_path):
    data = ledger_text({**GOOD, "notes": "café"}).encode("latin-1")
    with pytest.raises(InputError, match=r"line 2: not UTF-8 text"):
        load_reports(write(tmp_path, data))


def test_excel_byte_order_mark_and_crlf_are_accepted(tmp_path):
    data = b"\xef\xbb\xbf" + ledger_text(GOOD).replace("\n", "\r\n").encode("utf-8")
    assert [r.id for r in load_reports(write(tmp_path, data))] == ["dandong-test"]


def test_city_alias_and_bounds_only_rows_are_accepted(tmp_path):
    row = {**GOOD, "place": "Helong", "value": "", "low": "200", "high": "999"}
    (report,) = load_reports(write(tmp_path, ledger_text(row)))
    assert (report.place, report.value, report.low, report.high) == ("Helong", None, 200.0, 999.0)


# --- appending --------------------------------------------------------------------


def test_append_validates_writes_and_returns_the_new_report(tmp_path):
    path = write(tmp_path, ledger_text(GOOD))
    before = path.read_bytes()
    fields = {**GOOD, "id": "new-one", "value": None, "low": 200.0, "high": 999, "published": date(2024, 11, 13)}
    report = append_report(path, **fields)
    assert report.id == "new-one" and report.low == 200 and report.value is None
    assert path.read_bytes().startswith(before)
    assert [r.id for r in load_reports(path)] == ["dandong-test", "new-one"]
    assert "new-one,000_d47c0a86e59b55df.txt,2024-11-13,2024-10-01,2024-10-31,Dandong,outflow,,200,999," in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports.csv"]


@pytest.mark.parametrize(
    "change, column",
    [
        ({"id": "dandong-test"}, "id"),
        ({"id": "other", "place": "Pyongyang"}, "place"),
        ({"id": "other", "quote": ""}, "quote"),
        ({"id": "other", "low": 10, "high": 5, "value": None}, "low"),
    ],
)
def test_append_refuses_a_bad_row_and_leaves_the_file_byte_identical(tmp_path, change, column):
    path = write(tmp_path, ledger_text(GOOD))
    before = path.read_bytes()
    with pytest.raises(InputError, match=rf"row 2 \(line 3\), column {column}:"):
        append_report(path, **{**GOOD, **change})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports.csv"]


def test_append_refuses_an_unknown_field(tmp_path):
    path = write(tmp_path, ledger_text(GOOD))
    before = path.read_bytes()
    with pytest.raises(InputError, match="column places: unknown column"):
        append_report(path, **{**GOOD, "id": "other", "places": "Dandong"})
    assert path.read_bytes() == before


def test_append_refuses_to_add_to_a_damaged_ledger(tmp_path):
    path = write(tmp_path, ledger_text({**GOOD, "kind": "rumour"}))
    before = path.read_bytes()
    with pytest.raises(InputError, match="row 1 .*column kind"):
        append_report(path, **{**GOOD, "id": "other"})
    assert path.read_bytes() == before


def test_append_refuses_a_missing_ledger_unless_asked_to_create_it(tmp_path):
    typo = tmp_path / "reprots.csv"
    with pytest.raises(NoSuchLedger, match=r"reprots.csv: no such ledger; pass create=True"):
        append_report(typo, **GOOD)
    assert list(tmp_path.iterdir()) == []
    dangling = tmp_path / "link.csv"
    dangling.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(NoSuchLedger):
        append_report(dangling, **GOOD)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv"]


def test_append_creates_a_missing_ledger_with_its_header(tmp_path):
    path = tmp_path / "new.csv"
    append_report(path, create=True, **GOOD)
    assert path.read_text().splitlines()[0] == ",".join(REPORT_COLUMNS)
    assert [r.id for r in load_reports(path)] == ["dandong-test"]


def test_append_adds_a_line_break_when_the_file_lacks_one_and_keeps_crlf(tmp_path):
    path = write(tmp_path, ledger_text(GOOD).replace("\n", "\r\n").rstrip("\r\n"))
    append_report(path, **{**GOOD, "id": "other"})
    data = path.read_bytes()
    assert data.count(b"\r\n") == 3 and b"\n" not in data.replace(b"\r\n", b"")
    assert [r.id for r in load_reports(path)] == ["dandong-test", "other"]


def test_append_quotes_commas_and_quotes_in_text(tmp_path):
    path = write(tmp_path, ledger_text(GOOD))
    quote = 'He said "about 4,000", then left'
    append_report(path, **{**GOOD, "id": "other", "quote": quote})
    assert load_reports(path)[-1].quote == quote


# --- fuzzing: any content gives a list of Reports or one InputError -------------------


def loads_or_input_error(path: Path) -> None:
    try:
        reports = load_reports(path)
    except InputError as error:
        assert "\n" not in str(error) and str(error).startswith(str(path))
    else:
        assert isinstance(reports, list) and all(isinstance(r, Report) for r in reports)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_reports_or_input_error(tmp_path, data):
    loads_or_input_error(write(tmp_path, data))


@FUZZ
@given(st.text(max_size=2000))
def test_arbitrary_text_after_the_header_gives_reports_or_input_error(tmp_path, text):
    loads_or_input_error(write(tmp_path, ",".join(REPORT_COLUMNS) + "\n" + text))


FIELD = st.one_of(
    st.sampled_from(["", "0", "200", "-1", "1e999", "nan", "2024-11-13", "2024-02-30", "Dandong", "China",
                     "overseas", "stock", "inflow", "workers", "workers_per_day", "high", "x", "a,b", '"']),
    st.text(max_size=12),
)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(REPORT_COLUMNS), FIELD), max_size=4),
       st.lists(st.lists(FIELD, max_size=17), max_size=3))
def test_ragged_and_mutated_rows_give_reports_or_input_error(tmp_path, changes, ragged):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for number, change in enumerate(changes):
        row = {**GOOD, "id": f"row-{number}", **change}
        writer.writerow([row[column] for column in REPORT_COLUMNS])
    writer.writerows(ragged)
    loads_or_input_error(write(tmp_path, buffer.getvalue()))


@FUZZ
@given(st.text(max_size=300))
def test_parse_reports_on_any_text_gives_reports_or_input_error(text):
    try:
        parse_reports(text, "fuzz.csv")
    except InputError:
        pass

"""The survey connector against small Typeform, Google Forms and Hotjar style exports, and broken files."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.errors import Rejected
from connectors.surveys import SPEC, Columns, SurveyFileError, SurveyResponse, open_surveys, read_survey_file, strip_pii
from flows.settings import Settings
from models.mapfile import load_map
from models.sources.surveys.sync import survey_request
from tests.conftest import example_map_with

DATA = Path(__file__).parent / "data" / "surveys"
UTC = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
NPS = "How likely are you to recommend Crumb & Co to a friend?"
TYPEFORM = Columns(date="Submit Date (UTC)", score=NPS, comment="What's the main reason for your score?", id="#")
GOOGLE = Columns(date="Timestamp", score=NPS, comment="Anything we could do better?")
HOTJAR = Columns(date="date submitted", score="How likely are you to recommend us?", stage="Stage",
                 touchpoint="Touchpoint", comment="Comment", persona=("Role", "Plan"))
SIMPLE = Columns(date="date", score="score", comment="comment")


def read_all(path: Path, columns: Columns = SIMPLE, tz: ZoneInfo = UTC, delimiter: str = ",",
             date_format: str | None = None) -> list[SurveyResponse | Rejected]:
    pages = read_survey_file(path, "nps", columns, tz=tz, delimiter=delimiter, date_format=date_format)
    return [item for page in pages for item in page]


def responses(items: list[SurveyResponse | Rejected]) -> list[SurveyResponse]:
    return [item for item in items if isinstance(item, SurveyResponse)]


def rejected(items: list[SurveyResponse | Rejected]) -> list[Rejected]:
    return [item for item in items if isinstance(item, Rejected)]


def write(tmp_path: Path, text: str | bytes, name: str = "responses.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, minute, second, tzinfo=dt.UTC)


def test_typeform_export_with_bom_id_column_and_multi_line_comment() -> None:
    items = read_all(DATA / "typeform_nps.csv", TYPEFORM)
    assert all(isinstance(item, SurveyResponse) for item in items)
    first, second, third = responses(items)
    assert first == SurveyResponse(survey="nps", response_id="k2x9f1a7", submitted=at(14, 10, 31), score=10,
                                   stage="", touchpoint="", comment="Loved the starter kit!", persona="")
    assert second.response_id == "p8d3q0z4"
    assert second.comment == "Shipping was slow. Write to me at [email] or call [phone]"
    assert (third.score, third.comment, third.submitted) == (9, "", at(15, 8, 1, 30))


def test_google_forms_dates_are_day_first_local_time() -> None:
    items = responses(read_all(DATA / "google_forms_nps.csv", GOOGLE, tz=LONDON))
    assert [r.submitted for r in items] == [at(14, 9, 31), at(3, 8, 5, 10), at(28, 22, 59, 59)]  # BST is UTC+1
    assert [r.score for r in items] == [8, 10, 3]
    assert items[2].comment == "The video kept buffering, see https://crumb.example/course/7"
    assert all(len(r.response_id) == 32 for r in items)


def test_hotjar_export_with_stage_touchpoint_and_persona_columns() -> None:
    first, second, third = responses(read_all(DATA / "hotjar_nps.csv", HOTJAR))
    assert (first.stage, first.touchpoint, first.persona) == ("purchase", "checkout_page", "Home baker / Free")
    assert (second.persona, second.comment) == ("Café owner", "Too expensive for me")
    assert (third.stage, third.touchpoint, third.persona, third.comment) == ("", "", "", "")
    assert third.submitted == at(16)  # a date alone is midnight in the survey's time zone


def test_date_only_values_are_midnight_in_the_time_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score\n2026-09-14,7\n14/09/2026,7\n2026-09-14T10:31:00+02:00,7\n")
    got = [r.submitted for r in responses(read_all(path, Columns(date="date", score="score"), tz=LONDON))]
    assert got == [at(13, 23), at(13, 23), at(14, 8, 31)]


def test_date_format_is_used_exactly_when_given(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score\n09/14/2026 10:31:00,7\n2026-09-14 10:31:00,7\n")
    items = read_all(path, Columns(date="date", score="score"), date_format="%m/%d/%Y %H:%M:%S")
    assert [type(i) for i in items] == [SurveyResponse, Rejected]
    assert responses(items)[0].submitted == at(14, 10, 31)
    assert "does not match date_format '%m/%d/%Y %H:%M:%S'" in rejected(items)[0].reason


def test_month_first_file_is_refused_rather_than_misread(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score\n9/3/2026 10:00:00,7\n9/14/2026 10:31:00,8\n")
    with pytest.raises(SurveyFileError, match=r"row 3: '9/14/2026 10:31:00'.*date_format: '%m/%d/%Y %H:%M:%S'"):
        read_survey_file(path, "nps", Columns(date="date", score="score"), tz=UTC)


def test_scores_out_of_range_or_not_numbers_are_rejected_and_the_rest_load(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score,comment\n"
                           "2026-09-14,10.0,ok\n2026-09-14,11,too high\n2026-09-14,-1,neg\n"
                           "2026-09-14,ten,word\n2026-09-14,,empty\n2026-09-14,9.5,half\n2026-09-14,0,zero\n")
    items = read_all(path)
    assert [r.score for r in responses(items)] == [10, 0]
    bad = rejected(items)
    assert [b.key for b in bad] == ["responses.csv:3", "responses.csv:4", "responses.csv:5", "responses.csv:6",
                                    "responses.csv:7"]
    assert bad[0].reason == ("responses.csv row 3, column 'score': 11 is not a score from 0 to 10; "
                             "fix the export or remove the row")
    assert "'ten' is not a score" in bad[2].reason
    assert "the score is empty" in bad[3].reason
    assert bad[0].payload == {"date": "2026-09-14", "score": "11", "comment": "too high"}


def test_bad_dates_are_rejected_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score\nyesterday,7\n31/02/2026,7\n,7\n2026-09-14,7\n")
    items = read_all(path, Columns(date="date", score="score"))
    assert len(responses(items)) == 1
    reasons = [b.reason for b in rejected(items)]
    assert reasons[0].startswith("responses.csv row 2, column 'date': 'yesterday' is not a date")
    assert "set date_format" in reasons[0]
    assert "'31/02/2026' is not a calendar date" in reasons[1]
    assert "the date is empty" in reasons[2]


def test_row_numbers_count_the_lines_of_multi_line_cells_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, 'date,score,comment\r\n2026-09-14,7,"one\r\ntwo\r\nthree"\r\n\r\n2026-09-14,12,x\r\n')
    (bad,) = rejected(read_all(path))
    assert bad.key == "responses.csv:6"


def test_missing_column_names_it_and_lists_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "Timestamp,Score\n2026-09-14,7\n")
    with pytest.raises(SurveyFileError) as caught:
        read_survey_file(path, "nps", Columns(date="Submitted", score="score"), tz=UTC)
    message = str(caught.value)
    assert message.startswith("responses.csv: no column 'Submitted' (date) in the header")
    assert "'Timestamp', 'Score'" in message
    assert "journey.yaml" in message


def test_columns_match_case_insensitively_after_trimming(tmp_path: Path) -> None:
    path = write(tmp_path, " DATE , Score \n2026-09-14,7\n")
    assert len(responses(read_all(path, Columns(date="date ", score="SCORE")))) == 1


def test_semicolon_file_read_with_commas_names_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "date;score;comment\n2026-09-14;7;fine\n")
    with pytest.raises(SurveyFileError, match=re.escape("the header has one column; the file looks ';'-delimited — "
                                                        "set delimiter: ';' for this survey in journey.yaml")):
        read_survey_file(path, "nps", SIMPLE, tz=UTC)
    assert responses(read_all(path, delimiter=";"))[0].comment == "fine"


def test_file_level_problems_are_raised_before_any_page(tmp_path: Path) -> None:
    with pytest.raises(SurveyFileError, match=r"does not exist; check the path in journey\.yaml"):
        read_survey_file(tmp_path / "nope.csv", "nps", SIMPLE, tz=UTC)
    for text in ("", "\ufeff", "\n\n"):
        with pytest.raises(SurveyFileError, match="empty or has no header row"):
            read_survey_file(write(tmp_path, text), "nps", SIMPLE, tz=UTC)
    with pytest.raises(SurveyFileError, match="the first line holds data, not a header"):
        read_survey_file(write(tmp_path, "2026-09-14,7,hello\n"), "nps", SIMPLE, tz=UTC)
    assert read_all(write(tmp_path, "date,score,comment\n")) == []  # a header alone: no responses yet


def test_rows_that_are_not_utf8_are_rejected_and_the_others_load(tmp_path: Path) -> None:
    path = write(tmp_path, b"date,score,comment\n2026-09-14,9,great\n2026-09-14,3,caf\xe9 was cold\n"
                           b"2026-09-15,10,\"na\xc3\xafve\nbut nice\"\n")
    items = read_all(path)
    assert [type(i) for i in items] == [SurveyResponse, Rejected, SurveyResponse]
    bad = rejected(items)[0]
    assert bad.reason == "responses.csv row 3: not UTF-8 text; export the file as UTF-8"
    assert bad.payload["comment"] == "caf\ufffd was cold"
    assert responses(items)[1].comment == "naïve but nice"


def test_a_file_that_is_not_utf8_at_all_yields_only_rejected_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score,comment\n2026-09-14,9,crème\n2026-09-14,3,déçu\n".encode("latin-1"))
    assert [type(i) for i in read_all(path)] == [Rejected, Rejected]


def test_pii_is_stripped_from_comments_and_from_rejected_payloads(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score,comment,email\n"
                           "2026-09-14,8,Reach me: ann@example.org / (020) 7946-0018,ann@example.org\n"
                           "2026-09-14,11,Reach me: bob@example.org / +1 555 010 9999,bob@example.org\n")
    items = read_all(path)
    assert responses(items)[0].comment == "Reach me: [email] / [phone]"
    bad = rejected(items)[0]
    assert bad.payload == {"date": "2026-09-14", "score": "11", "comment": "Reach me: [email] / [phone]",
                           "email": "[email]"}
    assert "@" not in repr(items)


def test_strip_pii() -> None:
    assert strip_pii("mail A.B+x@Example.co.uk,\n\n call +44 (0)161 496-0000!") == "mail [email], call [phone]!"
    assert strip_pii("see https://x.example/p/1?email=a@b.com&t=9#top.") == "see https://x.example/p/1."
    assert strip_pii("ordered 2026-09-14, gave 10 (out of 10), order ORD1234567") == (
        "ordered 2026-09-14, gave 10 (out of 10), order ORD1234567")
    assert strip_pii("   ") == ""


def test_response_ids_are_stable_across_reads_and_follow_the_documented_hash(tmp_path: Path) -> None:
    first = [r.response_id for r in responses(read_all(DATA / "google_forms_nps.csv", GOOGLE))]
    again = [r.response_id for r in responses(read_all(DATA / "google_forms_nps.csv", GOOGLE))]
    assert first == again
    assert len(set(first)) == 3
    expected = hashlib.sha256(b"google_forms_nps.csv|2|14/09/2026 10:31:00,8,More gluten-free recipes please")
    assert first[0] == expected.hexdigest()[:32]


def test_duplicate_and_empty_ids_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "id,date,score\na1,2026-09-14,7\na1,2026-09-14,8\n,2026-09-14,9\n")
    items = read_all(path, Columns(date="date", score="score", id="id"))
    assert [type(i) for i in items] == [SurveyResponse, Rejected, Rejected]
    assert "already used by row 2" in rejected(items)[0].reason
    assert "the id is empty" in rejected(items)[1].reason


def test_stray_cells_from_an_unquoted_delimiter_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "date,score,comment\n2026-09-14,7,good, but slow\n2026-09-14,8,fine,,\n")
    items = read_all(path)
    assert [type(i) for i in items] == [Rejected, SurveyResponse]
    assert "4 cells where the header has 3" in rejected(items)[0].reason


def test_pages_hold_at_most_page_size_items_in_file_order(tmp_path: Path) -> None:
    rows = "".join(f"2026-09-14 10:{i % 60:02d}:00,{13 if i % 10 == 0 else i % 11},c{i}\n" for i in range(25))
    path = write(tmp_path, "date,score,comment\n" + rows)
    pages = list(read_survey_file(path, "nps", SIMPLE, tz=UTC, page_size=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    items = [item for page in pages for item in page]
    assert len(rejected(items)) == 3
    lines = [int(i.key.split(":")[1]) if isinstance(i, Rejected) else int(i.comment[1:]) + 2 for i in items]
    assert lines == list(range(2, 27))
    with pytest.raises(ValueError, match="page_size"):
        read_survey_file(path, "nps", SIMPLE, tz=UTC, page_size=0)


def test_an_unclosed_quote_is_rejected_instead_of_swallowing_the_rows_below(tmp_path: Path) -> None:
    path = write(tmp_path, 'date,score,comment\n2026-09-14,9,ok\n2026-09-14,7,"open\n2026-09-14,8,x\n2026-09-14,9,y\n')
    items = read_all(path)
    assert [type(i) for i in items] == [SurveyResponse, Rejected]
    assert rejected(items)[0].reason == (
        "responses.csv row 3: cannot be split into cells (a quote opened on line 3 is never closed, so lines 3–5 "
        "were read as one cell); check the row's quotes in the export")


def test_open_finds_each_export_beside_the_map_and_a_file_it_cannot_read_is_its_message(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "nps.csv").write_text("when;score;why;role\n10/09/2026 09:00;9;Fine;Baker\n",
                                                  encoding="utf-8")
    columns = {"date": "when", "score": "score", "comment": "why", "persona": ["role"]}
    map_file = example_map_with(tmp_path, surveys=[
        {"name": "nps", "file": "exports/nps.csv", "delimiter": ";", "columns": columns},
        {"name": "gone", "file": "exports/gone.csv", "columns": columns}])
    journey_map = load_map(map_file)
    nps, gone = open_surveys(Settings(journey_map_file=map_file), journey_map.source_settings("surveys"),
                             survey_request(journey_map))  # no file is read yet
    assert (nps.name, nps.path, nps.delimiter) == ("nps", (tmp_path / "exports" / "nps.csv").resolve(), ";")
    assert nps.columns == Columns(date="when", score="score", comment="why", persona=("role",))
    assert nps.tz == ZoneInfo(journey_map.business.timezone)
    pages = nps.read()
    assert not isinstance(pages, str)
    answer, = [r for page in pages for r in page]
    assert isinstance(answer, SurveyResponse)
    assert (answer.score, answer.persona) == (9, "Baker")
    assert answer.submitted == dt.datetime(2026, 9, 10, 9, tzinfo=ZoneInfo(journey_map.business.timezone))
    message = gone.read()  # not raised: the other exports still load
    assert isinstance(message, str)
    assert message == f"{(tmp_path / 'exports' / 'gone.csv').resolve()}: the file does not exist; check the path in " \
                      "journey.yaml"


def test_the_exports_are_read_whole_and_kept_per_survey() -> None:
    assert SPEC.read_whole
    assert not SPEC.demo_account
    assert SPEC.demo is not None
    assert list(SPEC.demo(None)) == ["responses"]

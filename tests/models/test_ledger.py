"""The day ledger: which days a run reads — the history before today, days until they settle, empty days asked
again before they are gaps — and its storage on both warehouses."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from models.config import SourceSettings
from models.sync.ledger import (
    EMPTY,
    GAP,
    OK,
    DayMark,
    Stream,
    after_read,
    clear_empty_before_data,
    history,
    missing_days,
    plan_reads,
    read_marks,
    unsettled,
    write_marks,
)

D = dt.date(2026, 9, 30)
GA4 = SourceSettings(settle_days=3, empty_retry_days=7, history_days=180)
STRIPE = SourceSettings(settle_days=2, empty_retry_days=0, history_days=30)


def days(n: int, until: dt.date = D - dt.timedelta(days=1)) -> list[dt.date]:
    return [until - dt.timedelta(days=i) for i in reversed(range(n))]


def test_as_of_means_today_so_the_history_ends_yesterday_and_holds_exactly_history_days() -> None:
    since, until = history(D, GA4)
    assert (since, until) == (dt.date(2026, 4, 3), dt.date(2026, 9, 29))
    assert (until - since).days + 1 == 180
    assert plan_reads({}, since, until, D, GA4).days == days(180)  # a first run reads all of it


def test_a_day_is_read_again_until_a_read_happens_settle_days_after_it() -> None:
    day = D - dt.timedelta(days=1)
    first = after_read(None, day, 100, D, GA4)  # read the next morning: not settled
    assert (first.settled, first.read_on, first.status) == (False, D, OK)
    marks = {day: first}
    for run in (1, 2):  # the next two daily runs read it again
        as_of = D + dt.timedelta(days=run)
        assert day in plan_reads(marks, day, day, as_of, GA4).days
        marks[day] = after_read(marks[day], day, 100, as_of, GA4)
    assert marks[day].settled  # the third read came 3 days after it
    assert plan_reads(marks, day, day, D + dt.timedelta(days=3), GA4).days == []
    # a missed run does not strand a day: whatever the gap, an unsettled mark is read on the next run
    assert plan_reads({day: first}, day, day, D + dt.timedelta(days=9), GA4).days == [day]


def test_a_daily_run_reads_the_new_day_and_the_days_still_settling() -> None:
    marks: dict[dt.date, DayMark] = {}
    for run in range(12):
        as_of = D + dt.timedelta(days=run)
        since, until = history(as_of, GA4)
        read = plan_reads(marks, since, until, as_of, GA4).days
        if run:
            assert read == days(3, as_of - dt.timedelta(days=1))  # D−3 (settles now), D−2, D−1
        for day in read:
            marks[day] = after_read(marks.get(day), day, 10, as_of, GA4)


def test_an_empty_day_is_asked_again_for_empty_retry_days_then_is_a_gap_that_only_a_backfill_reads() -> None:
    day = D - dt.timedelta(days=40)  # long settled: only its emptiness brings it back
    mark = after_read(None, day, 0, D, GA4)
    assert (mark.status, mark.empty_since) == (EMPTY, D)
    reads = 0
    for run in range(1, 20):
        as_of = D + dt.timedelta(days=run)
        plan = plan_reads({day: mark}, day, day, as_of, GA4)
        if not plan.days:
            break
        reads += 1
        mark = after_read(mark, day, 0, as_of, GA4)
    assert reads == 7
    assert mark.status == GAP
    assert plan_reads({day: mark}, day, day, D + dt.timedelta(days=30), GA4).days == []
    assert plan_reads({day: mark}, day, day, D + dt.timedelta(days=30), GA4, backfill=True).days == [day]
    filled = after_read(mark, day, 55, D + dt.timedelta(days=31), GA4)  # a backfill finds it filled in
    assert (filled.status, filled.empty_since, filled.rows) == (OK, None, 55)


def test_an_empty_day_whose_retries_ran_between_runs_is_confirmed_without_a_read() -> None:
    day = D - dt.timedelta(days=40)
    mark = after_read(None, day, 0, D, GA4)
    plan = plan_reads({day: mark}, day, day, D + dt.timedelta(days=8), GA4)  # runs stopped for a week
    assert (plan.days, plan.gaps) == ([], [day])


def test_where_empty_days_are_normal_an_empty_day_is_just_read() -> None:
    day = D - dt.timedelta(days=10)
    mark = after_read(None, day, 0, D, STRIPE)  # a day without sales
    assert (mark.status, mark.settled) == (OK, True)
    assert plan_reads({day: mark}, day, day, D + dt.timedelta(days=1), STRIPE).days == []


def test_a_changed_request_plan_reads_the_day_again() -> None:
    day = D - dt.timedelta(days=20)
    mark = after_read(None, day, 5, D, GA4, plan="old")
    assert plan_reads({day: mark}, day, day, D, GA4, plan="old").days == []
    assert plan_reads({day: mark}, day, day, D, GA4, plan="new").days == [day]


def test_marks_round_trip_and_answer_the_questions_of_the_run(engine: Engine) -> None:
    ledger = Stream("ga4", "rows", "123")
    young = [D - dt.timedelta(days=d) for d in (60, 59)]  # before the property's first data: not outages
    outage = D - dt.timedelta(days=20)
    with engine.begin() as conn:
        write_marks(conn, ledger, [after_read(None, d, 0, D, GA4) for d in young])
        write_marks(conn, ledger, [after_read(None, D - dt.timedelta(days=50), 9, D, GA4),
                                   after_read(None, outage, 0, D, GA4),
                                   after_read(None, D - dt.timedelta(days=1), 9, D, GA4)])
        write_marks(conn, Stream("ga4", "rows", "999"), [after_read(None, D - dt.timedelta(days=1), 0, D, GA4)])
        clear_empty_before_data(conn, ledger)
    with engine.connect() as conn:
        marks = read_marks(conn, ledger, D - dt.timedelta(days=90), D)
        assert {d: m.status for d, m in marks.items() if m.status != OK} == {outage: EMPTY}
        assert all(marks[d].status == OK and marks[d].empty_since is None for d in young)
        assert missing_days(conn, "ga4", "123", D - dt.timedelta(days=90), D) == [outage]
        assert unsettled(conn, "ga4", "123", D - dt.timedelta(days=90), D) == {"rows": [D - dt.timedelta(days=1)]}
        assert marks[outage] == DayMark(outage, "", D, True, 0, EMPTY, D)

"""The incident lifecycle on hand-built findings, and its storage on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from checks.incident_store import load_incidents, recent_candidates, save_day
from checks.incidents import Incident, advance, incident_key
from models.config import AlertPolicy
from models.tables import IncidentEvent, IncidentRow, table_of

D = dt.date(2026, 9, 10)
POLICY = AlertPolicy()


def finding(step: str = "cart", *, candidate: bool = False, stall: bool = False, z: float = -3.0, z7: float = -3.0,
            drop: float = 0.3, severity: str = "warning", kind: str = "drop", impact: float = 10.0,
            segment: str = "all") -> dict[str, Any]:
    return {"journey": "shop", "step": step, "segment": segment, "stage": "Purchase", "touchpoint": step.title(),
            "kind": kind, "candidate": candidate, "stall": stall, "alert_segment": True, "z": z, "z7": z7,
            "drop": drop, "severity": severity, "impact_per_day": impact}


def quiet(step: str = "cart") -> dict[str, Any]:
    return finding(step, z=0.0, z7=0.0, drop=0.0, severity="", kind="")


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def run(days: list[list[dict[str, Any]]]) -> tuple[dict[str, Incident], list[list[Any]]]:
    """Advance through days of findings, keeping the 2-of-3 memory as the stored pipeline does."""
    incidents: dict[str, Incident] = {}
    flagged: dict[dt.date, set[str]] = {}
    log = []
    for i, rows in enumerate(days):
        today = day(i)
        recent: dict[str, list[bool]] = {}
        for slot, earlier in enumerate((day(i - 2), day(i - 1))):
            for key in flagged.get(earlier, set()):
                recent.setdefault(key, [False, False])[slot] = True
        frame = pd.DataFrame(rows)
        incidents, events = advance(frame, incidents, recent, today, POLICY)
        flagged[today] = {incident_key(r["journey"], r["step"], r["segment"], r["kind"]) for r in rows
                          if r["candidate"]}
        log.append(events)
    return incidents, log


KEY = "shop|cart|all|drop"


def test_a_candidate_opens_on_its_second_day_in_three() -> None:
    incidents, log = run([[finding(candidate=True)], [quiet()], [finding(candidate=True)]])
    assert [e.action for e in log[0]] == []
    assert [(e.action, e.message) for e in log[2]] == [("opened", True)]
    assert incidents[KEY].status == "open"


def test_stalls_and_very_low_z_open_at_once() -> None:
    _, log = run([[finding("pay", stall=True, kind="flatline", severity="critical"),
                   finding(candidate=True, z=-6.0)]])
    assert sorted(e.key for e in log[0] if e.action == "opened") == [KEY, "shop|pay|all|stall"]


def test_updates_stay_in_the_incident_and_resolve_after_two_good_days() -> None:
    incidents, log = run([[finding(candidate=True, z=-6)], [finding(candidate=True, severity="critical")],
                          [finding(candidate=True, severity="critical")], [quiet()], [quiet()]])
    assert [(e.action, e.message) for e in log[1]] == [("updated", True)]  # severity changed: news
    assert [(e.action, e.message) for e in log[2]] == [("updated", False)]  # nothing new: no message
    assert log[3] == []
    assert [e.action for e in log[4]] == ["resolved"]
    assert incidents[KEY].status == "resolved"
    assert incidents[KEY].resolved_on == day(4)


def test_a_bad_day_resets_the_count_toward_resolution() -> None:
    incidents, _ = run([[finding(candidate=True, z=-6)], [quiet()], [finding(z=-2.0, z7=-2.0, drop=0.2)],
                        [quiet()]])
    assert incidents[KEY].status == "open"
    assert incidents[KEY].good_days == 1


def recovered() -> dict[str, Any]:
    """Still a candidate on its 14-day window, but the last week is back to normal."""
    return {**finding(candidate=True, z=-3.0), "z_resolve": -0.5, "drop_resolve": 0.02}


def test_a_fixed_leak_resolves_while_its_long_window_still_holds_the_bad_days() -> None:
    incidents, log = run([[finding(candidate=True, z=-6)], [finding(candidate=True)], [recovered()],
                          [recovered()]])
    assert [e.action for e in log[2]] == []
    assert [e.action for e in log[3]] == ["resolved"]
    assert incidents[KEY].status == "resolved"


def test_a_candidate_whose_last_week_is_fine_opens_nothing() -> None:
    incidents, log = run([[recovered()], [recovered()], [recovered()]])
    assert incidents == {}
    assert log == [[], [], []]


def test_a_drop_on_a_stalled_step_updates_the_stall() -> None:
    """The collapse opens at once; days later the windows see it as a drop: one incident, not two."""
    stall = finding(stall=True, kind="collapse", severity="critical")
    incidents, log = run([[stall], [stall], [finding(candidate=True, z=-6)], [finding(candidate=True, z=-6)]])
    assert list(incidents) == ["shop|cart|all|stall"]
    assert [e.action for e in log[3]] == ["updated"]


def test_reopening_counts_flaps_and_moves_a_flapping_alert_to_the_digest() -> None:
    days: list[list[dict[str, Any]]] = []
    for _ in range(4):
        days += [[finding(candidate=True, z=-6)], [quiet()], [quiet()]]
    incidents, log = run(days)
    actions = [e.action for events in log for e in events]
    assert actions.count("opened") == 1
    assert actions.count("reopened") == 3
    assert incidents[KEY].flaps == 3
    assert incidents[KEY].digest_only
    assert not [e for e in log[9] if e.message]  # the third reopening is not sent on its own


def test_at_most_five_new_alerts_a_day_by_impact() -> None:
    rows = [finding(f"s{i}", stall=True, kind="collapse", impact=float(i)) for i in range(7)]
    incidents, log = run([rows])
    sent = sorted(e.key for e in log[0] if e.message)
    assert sent == [f"shop|s{i}|all|stall" for i in range(2, 7)]
    assert incidents["shop|s0|all|stall"].digest_only


def test_snoozed_incidents_are_updated_silently() -> None:
    incidents, _ = run([[finding(candidate=True, z=-6)]])
    incidents[KEY] = replace(incidents[KEY], snoozed_until=day(5))
    _, events = advance(pd.DataFrame([finding(candidate=True, severity="critical")]), incidents, {}, day(1), POLICY)
    assert [(e.action, e.message) for e in events] == [("updated", False)]


def dump(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return [sorted(map(tuple, conn.execute(select(table_of(t))).all())) for t in (IncidentRow, IncidentEvent)]


def test_judging_a_day_twice_stores_what_judging_it_once_does(engine: Engine) -> None:
    def judge(as_of: dt.date, rows: list[dict[str, Any]]) -> None:
        with engine.connect() as conn:
            before, recent = load_incidents(conn, as_of), recent_candidates(conn, as_of)
        after, events = advance(pd.DataFrame(rows), before, recent, as_of, POLICY)
        keys = [incident_key("shop", r["step"], "all", r["kind"]) for r in rows if r["candidate"]]
        with engine.begin() as conn:
            save_day(conn, as_of, before, after, events, keys)

    judge(day(0), [finding(candidate=True)])
    judge(day(1), [finding(candidate=True)])  # opens: 2 of the last 3
    once = dump(engine)
    judge(day(1), [finding(candidate=True)])
    assert dump(engine) == once
    with engine.connect() as conn:
        assert load_incidents(conn, day(2))[KEY].status == "open"
        assert KEY not in load_incidents(conn, day(1))  # as it stood before day 1
    judge(day(2), [quiet()])
    judge(day(3), [quiet()])
    with engine.connect() as conn:
        assert load_incidents(conn, day(4))[KEY].status == "resolved"

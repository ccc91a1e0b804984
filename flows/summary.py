"""The map-update summary flow: the period's map against the one before, read from the warehouse, rendered as a
Slack message with its funnel chart, queued in the outbox and delivered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import flow, get_run_logger
from sqlalchemy import Engine, select

from checks.detection import load_series
from checks.discovery.drift import map_drift
from checks.discovery.observed import observe
from checks.incident_snapshot import snapshot_of
from checks.incident_store import load_incidents
from checks.leaks import static_leaks
from flows.days import today_in
from flows.notify import notify_failure, slack_client
from flows.pipeline import journey_pipeline, prepare_database
from flows.settings import load_settings
from flows.slack import Delivery, deliver
from flows.sources import account_of
from models.config import JourneyMap
from models.mapfile import load_map
from models.outbox import Outgoing, enqueue
from models.queries import last_fact_date
from models.tables import IncidentEvent, QualityResultRow, table_of
from reports.chart import funnel_png
from reports.map_png import map_png
from reports.map_view import MapView
from reports.news import as_body
from reports.page_data import ANNOTATION_DAYS, annotation_effects, build_page, read_annotations, touchpoint_names
from reports.summary import PERIODS, IncidentLine, Leak, Summary, summary_message
from reports.views import current_view


@dataclass
class SummaryResult:
    summary: Summary
    chart: Path
    delivery: Delivery
    cards: Path | None = None  # the map as a PNG, attached beside the funnels


def _incidents(engine: Engine, since: dt.date, until: dt.date, journey_map: JourneyMap,
               ) -> tuple[list[IncidentLine], list[IncidentLine], list[IncidentLine]]:
    """(opened in the period, resolved in it, open before it and still open)."""
    with engine.connect() as conn:
        state = load_incidents(conn, until + dt.timedelta(days=1))
        events = conn.execute(select(IncidentEvent.key, IncidentEvent.action, IncidentEvent.as_of).where(
            IncidentEvent.as_of >= since, IncidentEvent.as_of <= until)).all()
    names = touchpoint_names(journey_map)
    opened_keys = {k for k, action, _ in events if action in ("opened", "reopened")}
    resolved_keys = {k for k, action, _ in events if action == "resolved"}

    def line(key: str) -> IncidentLine:
        i = state[key]
        stage, name = names.get(i.step, ("", i.step))
        reading = snapshot_of(i.payload)
        return IncidentLine(key, stage, name, i.severity, i.opened_on,
                            i.resolved_on if i.status == "resolved" else None, reading.impact_per_day, reading.since)
    opened = [line(k) for k in sorted(opened_keys) if k in state]
    resolved = [line(k) for k in sorted(resolved_keys - opened_keys) if k in state]
    still = [line(k) for k, i in sorted(state.items()) if i.status != "resolved" and k not in opened_keys]
    return opened, resolved, still


def _leaks(series: pd.DataFrame, journey_map: JourneyMap, view: MapView) -> list[Leak]:
    leaks = static_leaks(series[series["date"] >= view.since], series[series["date"] < view.since], top=3)
    names = touchpoint_names(journey_map)
    out = []
    for step, lost, drop_off, change in leaks[["step", "lost", "drop_off", "change_pp"]].itertuples(index=False):
        change_pp = float(change) if pd.notna(change) else None
        out.append(Leak(*names.get(str(step), ("", str(step))), float(lost), float(drop_off), change_pp))
    return out


def _quality(engine: Engine, until: dt.date) -> tuple[int, list[str]]:
    """(checks passed, names of those failed) of the newest run up to the period's end."""
    table = table_of(QualityResultRow)
    with engine.connect() as conn:
        day = conn.execute(select(table.c.as_of).where(table.c.as_of <= until + dt.timedelta(days=1))
                           .order_by(table.c.as_of.desc()).limit(1)).scalar()
        rows = conn.execute(select(table.c.check_name, table.c.success).where(table.c.as_of == day)).all() \
            if day else []
    return sum(1 for _, ok in rows if ok), [name for name, ok in rows if not ok]


def build_summary(engine: Engine, journey_map: JourneyMap, period: str, as_of: dt.date,
                  accounts: Mapping[str, str | None] | None = None) -> Summary:
    """The period of PERIODS[period] days before `as_of`, against the same number of days before it; `accounts`
    names, per source, the account whose raw rows the drift is judged on (None: every account)."""
    view = current_view(engine, journey_map, as_of, period_days=PERIODS[period])
    opened, resolved, still = _incidents(engine, view.since, view.until, journey_map)
    passed, failed = _quality(engine, view.until)
    before = view.since - dt.timedelta(days=PERIODS[period])  # the period before, and annotated changes in it
    notes = read_annotations(engine, before, view.until)
    series = load_series(engine, journey_map, before - dt.timedelta(days=ANNOTATION_DAYS), view.until)  # one read
    leaks = _leaks(series[series["date"] >= before], journey_map, view)
    drift = None
    if period != "week":  # a month of data says whether the map still fits the site and its emails
        with engine.connect() as conn:
            observed = observe(conn, view.since, view.until, ZoneInfo(journey_map.business.timezone), accounts)
        drift = map_drift(observed, journey_map)
    return Summary(period, view, leaks, opened, resolved, still, passed, failed,
                   annotation_effects(notes, series, journey_map), drift)


@flow(name="map-summary", log_prints=True, on_failure=[notify_failure])
def journey_summary(period: str = "month", as_of: dt.date | None = None, demo: bool = False,
                    business: str | None = None) -> SummaryResult:
    """Post the map-update summary of the last week, month (28 days) or quarter (91 days) with its chart.

    Args:
        period: week, month or quarter.
        as_of: the day after the period (default: today in the map's timezone).
        demo: load the built-in demo business for both periods first when the warehouse has none of it.
        business: in a warehouse of several businesses, the one to summarise (empty: the one map).
    """
    if period not in PERIODS:
        raise ValueError(f"period {period!r}: choose week, month or quarter")
    settings = load_settings(business or None)
    journey_map = load_map(settings.journey_map_file)
    as_of = as_of or today_in(journey_map)
    engine = prepare_database(settings.journey_database_url, journey_map)
    days = PERIODS[period]
    with engine.connect() as conn:
        newest = last_fact_date(conn)
    if demo and (newest is None or newest < as_of - dt.timedelta(days=1)):
        journey_pipeline(start_date=as_of - dt.timedelta(days=2 * days), end_date=as_of - dt.timedelta(days=1),
                         demo=True, business=business)
    accounts = {s: account_of(s, settings, demo) for s in journey_map.used_sources()}
    summary = build_summary(engine, journey_map, period, as_of, accounts)
    chart = funnel_png(summary.view)
    folder = Path(settings.journey_outbox_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = f"summary|{period}|{summary.view.since}|{summary.view.until}"
    filename = f"journey-map-{period}-{summary.view.since}-{summary.view.until}.png"
    (folder / filename).write_bytes(chart)
    channel = settings.slack_channel or ""
    body = summary_message(summary, key=key, chart=filename)
    file = {"filename": filename, "title": f"Journey map, {summary.view.since} – {summary.view.until}",
            "comment": f"Funnel per stage, {summary.view.since} – {summary.view.until}", "in_thread": False}
    cards = map_png(build_page(engine, journey_map, as_of, period_days=days, persona=""))
    cards_name = f"journey-map-{period}-{summary.view.since}-{summary.view.until}-cards.png"
    (folder / cards_name).write_bytes(cards)
    cards_file = {"filename": cards_name, "title": f"The journey map, {summary.view.since} – {summary.view.until}",
                  "comment": "Every touchpoint with its figures, stage by stage", "in_thread": False}
    with engine.begin() as conn:
        enqueue(conn, [Outgoing(key, key, "top", channel, as_body(body)),
                       Outgoing(f"{key}|chart", key, "file", channel, as_body(file), chart),
                       Outgoing(f"{key}|map", key, "file", channel, as_body(cards_file), cards)])
    delivery = deliver(engine, slack_client(settings), folder)
    get_run_logger().info("summary %s: chart %s; Slack: %d sent, %d written, %d waiting", key, folder / filename,
                          len(delivery.sent), len(delivery.written), delivery.waiting)
    engine.dispose()
    return SummaryResult(summary, folder / filename, delivery, folder / cards_name)

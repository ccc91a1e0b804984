"""Map raw source records onto touchpoints: `touchpoint_daily` per segment, plus unmapped volume."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from models.config import DIMENSIONS, JourneyMap, Persona, Touchpoint
from models.feedback import map_surveys, read_surveys
from models.store import replace_window, stream_of
from models.tables import (
    Ga4Row,
    MailchimpActivity,
    MailchimpCampaign,
    MailchimpReport,
    StripeCheckoutSession,
    StripeRefund,
    StripeSubscription,
    TouchpointDaily,
    UnmappedDaily,
    table_of,
)

ALL = "all"
GA4_METRICS = {"sessions": "sessions", "screenPageViews": "screen_page_views", "eventCount": "event_count",
               "keyEvents": "key_events", "purchaseRevenue": "purchase_revenue"}
GA4_RULE_COLUMNS = {"landing_page": "item", "page_path": "item", "event_name": "item",
                    "channel": "channel", "source": "source", "medium": "medium"}
GA4_REPORT_VOLUME = {"traffic": "sessions", "pages": "screen_page_views", "events": "event_count"}
MAILCHIMP_ACTIONS = {"sent": "sent", "opens": "open", "clicks": "click", "bounces": "bounce",
                     "unsubscribes": "unsub"}
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
                "xaf", "xof", "xpf"}
FACT_COLUMNS = ["date", "touchpoint_id", "segment", "journey_id", "volume", "success", "events", "revenue"]


def segment_key(dimension: str, value: str) -> str:
    """The segment key used in touchpoint_daily, e.g. 'device=mobile'."""
    return f"{dimension}={value}"


def persona_segment(persona: Persona) -> str:
    return f"persona={persona.name}"


@dataclass
class MappingResult:
    """What one mapping pass wrote."""

    facts: int = 0
    unmapped: int = 0
    unmapped_volume: dict[str, float] = field(default_factory=dict)  # per source
    mapped_volume: dict[str, float] = field(default_factory=dict)


def map_window(conn: Connection, journey_map: JourneyMap, since: dt.date, until: dt.date,
               accounts: Mapping[str, str | None] | None = None) -> MappingResult:
    """Recompute facts and unmapped volume for since..until from the raw tables (idempotent).

    `accounts` names, per source, the account whose rows count (the GA4 property); None reads all.
    """
    tz = ZoneInfo(journey_map.business.timezone)
    frames: list[pd.DataFrame] = []
    unmapped: list[pd.DataFrame] = []
    result = MappingResult()
    for source, reader, mapper in (("ga4", _read_ga4, _map_ga4), ("mailchimp", _read_mailchimp, _map_mailchimp),
                                   ("stripe", _read_stripe, _map_stripe), ("surveys", read_surveys, map_surveys)):
        raw = reader(conn, since, until, tz, (accounts or {}).get(source))
        tps = [(j.id, tp) for j, tp in journey_map.touchpoints() if tp.source == source]
        facts, left = mapper(raw, tps, journey_map)
        frames.append(facts)
        unmapped.append(left)
        result.unmapped_volume[source] = float(left["volume"].sum()) if len(left) else 0.0
        mapped = facts[facts["segment"] == ALL]["volume"].sum() if len(facts) else 0.0
        result.mapped_volume[source] = float(mapped)
    facts = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=FACT_COLUMNS)
    left = pd.concat([u for u in unmapped if len(u)], ignore_index=True) if any(len(u) for u in unmapped) \
        else pd.DataFrame(columns=["date", "source", "stream", "item", "volume"])
    result.facts = replace_window(conn, table_of(TouchpointDaily), since, until, _records(facts))
    result.unmapped = replace_window(conn, table_of(UnmappedDaily), since, until, _records(left))
    return result


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Plain Python values (no numpy scalars, NaN → None) for the database driver."""
    plain = frame.astype(object)
    plain[frame.isna()] = None
    return [{str(k): v for k, v in row.items()} for row in plain.to_dict("records")]


def _between(ts: pd.Series, tz: ZoneInfo, since: dt.date, until: dt.date) -> tuple[pd.Series, pd.Series]:
    """Business-day dates of naive-UTC timestamps, and the mask of those inside the window."""
    local = pd.to_datetime(ts).dt.tz_localize("UTC").dt.tz_convert(tz).dt.date
    return local, (local >= since) & (local <= until)


# --- GA4 ---


def _read_ga4(conn: Connection, since: dt.date, until: dt.date, _tz: ZoneInfo, account: str | None) -> pd.DataFrame:
    t = table_of(Ga4Row)
    stmt = select(t).where(t.c.date >= since, t.c.date <= until)
    if account is not None:
        stmt = stmt.where(t.c.property_id == account)
    raw = pd.read_sql(stmt, conn)
    for column in ("report", "item", "channel", "source", "medium", "device", "user_type", "country"):
        raw[column] = raw[column].astype("category")  # few distinct values: rules test each once
    return raw


def _fullmatch(series: pd.Series, pattern: str) -> pd.Series:
    """Rows whose value fully matches the pattern; each distinct value is tested once."""
    regex = re.compile(pattern)
    values = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    hits = [v for v in values.cat.categories if regex.fullmatch(str(v))]
    return values.isin(hits)


def _map_ga4(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
             journey_map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame]:
    dims = [d for d in journey_map.segments if d in ("device", "channel", "user_type", "country")]
    matched = pd.Series(False, index=raw.index)
    out: list[pd.DataFrame] = []
    persona_masks = {persona_segment(p): _persona_mask(raw, p) for p in journey_map.personas}
    for journey_id, tp in tps:
        report = stream_of("ga4", tp.match)
        mask = raw["report"] == report
        for key, pattern in tp.match.items():
            mask &= _fullmatch(raw[GA4_RULE_COLUMNS[key]], str(pattern))
        matched |= mask
        rows = raw[mask]
        frame = pd.DataFrame({
            "date": rows["date"], "volume": rows[GA4_METRICS[tp.volume]].astype(float),
            "success": rows[GA4_METRICS[tp.success]].astype(float) if tp.success else np.nan,
            "events": rows["event_count"].astype(float), "revenue": rows["purchase_revenue"].astype(float),
        })
        for dim in dims:
            frame[dim] = rows[dim]
        for key, pmask in persona_masks.items():
            frame[key] = pmask[mask]
        out.append(_segment_facts(frame, tp, journey_id, dims, list(persona_masks)))
    left = raw[~matched]
    volume = np.select([left["report"] == r for r in GA4_REPORT_VOLUME],
                       [left[c].astype(float) for c in GA4_REPORT_VOLUME.values()], default=0.0)
    unmapped = pd.DataFrame({"date": left["date"], "source": "ga4", "stream": left["report"],
                             "item": left["item"].astype(str).str.slice(0, 500), "volume": volume})
    keys = ["date", "source", "stream", "item"]
    return _concat(out), unmapped.groupby(keys, as_index=False, observed=True)[["volume"]].sum()


def _persona_mask(raw: pd.DataFrame, persona: Persona) -> pd.Series:
    mask = pd.Series(True, index=raw.index)
    for dim, value in persona.where.items():
        mask &= raw[dim].astype(str) == value if dim in raw else False
    return mask


def _segment_facts(frame: pd.DataFrame, tp: Touchpoint, journey_id: str, dims: list[str],
                   personas: list[str]) -> pd.DataFrame:
    """Sum a touchpoint's rows per date for ALL, each dimension value and each persona."""
    metrics = ["volume", "success", "events", "revenue"]
    parts = [_sum_by(frame, ["date"], metrics).assign(segment=ALL)]
    for dim in dims:
        by = _sum_by(frame, ["date", dim], metrics)
        by["segment"] = [segment_key(dim, v) for v in by[dim]]
        parts.append(by.drop(columns=[dim]))
    for key in personas:
        parts.append(_sum_by(frame[frame[key]], ["date"], metrics).assign(segment=key))
    facts = _concat(parts)
    if tp.success is None:
        facts["success"] = np.nan
    return facts.assign(touchpoint_id=tp.id, journey_id=journey_id)[FACT_COLUMNS]


def _sum_by(frame: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, *metrics])
    return frame.groupby(keys, as_index=False, observed=True)[metrics].sum(min_count=1)


def _concat(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FACT_COLUMNS)


# --- Mailchimp ---


SEND_LOOKBACK = dt.timedelta(days=14)  # how far back an open or click is traced to its send
ACTION_LAG = dt.timedelta(days=4)  # opens and clicks after the window still belong to its sends


def _read_mailchimp(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                    account: str | None) -> pd.DataFrame:
    """Activity dated by its email's send day (a cohort): opens of Monday's email count for Monday.

    Dating an open by its own day would let a step's successes exceed its volume and
    shift every drop by the open delay; an action whose send is not on record keeps its own day.
    """
    a, c = table_of(MailchimpActivity), table_of(MailchimpCampaign)
    lo = dt.datetime.combine(since - SEND_LOOKBACK, dt.time())
    hi = dt.datetime.combine(until + ACTION_LAG, dt.time())
    stmt = (select(a.c.campaign_id, a.c.email_hash, a.c.action, a.c.timestamp, c.c.title, c.c.workflow_title,
                   c.c.position)
            .join(c, (c.c.account == a.c.account) & (c.c.campaign_id == a.c.campaign_id))
            .where(a.c.timestamp >= lo, a.c.timestamp < hi))
    if account is not None:
        stmt = stmt.where(a.c.account == account)
    raw = pd.read_sql(stmt, conn)
    own_day, _ = _between(raw["timestamp"], tz, since, until)
    raw["date"] = own_day
    sends = (raw.loc[raw["action"] == "sent", ["campaign_id", "email_hash", "timestamp", "date"]]
             .sort_values("timestamp").drop_duplicates(["campaign_id", "email_hash"])
             .drop(columns=["timestamp"]).rename(columns={"date": "send_date"}))
    raw = raw.merge(sends, on=["campaign_id", "email_hash"], how="left")
    raw["date"] = raw["send_date"].where(raw["send_date"].notna(), raw["date"])
    raw = raw[(raw["date"] >= since) & (raw["date"] <= until)].drop(columns=["send_date"])
    raw = pd.concat([raw.assign(weight=1.0), _snapshot_sends(conn, since, until, account, set(sends["campaign_id"]))],
                    ignore_index=True)
    for column in ("title", "workflow_title"):
        raw[column] = raw[column].astype("category")
    return raw.reset_index(drop=True)


def _snapshot_sends(conn: Connection, since: dt.date, until: dt.date, account: str | None,
                    with_sends: set[str]) -> pd.DataFrame:
    """Daily sends of emails with no per-subscriber send on record (automation emails read from the API): the
    growth of `emails_sent` between consecutive report snapshots, on the later snapshot's day. One row per
    (email, day) whose `weight` is the count; the first snapshot of an email has nothing to compare with."""
    r, c = table_of(MailchimpReport), table_of(MailchimpCampaign)
    stmt = (select(r.c.campaign_id, r.c.taken_on, r.c.emails_sent, c.c.title, c.c.workflow_title, c.c.position)
            .join(c, (c.c.account == r.c.account) & (c.c.campaign_id == r.c.campaign_id))
            .where(r.c.taken_on >= since - dt.timedelta(days=7), r.c.taken_on <= until))
    if account is not None:
        stmt = stmt.where(r.c.account == account)
    snaps = pd.read_sql(stmt, conn).sort_values(["campaign_id", "taken_on"])
    snaps = snaps[~snaps["campaign_id"].isin(with_sends)]
    snaps["weight"] = snaps.groupby("campaign_id")["emails_sent"].diff().clip(lower=0)
    snaps = snaps[snaps["weight"].notna() & (snaps["weight"] > 0)]
    snaps = snaps[(snaps["taken_on"] >= since) & (snaps["taken_on"] <= until)]
    return pd.DataFrame({"campaign_id": snaps["campaign_id"], "email_hash": "snapshot", "action": "sent",
                         "timestamp": pd.to_datetime(snaps["taken_on"]), "title": snaps["title"],
                         "workflow_title": snaps["workflow_title"], "position": snaps["position"],
                         "date": snaps["taken_on"], "weight": snaps["weight"].astype(float)})


def _map_mailchimp(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
                   _map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame]:
    matched = pd.Series(False, index=raw.index)
    out = []
    for journey_id, tp in tps:
        mask = pd.Series(True, index=raw.index)
        for key, value in tp.match.items():
            if key == "email":
                mask &= raw["position"] == int(value)
            else:
                mask &= _fullmatch(raw["title" if key == "campaign" else "workflow_title"], str(value))
        matched |= mask
        rows = raw[mask]
        volume = _unique_per_day(rows, MAILCHIMP_ACTIONS[tp.volume])
        facts = pd.DataFrame({"volume": volume})
        facts["success"] = _unique_per_day(rows, MAILCHIMP_ACTIONS[tp.success]) if tp.success else np.nan
        facts["events"] = rows.groupby("date").size().reindex(facts.index).astype(float)
        facts["revenue"] = 0.0
        facts = facts.fillna({"success": 0.0} if tp.success else {}).reset_index(names="date")
        out.append(facts.assign(segment=ALL, touchpoint_id=tp.id, journey_id=journey_id)[FACT_COLUMNS])
    left = raw[~matched & (raw["action"] == "sent")]
    unmapped = (left.groupby(["date", "title"], observed=True)["weight"].sum().rename("volume").reset_index()
                .rename(columns={"title": "item"}).assign(source="mailchimp", stream="activity"))
    unmapped["volume"] = unmapped["volume"].astype(float)
    return _concat(out), unmapped


def _unique_per_day(rows: pd.DataFrame, action: str) -> pd.Series:
    """Distinct subscribers per day with this action on any of the rule's emails (plus snapshot sends)."""
    acted = rows[rows["action"] == action]
    return acted.drop_duplicates(["date", "campaign_id", "email_hash"]).groupby("date")["weight"].sum().astype(float)


# --- Stripe ---


def _read_stripe(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                 account: str | None) -> pd.DataFrame:
    s = table_of(StripeCheckoutSession)
    lo = dt.datetime.combine(since - dt.timedelta(days=1), dt.time())
    hi = dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = select(s).where(s.c.created >= lo, s.c.created < hi)
    raw = pd.read_sql(stmt if account is None else stmt.where(s.c.account == account), conn)
    raw["date"], inside = _between(raw["created"], tz, since, until)
    raw = raw[inside].copy()
    divisor = np.where(raw["currency"].str.lower().isin(ZERO_DECIMAL), 1.0, 100.0)
    raw["amount"] = raw["amount_total"].astype(float) / divisor
    raw["abandoned"] = _abandoned(raw, dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    raw["kind"] = "session"
    parts = [raw, _subscription_events(conn, since, until, tz, account),
             _refund_events(conn, since, until, tz, account)]
    return pd.concat([p for p in parts if len(p)] or [raw], ignore_index=True)


def _refund_events(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                   account: str | None) -> pd.DataFrame:
    """A row per refund (not failed or canceled) created in the window, with the product of the checkout whose
    payment it returns (kind `refund`)."""
    ref, ses = table_of(StripeRefund), table_of(StripeCheckoutSession)
    lo, hi = dt.datetime.combine(since - dt.timedelta(days=1), dt.time()), \
        dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = (select(ref.c.created, ref.c.status, ref.c.amount, ref.c.currency, ses.c.product_id, ses.c.product_name,
                   ses.c.mode)
            .join(ses, (ses.c.account == ref.c.account) & (ses.c.payment_intent == ref.c.payment_intent)
                  & (ses.c.payment_intent != ""), isouter=True)
            .where(ref.c.created >= lo, ref.c.created < hi, ref.c.status.not_in(["failed", "canceled"])))
    rows = pd.read_sql(stmt if account is None else stmt.where(ref.c.account == account), conn)
    day, inside = _between(rows["created"], tz, since, until)
    rows = rows.assign(date=day)[inside]
    divisor = np.where(rows["currency"].isin(ZERO_DECIMAL), 1.0, 100.0)
    return pd.DataFrame({"date": rows["date"], "kind": "refund", "mode": rows["mode"].fillna(""),
                         "status": rows["status"], "product_id": rows["product_id"].fillna(""),
                         "product_name": rows["product_name"].fillna(""), "amount": rows["amount"] / divisor,
                         "abandoned": False})


def _subscription_events(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                         account: str | None) -> pd.DataFrame:
    """A row per subscription start (`kind` started) and cancellation (canceled) in the window, named by the
    product names the checkout sessions carry (subscriptions only know the product id)."""
    sub, ses = table_of(StripeSubscription), table_of(StripeCheckoutSession)
    lo, hi = dt.datetime.combine(since - dt.timedelta(days=1), dt.time()), \
        dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = select(sub).where(((sub.c.created >= lo) & (sub.c.created < hi)) |
                             ((sub.c.canceled_at >= lo) & (sub.c.canceled_at < hi)))
    subs = pd.read_sql(stmt if account is None else stmt.where(sub.c.account == account), conn)
    counts = pd.read_sql(select(ses.c.product_id, ses.c.product_name, func.count().label("n"))
                         .group_by(ses.c.product_id, ses.c.product_name), conn)
    names = (counts.sort_values(["product_id", "n", "product_name"], ascending=[True, False, True])
             .drop_duplicates("product_id").set_index("product_id")["product_name"])  # the name most sessions carry
    events = []
    for kind, column in (("started", "created"), ("canceled", "canceled_at")):
        rows = subs[subs[column].notna()]
        day, inside = _between(rows[column], tz, since, until)
        rows = rows.assign(date=day)[inside]
        events.append(pd.DataFrame({"date": rows["date"], "kind": kind, "mode": "subscription",
                                    "status": rows["status"], "product_id": rows["product_id"],
                                    "product_name": rows["product_id"].map(names).fillna(rows["product_id"]),
                                    "amount": 0.0, "abandoned": False}))
    return pd.concat([e for e in events if len(e)] or events[:1], ignore_index=True)


def _abandoned(raw: pd.DataFrame, window_end: dt.datetime) -> pd.Series:
    """Cart abandonment: expired sessions, and open ones past `expires_at` by the window's end — unless the same
    customer completed a session that day (a retried card is not a lost sale)."""
    lapsed = (raw["status"] == "expired") | ((raw["status"] == "open") & (raw["expires_at"].notna()) &
                                             (pd.to_datetime(raw["expires_at"]) <= window_end))
    known = raw["customer_hash"] != ""
    paid = raw.loc[known & (raw["status"] == "complete"), ["date", "customer_hash"]].drop_duplicates()
    bought = pd.MultiIndex.from_frame(paid).unique()
    again = pd.MultiIndex.from_frame(raw[["date", "customer_hash"]]).isin(bought) & known.to_numpy()
    return lapsed & ~again


STRIPE_METRICS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "checkouts": lambda r: (r["kind"] == "session").astype(float),
    "completed": lambda r: ((r["kind"] == "session") & (r["status"] == "complete")).astype(float),
    "expired": lambda r: ((r["kind"] == "session") & (r["status"] == "expired")).astype(float),
    "abandoned": lambda r: ((r["kind"] == "session") & r["abandoned"].astype(bool)).astype(float),
    "revenue": lambda r: r["amount"].where((r["kind"] == "session") & (r["status"] == "complete"), 0.0),
    "subscriptions_started": lambda r: (r["kind"] == "started").astype(float),
    "subscriptions_canceled": lambda r: (r["kind"] == "canceled").astype(float),
    "refunds": lambda r: (r["kind"] == "refund").astype(float),
}


def _map_stripe(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
                _map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame]:
    matched = pd.Series(False, index=raw.index)
    out = []
    for journey_id, tp in tps:
        mask = pd.Series(True, index=raw.index)
        for key, value in tp.match.items():
            if key == "product":
                mask &= _fullmatch(raw["product_id"], str(value)) | _fullmatch(raw["product_name"], str(value))
            else:
                mask &= raw["mode"] == value
        matched |= mask
        rows = raw[mask]
        frame = pd.DataFrame({"date": rows["date"], "volume": STRIPE_METRICS[tp.volume](rows),
                              "success": STRIPE_METRICS[tp.success](rows) if tp.success else np.nan,
                              "events": 1.0, "revenue": STRIPE_METRICS["revenue"](rows)})
        out.append(_segment_facts(frame, tp, journey_id, [], []))
    left = raw[~matched & (raw["kind"] == "session")]
    unmapped = (left.groupby(["date", "product_name"]).size().rename("volume").reset_index()
                .rename(columns={"product_name": "item"}).assign(source="stripe", stream="checkout_sessions"))
    unmapped["volume"] = unmapped["volume"].astype(float)
    return _concat(out), unmapped


__all__ = ["ALL", "DIMENSIONS", "MappingResult", "map_window", "persona_segment", "segment_key"]

"""Stripe → touchpoint facts: checkout sessions (completion, abandonment, revenue), subscription starts and
cancellations, refunds, payments that succeeded or failed — all matched to products."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, Table, func, select

from models.config import JourneyMap, Touchpoint
from models.facts import METRIC_COLUMNS, between, concat, daily_facts, fullmatch, unmapped_items
from models.sources.stripe.tables import StripeCheckoutSession, StripePaymentIntent, StripeRefund, StripeSubscription
from models.store import unindexed
from models.tables import table_of

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
                "xaf", "xof", "xpf"}


def read_stripe(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                 account: str | None) -> pd.DataFrame:
    s = table_of(StripeCheckoutSession)
    lo = dt.datetime.combine(since - dt.timedelta(days=1), dt.time())
    hi = dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = select(s).where(s.c.created >= lo, s.c.created < hi)
    raw = pd.read_sql(stmt if account is None else stmt.where(unindexed(s.c.account) == account), conn)
    raw["date"], inside = between(raw["created"], tz, since, until)
    raw = raw[inside].copy()
    divisor = np.where(raw["currency"].str.lower().isin(ZERO_DECIMAL), 1.0, 100.0)
    raw["amount"] = raw["amount_total"].astype(float) / divisor
    raw["abandoned"] = _abandoned(raw, dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    raw["kind"] = "session"
    parts = [raw, _subscription_events(conn, since, until, tz, account),
             _refund_events(conn, since, until, tz, account), _payment_events(conn, since, until, tz, account)]
    out = pd.concat([p for p in parts if len(p)] or [raw], ignore_index=True)
    return out.assign(failure_code=out["failure_code"].fillna("") if "failure_code" in out else "")


def _refund_events(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                   account: str | None) -> pd.DataFrame:
    """A row per refund (not failed or canceled) created in the window, with the product of the checkout whose
    payment it returns (kind `refund`)."""
    ref = table_of(StripeRefund)
    return _paid_through_checkout(conn, ref, ref.c.payment_intent, ref.c.status.not_in(["failed", "canceled"]),
                                  "refund", since, until, tz, account)


def _payment_events(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                    account: str | None) -> pd.DataFrame:
    """A row per payment intent created in the window (kind `payment`), with the product of the checkout that
    made it; `failure_code` says whether its last attempt failed."""
    pi = table_of(StripePaymentIntent)
    return _paid_through_checkout(conn, pi, pi.c.payment_intent_id, pi.c.status != "", "payment", since, until, tz,
                                  account, pi.c.failure_code)


def _paid_through_checkout(conn: Connection, table: Table, intent: ColumnElement[str], keep: ColumnElement[bool],
                           kind: str, since: dt.date, until: dt.date, tz: ZoneInfo, account: str | None,
                           *extra: ColumnElement[str]) -> pd.DataFrame:
    """Rows of a Stripe table that names a payment intent (refunds, the intents themselves) created in the window,
    each with the product and mode of the checkout session paid by that intent ("" when none did)."""
    ses = table_of(StripeCheckoutSession)
    lo, hi = dt.datetime.combine(since - dt.timedelta(days=1), dt.time()), \
        dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = (select(table.c.created, table.c.status, table.c.amount, table.c.currency, ses.c.product_id,
                   ses.c.product_name, ses.c.mode, *extra)
            .join(ses, (ses.c.account == table.c.account) & (ses.c.payment_intent == intent)
                  & (ses.c.payment_intent != ""), isouter=True)
            .where(table.c.created >= lo, table.c.created < hi, keep))
    rows = pd.read_sql(stmt if account is None else stmt.where(unindexed(table.c.account) == account), conn)
    day, inside = between(rows["created"], tz, since, until)
    rows = rows.assign(date=day)[inside]
    divisor = np.where(rows["currency"].isin(ZERO_DECIMAL), 1.0, 100.0)
    return pd.DataFrame({"date": rows["date"], "kind": kind, "mode": rows["mode"].fillna(""),
                         "status": rows["status"], "product_id": rows["product_id"].fillna(""),
                         "product_name": rows["product_name"].fillna(""), "amount": rows["amount"] / divisor,
                         "abandoned": False, **{c.name: rows[c.name] for c in extra}})


def _subscription_events(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
                         account: str | None) -> pd.DataFrame:
    """A row per subscription start (`kind` started) and cancellation (canceled) in the window, named by the
    product names the checkout sessions carry (subscriptions only know the product id)."""
    sub, ses = table_of(StripeSubscription), table_of(StripeCheckoutSession)
    lo, hi = dt.datetime.combine(since - dt.timedelta(days=1), dt.time()), \
        dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = select(sub).where(((sub.c.created >= lo) & (sub.c.created < hi)) |
                             ((sub.c.canceled_at >= lo) & (sub.c.canceled_at < hi)))
    subs = pd.read_sql(stmt if account is None else stmt.where(unindexed(sub.c.account) == account), conn)
    products = sorted(set(subs["product_id"]))  # only the window's subscriptions' products are named
    counts = pd.read_sql(select(ses.c.product_id, ses.c.product_name, func.count().label("n"))
                         .where(ses.c.product_id.in_(products)).group_by(ses.c.product_id, ses.c.product_name),
                         conn) if products else pd.DataFrame(columns=["product_id", "product_name", "n"])
    names = (counts.sort_values(["product_id", "n", "product_name"], ascending=[True, False, True])
             .drop_duplicates("product_id").set_index("product_id")["product_name"])  # the name most sessions carry
    events = []
    for kind, column in (("started", "created"), ("canceled", "canceled_at")):
        rows = subs[subs[column].notna()]
        day, inside = between(rows[column], tz, since, until)
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
    "payments_succeeded": lambda r: ((r["kind"] == "payment") & (r["status"] == "succeeded")).astype(float),
    "payments_failed": lambda r: ((r["kind"] == "payment") & (r["failure_code"] != "")).astype(float),
}


def map_stripe(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
               _map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Facts (ALL segment; Stripe has no segments), unmapped sessions, and every sales metric per day —
    completion, abandonment, refunds and churn side by side on the map, whichever one the step uses."""
    matched = pd.Series(False, index=raw.index)
    facts, metrics = [], []
    for journey_id, tp in tps:
        mask = rule_mask(raw, tp)
        matched |= mask
        rows = raw[mask]
        if rows.empty:
            continue
        daily = pd.DataFrame({metric: fn(rows) for metric, fn in STRIPE_METRICS.items()}).groupby(rows["date"]).sum()
        daily["events"] = rows.groupby("date").size()
        tp_facts, tp_metrics = daily_facts(daily, tp, journey_id)
        facts.append(tp_facts)
        metrics.append(tp_metrics)
    unmapped = unmapped_items(raw[~matched & (raw["kind"] == "session")], "product_name", "stripe",
                              "checkout_sessions")
    return concat(facts), unmapped, concat(metrics, METRIC_COLUMNS)


def rule_mask(raw: pd.DataFrame, tp: Touchpoint) -> pd.Series:
    """The rows (read_stripe) a touchpoint's rule takes."""
    mask = pd.Series(True, index=raw.index)
    for key, value in tp.match.items():
        if key == "product":
            mask &= fullmatch(raw["product_id"], str(value)) | fullmatch(raw["product_name"], str(value))
        else:
            mask &= raw["mode"] == value
    return mask

"""Raw landing streams: turn connector records (as dicts) into rows, quarantining the bad ones."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from models.store import row_key
from models.tables import (
    Ga4Row,
    MailchimpActivity,
    MailchimpCampaign,
    MailchimpListGrowth,
    MailchimpReport,
    StripeCheckoutSession,
    StripePaymentIntent,
    StripeRefund,
    StripeSubscription,
    SurveyResponseRow,
    table_of,
)

Record = Mapping[str, Any]
GA4_REPORTS = ("traffic", "pages", "events")
GA4_DIMENSIONS = ("item", "channel", "source", "medium", "device", "user_type", "country")
GA4_COUNTS = ("sessions", "screen_page_views", "event_count")
GA4_AMOUNTS = ("key_events", "purchase_revenue")
MAILCHIMP_ACTIONS = ("sent", "open", "click", "bounce", "unsub")
STRIPE_STATUSES = ("open", "complete", "expired")
# the currencies Stripe presents charges in (ISO 4217, lower case as Stripe sends them)
CURRENCIES = frozenset({
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd", "bif",
    "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc", "cve",
    "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq",
    "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf",
    "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop",
    "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen", "pgk",
    "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle",
    "sos", "srd", "std", "szl", "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu",
    "uzs", "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
})
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_HEX = "0123456789abcdef"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}")


class BadRecord(ValueError):
    """A record that cannot be stored; the message says which field and why."""


@dataclass
class Prepared:
    """Rows ready for upsert, the day each belongs to, and the records set aside."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)
    bad: list[tuple[str, str, Record]] = field(default_factory=list)  # (record key, reason, payload)


@dataclass(frozen=True)
class Cover:
    """What one read of a stream covers: every row of its window (by `time`) for each `scope` value it reads
    (e.g. each campaign), each natural `key` once. Such a stream is landed by replacing what the read covers,
    not by upserting: no unique index to check per row (the landing still drops a key repeated in a batch)."""

    time: str
    scope: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class RawStream:
    """A landing table and how one record becomes one row of it (upserted on the table's primary key, or, for a
    stream with a `cover`, replacing what the read covers)."""

    source: str
    stream: str
    table: Table
    to_row: Callable[[Record], dict[str, Any]]
    key_of: Callable[[Record], str]
    day_of: Callable[[dict[str, Any]], dt.date]
    cover: Cover | None = None


def prepare(stream: RawStream, records: Iterable[Record]) -> Prepared:
    """Convert a page of records; each bad one is kept with its reason, never dropped."""
    out = Prepared()
    for record in records:
        try:
            row = stream.to_row(record)
        except (BadRecord, KeyError, TypeError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, BadRecord) else f"{type(exc).__name__}: {exc}"
            out.bad.append((_safe_key(stream, record), reason, scrub(record)))
            continue
        out.rows.append(row)
        out.days.append(stream.day_of(row))
    return out


def scrub(record: Record) -> dict[str, Any]:
    """The record with every email address replaced by its SHA-256: quarantine keeps no address."""
    return {k: (f"<email sha256:{hashlib.sha256(v.lower().encode()).hexdigest()}>"
                if isinstance(v, str) and EMAIL.search(v) else v) for k, v in record.items()}


def _safe_key(stream: RawStream, record: Record) -> str:
    try:
        return stream.key_of(record)
    except (KeyError, TypeError, ValueError):
        return row_key(*sorted(map(str, record.items())))


def _utc_naive(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise BadRecord(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is dt.UTC:
        return value.replace(tzinfo=None)
    if value.tzinfo is None:
        raise BadRecord(f"{name} {value.isoformat()} has no timezone; connectors must send UTC times")
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _count(record: Record, name: str, *, whole: bool) -> float:
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
        raise BadRecord(f"{name} must be a number ≥ 0, got {value!r}")
    if whole and value != int(value):
        raise BadRecord(f"{name} must be a whole number, got {value!r}")
    return int(value) if whole else float(value)


def _choice(record: Record, name: str, allowed: tuple[str, ...]) -> str:
    value = record[name]
    if value not in allowed:
        raise BadRecord(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _ga4_row(r: Record) -> dict[str, Any]:
    if not isinstance(r["date"], dt.date):
        raise BadRecord(f"date must be a date, got {r['date']!r}")
    dims = {d: str(r[d]) for d in GA4_DIMENSIONS}
    return {"property_id": str(r["property_id"]), "report": _choice(r, "report", GA4_REPORTS), "date": r["date"],
            "row_key": row_key(*dims.values()), **dims,
            **{m: _count(r, m, whole=True) for m in GA4_COUNTS},
            **{m: _count(r, m, whole=False) for m in GA4_AMOUNTS}}


def _account(r: Record) -> str:
    account = str(r["account"]).strip()
    if not account:
        raise BadRecord("account is empty; every email and sales row belongs to an account")
    return account


def _campaign_row(r: Record) -> dict[str, Any]:
    send = r.get("send_time")
    return {"account": _account(r), "campaign_id": str(r["campaign_id"]), "title": str(r["title"]),
            "kind": _choice(r, "kind", ("regular", "automation")), "list_id": str(r["list_id"]),
            "workflow_id": str(r["workflow_id"]), "workflow_title": str(r["workflow_title"]),
            "position": int(_count(r, "position", whole=True)),
            "send_time": None if send is None else _utc_naive(send, "send_time")}


def _activity_row(r: Record) -> dict[str, Any]:
    return {"account": _account(r), "campaign_id": str(r["campaign_id"]), "email_hash": _hash(r["email_hash"]),
            "action": _choice(r, "action", MAILCHIMP_ACTIONS), "timestamp": _utc_naive(r["timestamp"], "timestamp")}


def _report_row(r: Record) -> dict[str, Any]:
    if not isinstance(r["taken_on"], dt.date):
        raise BadRecord(f"taken_on must be a date, got {r['taken_on']!r}")
    return {"account": _account(r), "campaign_id": str(r["campaign_id"]), "taken_on": r["taken_on"],
            **{m: int(_count(r, m, whole=True)) for m in ("emails_sent", "unique_opens", "unique_clicks",
                                                           "hard_bounces", "unsubscribed")}}


def _hash(value: Any) -> str:
    text = str(value)
    if len(text) != 64 or text.strip(_HEX):  # 64 lower-case hex digits (strip leaves "" when all are)
        raise BadRecord("email_hash is not a SHA-256 hex digest; addresses must be hashed before storage")
    return text


def _checkout_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    if r["amount_total"] is None:
        raise BadRecord("amount_total is null (Stripe sends null before line items are known); not summed")
    customer = str(r["customer_hash"])
    expires = r.get("expires_at")
    return {"account": _account(r), "session_id": str(r["session_id"]),
            "created": _utc_naive(r["created"], "created"),
            "expires_at": None if expires is None else _utc_naive(expires, "expires_at"),
            "payment_intent": str(r.get("payment_intent") or ""),
            "status": _choice(r, "status", STRIPE_STATUSES), "payment_status": str(r["payment_status"]),
            "mode": _choice(r, "mode", ("payment", "subscription", "setup")),
            "amount_total": int(_count(r, "amount_total", whole=True)), "currency": currency,
            "product_id": str(r["product_id"]), "product_name": str(r["product_name"]),
            "customer_hash": _hash(customer) if customer else ""}


def _survey_row(r: Record) -> dict[str, Any]:
    score = _count(r, "score", whole=True)
    if score > 10:
        raise BadRecord(f"score {r['score']!r} is not a score from 0 to 10")
    comment = str(r.get("comment") or "")
    if EMAIL.search(comment):
        raise BadRecord("comment holds an email address; connectors must strip PII before storage")
    return {"survey": str(r["survey"]), "response_id": str(r["response_id"]),
            "submitted": _utc_naive(r["submitted"], "submitted"), "score": int(score),
            "stage": str(r.get("stage") or ""), "touchpoint": str(r.get("touchpoint") or ""), "comment": comment,
            "persona": str(r.get("persona") or "")}


def _subscription_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    canceled = r.get("canceled_at")
    return {"account": _account(r), "subscription_id": str(r["subscription_id"]),
            "created": _utc_naive(r["created"], "created"), "status": str(r["status"]), "customer": str(r["customer"]),
            "product_id": str(r["product_id"]), "amount": int(_count(r, "amount", whole=True)), "currency": currency,
            "interval": str(r["interval"]),
            "canceled_at": None if canceled is None else _utc_naive(canceled, "canceled_at")}


def _growth_row(r: Record) -> dict[str, Any]:
    month = str(r["month"])
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise BadRecord(f"month {month!r} is not YYYY-MM")
    return {"account": _account(r), "list_id": str(r["list_id"]), "month": month, "list_name": str(r["list_name"]),
            **{f: int(_count(r, f, whole=True)) for f in ("existing", "imports", "optins", "subscribed",
                                                           "unsubscribed", "cleaned")}}


def _refund_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    return {"account": _account(r), "refund_id": str(r["refund_id"]), "created": _utc_naive(r["created"], "created"),
            "status": str(r["status"]), "amount": int(_count(r, "amount", whole=True)), "currency": currency,
            "payment_intent": str(r["payment_intent"]), "reason": str(r["reason"])}


PAYMENT_INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing",
                           "requires_capture", "canceled", "succeeded")


def _payment_intent_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    canceled = r["canceled_at"]
    return {"account": _account(r), "payment_intent_id": str(r["payment_intent_id"]),
            "created": _utc_naive(r["created"], "created"), "status": _choice(r, "status", PAYMENT_INTENT_STATUSES),
            "amount": int(_count(r, "amount", whole=True)),
            "amount_received": int(_count(r, "amount_received", whole=True)), "currency": currency,
            "customer": str(r["customer"]), "failure_code": str(r["failure_code"]),
            "decline_code": str(r["decline_code"]),
            "canceled_at": None if canceled is None else _utc_naive(canceled, "canceled_at")}


def _day(name: str) -> Callable[[dict[str, Any]], dt.date]:
    def day_of(row: dict[str, Any]) -> dt.date:
        value = row[name]
        return value.date() if isinstance(value, dt.datetime) else dt.date.fromordinal(value.toordinal())
    return day_of


def _no_day(_row: dict[str, Any]) -> dt.date:
    return dt.date.min


GA4_ROWS = RawStream("ga4", "rows", table_of(Ga4Row), _ga4_row,
                     lambda r: f"{r['report']}|{r['date']}|{r['item']}", _day("date"))
MAILCHIMP_CAMPAIGNS = RawStream("mailchimp", "campaigns", table_of(MailchimpCampaign),
                                _campaign_row, lambda r: str(r["campaign_id"]), _no_day)
MAILCHIMP_ACTIVITY = RawStream("mailchimp", "activity", table_of(MailchimpActivity),
                               _activity_row, lambda r: f"{r['campaign_id']}|{r['action']}|{r['timestamp']}",
                               _day("timestamp"), Cover("timestamp", "campaign_id",
                                                        ("campaign_id", "email_hash", "action", "timestamp")))
MAILCHIMP_REPORTS = RawStream("mailchimp", "reports", table_of(MailchimpReport), _report_row,
                              lambda r: f"{r['campaign_id']}|{r['taken_on']}", _day("taken_on"))
STRIPE_CHECKOUTS = RawStream("stripe", "checkout_sessions", table_of(StripeCheckoutSession),
                             _checkout_row, lambda r: str(r["session_id"]), _day("created"))
SURVEY_RESPONSES = RawStream("surveys", "responses", table_of(SurveyResponseRow), _survey_row,
                             lambda r: f"{r['survey']}|{r['response_id']}", _day("submitted"))
STRIPE_SUBSCRIPTIONS = RawStream("stripe", "subscriptions", table_of(StripeSubscription), _subscription_row,
                                 lambda r: str(r["subscription_id"]), _no_day)
MAILCHIMP_LIST_GROWTH = RawStream("mailchimp", "list_growth", table_of(MailchimpListGrowth), _growth_row,
                                  lambda r: f"{r['list_id']}|{r['month']}", _no_day)
STRIPE_REFUNDS = RawStream("stripe", "refunds", table_of(StripeRefund), _refund_row, lambda r: str(r["refund_id"]),
                           _day("created"))
STRIPE_PAYMENT_INTENTS = RawStream("stripe", "payment_intents", table_of(StripePaymentIntent), _payment_intent_row,
                                   lambda r: str(r["payment_intent_id"]), _day("created"))

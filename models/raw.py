"""The raw landing streams: what each source's records become as rows of its landing table, and which checks
they pass first (records that fail go to the quarantine; see `models.rows`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from models.rows import (
    EMAIL,
    BadRecord,
    Cover,
    RawStream,
    Record,
    account,
    account_of,
    choice,
    day_of,
    naive_utc,
    no_day,
    number,
    one_of,
    sha256_hex,
)
from models.store import row_key
from models.tables import (
    Ga4Row,
    MailchimpActivity,
    MailchimpCampaign,
    MailchimpListGrowth,
    MailchimpReport,
    SearchConsoleRow,
    StripeCheckoutSession,
    StripePaymentIntent,
    StripeRefund,
    StripeSubscription,
    SurveyResponseRow,
    table_of,
)

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


def _ga4_row(r: Record) -> dict[str, Any]:
    if not isinstance(r["date"], dt.date):
        raise BadRecord(f"date must be a date, got {r['date']!r}")
    dims = {d: str(r[d]) for d in GA4_DIMENSIONS}
    return {"property_id": str(r["property_id"]), "report": choice(r, "report", GA4_REPORTS), "date": r["date"],
            "row_key": row_key(*dims.values()), **dims,
            **{m: number(r, m, whole=True) for m in GA4_COUNTS},
            **{m: number(r, m, whole=False) for m in GA4_AMOUNTS}}


SEARCH_REPORTS = ("pages", "queries")
SEARCH_FIELDS = ("report", "date", "page", "query", "device", "country", "clicks", "impressions", "position_sum",
                 "final")
SEARCH_COLUMNS = ("site_url", "report", "date", "row_key", "page", "query", "device", "country", "clicks",
                  "impressions", "position_sum", "final")


def _search_values(site_url: str, report: Any, date: Any, page: Any, query: Any, device: Any, country: Any,
                   clicks: Any, impressions: Any, position_sum: Any, final: Any) -> tuple[Any, ...]:
    """The checks of a Search Console row but the property's (checked once per batch in the bulk shape)."""
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise BadRecord(f"date must be a date, got {date!r}")
    if not isinstance(final, bool):
        raise BadRecord(f"final must be true or false, got {final!r}")
    counts = {"clicks": clicks, "impressions": impressions, "position_sum": position_sum}
    clicks, impressions = (int(number(counts, m, whole=True)) for m in ("clicks", "impressions"))
    weighted = float(number(counts, "position_sum", whole=False))
    if clicks > impressions:
        raise BadRecord(f"clicks {clicks} exceed impressions {impressions}")
    if weighted < impressions * (1 - 1e-9):  # every impression's position is 1 (the top) or lower down
        raise BadRecord(f"position_sum {weighted!r} is under impressions {impressions} (a position is ≥ 1)")
    dims = tuple(str(v) for v in (page, query, device, country))
    return (site_url, one_of(report, "report", SEARCH_REPORTS), date, row_key(*dims), *dims, clicks, impressions,
            weighted, final)


def _search_row(r: Record) -> dict[str, Any]:
    return dict(zip(SEARCH_COLUMNS, _search_values(account_of(r["site_url"]), *(r[c] for c in SEARCH_FIELDS)),
                    strict=True))


def _campaign_row(r: Record) -> dict[str, Any]:
    send = r.get("send_time")
    return {"account": account(r), "campaign_id": str(r["campaign_id"]), "title": str(r["title"]),
            "kind": choice(r, "kind", ("regular", "automation")), "list_id": str(r["list_id"]),
            "workflow_id": str(r["workflow_id"]), "workflow_title": str(r["workflow_title"]),
            "position": int(number(r, "position", whole=True)),
            "send_time": None if send is None else naive_utc(send, "send_time"),
            "web_id": int(r.get("web_id") or 0)}


ACTIVITY_FIELDS = ("campaign_id", "email_hash", "action", "timestamp")
ACTIVITY_COLUMNS = ("account", *ACTIVITY_FIELDS)


def _activity_values(account: str, campaign_id: Any, email_hash: Any, action: Any, timestamp: Any,
                     ) -> tuple[str, str, str, str, dt.datetime]:
    """The checks of an activity row but the account's (checked once per batch in the bulk shape)."""
    return (account, str(campaign_id), sha256_hex(email_hash), one_of(action, "action", MAILCHIMP_ACTIONS),
            naive_utc(timestamp, "timestamp"))


def _activity_row(r: Record) -> dict[str, Any]:
    return dict(zip(ACTIVITY_COLUMNS, _activity_values(account(r), *(r[c] for c in ACTIVITY_FIELDS)), strict=True))


def _report_row(r: Record) -> dict[str, Any]:
    if not isinstance(r["taken_on"], dt.date):
        raise BadRecord(f"taken_on must be a date, got {r['taken_on']!r}")
    return {"account": account(r), "campaign_id": str(r["campaign_id"]), "taken_on": r["taken_on"],
            **{m: int(number(r, m, whole=True)) for m in ("emails_sent", "unique_opens", "unique_clicks",
                                                           "hard_bounces", "unsubscribed")}}


def _checkout_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    if r["amount_total"] is None:
        raise BadRecord("amount_total is null (Stripe sends null before line items are known); not summed")
    customer = str(r["customer_hash"])
    expires = r.get("expires_at")
    return {"account": account(r), "session_id": str(r["session_id"]),
            "created": naive_utc(r["created"], "created"),
            "expires_at": None if expires is None else naive_utc(expires, "expires_at"),
            "payment_intent": str(r.get("payment_intent") or ""),
            "status": choice(r, "status", STRIPE_STATUSES), "payment_status": str(r["payment_status"]),
            "mode": choice(r, "mode", ("payment", "subscription", "setup")),
            "amount_total": int(number(r, "amount_total", whole=True)), "currency": currency,
            "product_id": str(r["product_id"]), "product_name": str(r["product_name"]),
            "customer_hash": sha256_hex(customer) if customer else ""}


def _survey_row(r: Record) -> dict[str, Any]:
    score = number(r, "score", whole=True)
    if score > 10:
        raise BadRecord(f"score {r['score']!r} is not a score from 0 to 10")
    comment = str(r.get("comment") or "")
    if EMAIL.search(comment):
        raise BadRecord("comment holds an email address; connectors must strip PII before storage")
    return {"survey": str(r["survey"]), "response_id": str(r["response_id"]),
            "submitted": naive_utc(r["submitted"], "submitted"), "score": int(score),
            "stage": str(r.get("stage") or ""), "touchpoint": str(r.get("touchpoint") or ""), "comment": comment,
            "persona": str(r.get("persona") or "")}


def _subscription_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    canceled = r.get("canceled_at")
    return {"account": account(r), "subscription_id": str(r["subscription_id"]),
            "created": naive_utc(r["created"], "created"), "status": str(r["status"]), "customer": str(r["customer"]),
            "product_id": str(r["product_id"]), "amount": int(number(r, "amount", whole=True)), "currency": currency,
            "interval": str(r["interval"]),
            "canceled_at": None if canceled is None else naive_utc(canceled, "canceled_at")}


def _growth_row(r: Record) -> dict[str, Any]:
    month = str(r["month"])
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise BadRecord(f"month {month!r} is not YYYY-MM")
    return {"account": account(r), "list_id": str(r["list_id"]), "month": month, "list_name": str(r["list_name"]),
            **{f: int(number(r, f, whole=True)) for f in ("existing", "imports", "optins", "subscribed",
                                                           "unsubscribed", "cleaned")}}


def _refund_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    return {"account": account(r), "refund_id": str(r["refund_id"]), "created": naive_utc(r["created"], "created"),
            "status": str(r["status"]), "amount": int(number(r, "amount", whole=True)), "currency": currency,
            "payment_intent": str(r["payment_intent"]), "reason": str(r["reason"])}


PAYMENT_INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing",
                           "requires_capture", "canceled", "succeeded")


def _payment_intent_row(r: Record) -> dict[str, Any]:
    currency = str(r["currency"]).lower()
    if currency not in CURRENCIES:
        raise BadRecord(f"currency {r['currency']!r} is not a currency Stripe charges in (ISO 4217, e.g. gbp)")
    canceled = r["canceled_at"]
    return {"account": account(r), "payment_intent_id": str(r["payment_intent_id"]),
            "created": naive_utc(r["created"], "created"), "status": choice(r, "status", PAYMENT_INTENT_STATUSES),
            "amount": int(number(r, "amount", whole=True)),
            "amount_received": int(number(r, "amount_received", whole=True)), "currency": currency,
            "customer": str(r["customer"]), "failure_code": str(r["failure_code"]),
            "decline_code": str(r["decline_code"]),
            "canceled_at": None if canceled is None else naive_utc(canceled, "canceled_at")}


GA4_ROWS = RawStream("ga4", "rows", table_of(Ga4Row), _ga4_row,
                     lambda r: f"{r['report']}|{r['date']}|{r['item']}", day_of("date"))
# a read of a property's days replaces them whole: a day still settling ends equal to Search Console's final numbers,
# and a row it no longer reports goes
SEARCH_CONSOLE_ROWS = RawStream("search_console", "rows", table_of(SearchConsoleRow), _search_row,
                                lambda r: f"{r['report']}|{r['date']}|{r['page']}|{r['query']}", day_of("date"),
                                Cover("date", "report", ("report", "date", "row_key"), SEARCH_FIELDS, _search_values,
                                      account="site_url"))
assert tuple(c.name for c in SEARCH_CONSOLE_ROWS.table.columns) == SEARCH_COLUMNS  # the bulk shape's order
MAILCHIMP_CAMPAIGNS = RawStream("mailchimp", "campaigns", table_of(MailchimpCampaign),
                                _campaign_row, lambda r: str(r["campaign_id"]), no_day)
MAILCHIMP_ACTIVITY = RawStream("mailchimp", "activity", table_of(MailchimpActivity),
                               _activity_row, lambda r: f"{r['campaign_id']}|{r['action']}|{r['timestamp']}",
                               day_of("timestamp"), Cover("timestamp", "campaign_id", ACTIVITY_FIELDS,
                                                        ACTIVITY_FIELDS, _activity_values))
assert tuple(c.name for c in MAILCHIMP_ACTIVITY.table.columns) == ACTIVITY_COLUMNS  # the bulk shape's order
MAILCHIMP_REPORTS = RawStream("mailchimp", "reports", table_of(MailchimpReport), _report_row,
                              lambda r: f"{r['campaign_id']}|{r['taken_on']}", day_of("taken_on"))
STRIPE_CHECKOUTS = RawStream("stripe", "checkout_sessions", table_of(StripeCheckoutSession),
                             _checkout_row, lambda r: str(r["session_id"]), day_of("created"))
SURVEY_RESPONSES = RawStream("surveys", "responses", table_of(SurveyResponseRow), _survey_row,
                             lambda r: f"{r['survey']}|{r['response_id']}", day_of("submitted"))
STRIPE_SUBSCRIPTIONS = RawStream("stripe", "subscriptions", table_of(StripeSubscription), _subscription_row,
                                 lambda r: str(r["subscription_id"]), no_day)
MAILCHIMP_LIST_GROWTH = RawStream("mailchimp", "list_growth", table_of(MailchimpListGrowth), _growth_row,
                                  lambda r: f"{r['list_id']}|{r['month']}", no_day)
STRIPE_REFUNDS = RawStream("stripe", "refunds", table_of(StripeRefund), _refund_row, lambda r: str(r["refund_id"]),
                           day_of("created"))
STRIPE_PAYMENT_INTENTS = RawStream("stripe", "payment_intents", table_of(StripePaymentIntent), _payment_intent_row,
                                   lambda r: str(r["payment_intent_id"]), day_of("created"))

STREAMS: dict[tuple[str, str], RawStream] = {(s.source, s.stream): s for s in (
    GA4_ROWS, SEARCH_CONSOLE_ROWS, MAILCHIMP_CAMPAIGNS, MAILCHIMP_ACTIVITY, MAILCHIMP_REPORTS, MAILCHIMP_LIST_GROWTH,
    STRIPE_CHECKOUTS, STRIPE_SUBSCRIPTIONS, STRIPE_REFUNDS, STRIPE_PAYMENT_INTENTS, SURVEY_RESPONSES)}


def stream(source: str, name: str) -> RawStream:
    """The landing stream `name` of `source` (as a source declares it in models.sources)."""
    return STREAMS[(source, name)]

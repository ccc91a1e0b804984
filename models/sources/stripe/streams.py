"""Stripe's landing streams: what its records become as rows of its tables, and which checks they pass
first (records that fail go to the quarantine; see `models.sync.rows`)."""

from __future__ import annotations

from typing import Any

from models.sources.stripe.tables import StripeCheckoutSession, StripePaymentIntent, StripeRefund, StripeSubscription
from models.sync.rows import (
    BadRecord,
    RawStream,
    Record,
    account,
    choice,
    day_of,
    naive_utc,
    no_day,
    number,
    sha256_hex,
)
from models.tables import table_of

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

STRIPE_CHECKOUTS = RawStream("stripe", "checkout_sessions", table_of(StripeCheckoutSession),
                             _checkout_row, lambda r: str(r["session_id"]), day_of("created"))

STRIPE_SUBSCRIPTIONS = RawStream("stripe", "subscriptions", table_of(StripeSubscription), _subscription_row,
                                 lambda r: str(r["subscription_id"]), no_day)

STRIPE_REFUNDS = RawStream("stripe", "refunds", table_of(StripeRefund), _refund_row, lambda r: str(r["refund_id"]),
                           day_of("created"))

STRIPE_PAYMENT_INTENTS = RawStream("stripe", "payment_intents", table_of(StripePaymentIntent), _payment_intent_row,
                                   lambda r: str(r["payment_intent_id"]), day_of("created"))

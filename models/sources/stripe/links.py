"""A Stripe touchpoint's own page in the Stripe Dashboard (an alert's link)."""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy import Connection, select

from models.config import Touchpoint
from models.sources.stripe.tables import StripeCheckoutSession
from models.tables import table_of


def link_context(conn: Connection, known: str | None) -> str | None:
    """The Stripe account to link: STRIPE_ACCOUNT_ID when set, else the first real account of the stored
    checkouts (the demo's rows are no account)."""
    if known:
        return known
    table = table_of(StripeCheckoutSession)
    found = conn.execute(select(table.c.account).where(table.c.account.like("acct_%"))
                         .order_by(table.c.account).limit(1)).scalar()
    return str(found) if found else None


def link(tp: Touchpoint, account: str) -> tuple[str, str] | None:
    """(label, URL): the product's page when the rule names a product id, else the account's payments."""
    base = f"https://dashboard.stripe.com/{quote(account)}"
    product = str(tp.match.get("product") or "")
    if re.fullmatch(r"prod_[A-Za-z0-9]+", product):
        return ("Stripe product", f"{base}/products/{product}")
    return ("Stripe payments", f"{base}/payments")

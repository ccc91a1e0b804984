"""The accounts an alert's source links need, from the settings and the warehouse (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from pydantic import SecretStr
from sqlalchemy import Engine, insert

from flows.notify import alert_accounts, links_for
from flows.settings import Settings
from models.sources.mailchimp.links import Campaign, MailchimpLinks
from models.sources.mailchimp.tables import MailchimpCampaign
from models.sources.stripe.tables import StripeCheckoutSession
from models.tables import table_of


def session(account: str, session_id: str) -> dict[str, object]:
    return {"account": account, "session_id": session_id, "created": dt.datetime(2026, 9, 1), "status": "complete",
            "payment_status": "paid", "mode": "payment", "amount_total": 100, "currency": "gbp",
            "product_id": "prod_1", "product_name": "Course", "customer_hash": "h", "expires_at": None,
            "payment_intent": ""}


def test_the_accounts_come_from_the_settings_and_the_warehouses_stripe_checkouts(engine: Engine) -> None:
    settings = Settings(ga4_property_id="123", mailchimp_api_key=SecretStr("abc-us6"))
    assert alert_accounts(engine, settings) == {"ga4": "123", "mailchimp": MailchimpLinks("us6")}  # no Stripe link yet
    with engine.begin() as conn:
        conn.execute(insert(table_of(StripeCheckoutSession)), [session("demo", "cs_0"), session("acct_9Z", "cs_1")])
    assert alert_accounts(engine, settings)["stripe"] == "acct_9Z"  # the demo's rows are no account
    named = Settings(stripe_account_id="acct_1Abc")
    assert alert_accounts(engine, named) == {"stripe": "acct_1Abc"}  # the setting wins
    with engine.begin() as conn:
        conn.execute(insert(table_of(MailchimpCampaign)), [
            {"account": "a1", "campaign_id": c, "title": t, "kind": "regular", "list_id": "l1", "workflow_id": "",
             "workflow_title": "", "position": 0, "send_time": dt.datetime(2026, 9, d, 8), "web_id": w}
            for c, t, d, w in (("c1", "Weekly #12", 14, 112), ("c0", "Old", 1, 0))])
    with_key = Settings(stripe_account_id="acct_1Abc", mailchimp_api_key=SecretStr("abc-us6"))
    assert alert_accounts(engine, with_key)["mailchimp"].campaigns == (  # a campaign without a web id links nothing
        Campaign("Weekly #12", "", 0, 112, "2026-09-14 08:00:00"),)


def test_the_map_button_opens_the_published_map_or_the_runs_artifacts() -> None:
    published = links_for(None, None, None, map_url="https://maps.example/m.html")("course|cart|all|drop")
    assert published.map == "https://maps.example/m.html"
    in_ui = links_for("http://ui.example/", "run-1", "dep-1")("course|cart|all|drop")
    assert in_ui.map == "http://ui.example/runs/flow-run/run-1?tab=Artifacts"
    assert links_for(None, None, None)("k").map is None  # nowhere to point: no button

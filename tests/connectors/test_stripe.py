"""The Stripe connector against the fake Stripe API, through the official `stripe` library."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from connectors.errors import NotConfigured, PermanentError, RetryPolicy, TransientError
from connectors.paging import PagingLoop
from connectors.pii import EmailHasher
from connectors.stripe import (
    SPEC,
    account_id,
    make_client,
    open_stripe,
    read_checkout_sessions,
    read_payment_intents,
    read_refunds,
    read_subscriptions,
    to_record,
)
from flows.settings import Settings
from models.config import SourceSettings
from tests.fakes.stripe_api import FakeStripe

DAY = dt.date(2026, 9, 14)
FAST = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def test_sessions_are_read_day_by_day_with_paging_products_and_hashed_customers() -> None:
    with FakeStripe() as fake:
        for i in range(250):
            fake.add_session(created=at(DAY, 9) + dt.timedelta(seconds=i), customer_email=f"Buyer{i}@Example.com",
                             status="complete" if i % 3 else "expired")
        fake.add_session(created=at(DAY + dt.timedelta(days=1), 10), product_id="prod_club",
                         product_name="Bakers' Club", mode="subscription", customer_email=None)
        fake.add_session(created=at(DAY + dt.timedelta(days=3), 10))  # outside the window
        client = make_client(fake.api_key, fake.url)
        pages = list(read_checkout_sessions(client, DAY, DAY + dt.timedelta(days=1), salt="s", policy=FAST))
        requested = [r for r in fake.requests if r.path == "/v1/checkout/sessions"]
    assert [len(p) for p in pages] == [100, 100, 50, 1]
    assert len(requested) == 4
    assert all(r.stripe_version == "2026-02-25.clover" for r in requested)
    records = [r for p in pages for r in p]
    assert len({r.session_id for r in records}) == 251
    first = next(r for r in records if r.created == at(DAY, 9))
    assert first.customer_hash == hashlib.sha256(b"s:buyer0@example.com").hexdigest()
    assert (first.product_id, first.product_name, first.currency) == ("prod_course", "Sourdough Masterclass", "gbp")
    assert first.expires_at == at(DAY, 9) + dt.timedelta(hours=24)
    club = records[-1]
    assert (club.product_name, club.mode, club.customer_hash) == ("Bakers' Club", "subscription", "")
    assert "example.com" not in repr(records).lower()  # no address leaves the connector


def test_429_and_5xx_are_retried_honouring_retry_after() -> None:
    with FakeStripe() as fake:
        fake.add_session(created=at(DAY, 9))
        fake.fail_next(1, 429, retry_after=1)
        fake.fail_next(1, 503)
        waits: list[float] = []
        client = make_client(fake.api_key, fake.url)
        pages = list(read_checkout_sessions(client, DAY, DAY, salt="s", policy=RetryPolicy(3, 0.01, 2.0),
                                            on_retry=lambda n, e, w: waits.append(w)))
    assert [len(p) for p in pages] == [1]
    assert len(waits) == 2
    assert 1.0 <= waits[0] <= 1.1  # the server's Retry-After in full (plus up to 10 % of jitter), not the backoff
    assert waits[1] < 0.05


def test_a_server_that_keeps_failing_is_a_transient_error_after_the_attempts() -> None:
    with FakeStripe() as fake:
        fake.fail_next(5, 500)
        client = make_client(fake.api_key, fake.url)
        with pytest.raises(TransientError, match="Stripe server error"):
            list(read_checkout_sessions(client, DAY, DAY, salt="s", policy=FAST))
        assert len(fake.requests) == FAST.attempts


def test_a_wrong_key_is_permanent_and_names_the_fix() -> None:
    with FakeStripe(api_key="sk_test_right") as fake:
        client = make_client("sk_test_wrong", fake.url)
        with pytest.raises(PermanentError, match="STRIPE_API_KEY"):
            account_id(client, policy=FAST)
        assert len(fake.requests) == 1  # not retried
        assert account_id(make_client("sk_test_right", fake.url), policy=FAST) == fake.account_id
    with pytest.raises(PermanentError, match="publishable"):
        make_client("pk_test_123")


def test_a_status_change_is_seen_when_the_day_is_read_again() -> None:
    with FakeStripe() as fake:
        session = fake.add_session(created=at(DAY, 9), status="open")
        client = make_client(fake.api_key, fake.url)
        before = [r.status for p in read_checkout_sessions(client, DAY, DAY, salt="s", policy=FAST) for r in p]
        fake.set_status(session["id"], "expired")
        after = [r.status for p in read_checkout_sessions(client, DAY, DAY, salt="s", policy=FAST) for r in p]
    assert (before, after) == (["open"], ["expired"])


def test_every_subscription_is_read_with_its_cancellation_whatever_its_status() -> None:
    with FakeStripe() as fake:
        for i in range(130):
            fake.add_subscription(created=at(DAY, 9) + dt.timedelta(minutes=i), unit_amount=900, quantity=2,
                                  status="canceled" if i % 10 == 0 else "active",
                                  canceled_at=at(DAY + dt.timedelta(days=5), 12) if i % 10 == 0 else None)
        client = make_client(fake.api_key, fake.url)
        pages = list(read_subscriptions(client, policy=FAST))
    subs = [s for p in pages for s in p]
    assert [len(p) for p in pages] == [100, 30]
    assert sum(s.status == "canceled" for s in subs) == 13
    churned = next(s for s in subs if s.status == "canceled")
    assert churned.canceled_at == at(DAY + dt.timedelta(days=5), 12)
    assert (churned.product_id, churned.amount, churned.currency, churned.interval) == ("prod_club", 1800, "gbp",
                                                                                       "month")


def test_refunds_by_day_point_at_the_payment_of_their_checkout() -> None:
    with FakeStripe() as fake:
        paid = fake.add_session(created=at(DAY, 9), status="complete")
        fake.add_refund(created=at(DAY + dt.timedelta(days=2), 10), amount=4900,
                        payment_intent=paid["payment_intent"])
        fake.add_refund(created=at(DAY + dt.timedelta(days=9), 10), payment_intent=paid["payment_intent"])
        client = make_client(fake.api_key, fake.url)
        sessions = [r for p in read_checkout_sessions(client, DAY, DAY, salt="s", policy=FAST) for r in p]
        refunds = [r for p in read_refunds(client, DAY, DAY + dt.timedelta(days=3), policy=FAST) for r in p]
    assert sessions[0].payment_intent == paid["payment_intent"] != ""
    assert [(r.amount, r.currency, r.status, r.payment_intent) for r in refunds] == \
        [(4900, "gbp", "succeeded", paid["payment_intent"])]


def test_a_session_without_its_creation_time_is_refused_not_dated_at_random() -> None:
    with pytest.raises(ValueError, match="created is missing"):
        to_record({"id": "cs_x", "status": "open", "currency": "gbp", "amount_total": 100}, "s")


def test_payment_intents_by_day_with_the_failure_of_their_last_attempt() -> None:
    with FakeStripe() as fake:
        session = fake.add_session(created=at(DAY, 9), status="open")
        declined = fake.add_payment_intent(created=at(DAY, 9, 5), status="requires_payment_method",
                                           failure_code="card_declined", decline_code="insufficient_funds",
                                           session_id=session["id"], customer="cus_test_1")
        for minute in range(5):
            fake.add_payment_intent(created=at(DAY, 10, minute), amount=900)
        fake.add_payment_intent(created=at(DAY + dt.timedelta(days=1), 10))  # the next day: outside the window
        client = make_client(fake.api_key, fake.url)
        pages = list(read_payment_intents(client, DAY, DAY, page_size=2, policy=FAST))
        sessions = [r for p in read_checkout_sessions(client, DAY, DAY, salt="s", policy=FAST) for r in p]
    intents = [r for p in pages for r in p]
    assert (len(pages), len(intents)) == (3, 6)
    failed = next(i for i in intents if i.payment_intent_id == declined["id"])
    assert (failed.status, failed.failure_code, failed.decline_code, failed.amount_received, failed.customer) == \
        ("requires_payment_method", "card_declined", "insufficient_funds", 0, "cus_test_1")
    assert sessions[0].payment_intent == declined["id"]  # the checkout that made it
    assert sorted((i.status, i.amount_received, i.failure_code) for i in intents if i is not failed) == \
        [("succeeded", 900, "")] * 5


def test_a_server_that_ignores_the_cursor_stops_the_read_instead_of_looping() -> None:
    with FakeStripe() as fake:
        for i in range(150):
            fake.add_session(created=at(DAY, 9) + dt.timedelta(seconds=i))
        fake.ignore_cursors = True
        client = make_client(fake.api_key, fake.url)
        pages = read_checkout_sessions(client, DAY, DAY, salt="s", policy=FAST)
        first = next(pages)
        with pytest.raises(PagingLoop, match=r"Stripe checkout sessions: the page at 'cs_test_\w+' repeats the page"):
            next(pages)
        requested = [r for r in fake.requests if r.path == "/v1/checkout/sessions"]
    assert len(first) == 100
    assert len(requested) == 2  # the first page, and the same page again: then it stops


def settings_for(fake: FakeStripe, account: str | None = None) -> Settings:
    return Settings(stripe_api_key=fake.api_key, stripe_api_base=fake.url, stripe_account_id=account)


def test_open_names_the_missing_key_and_asks_stripe_nothing() -> None:
    with pytest.raises(NotConfigured, match=r"STRIPE_API_KEY is not set; set it to a secret or restricted key "
                                            r"\(Stripe Dashboard › Developers › API keys\), or run with --demo"):
        open_stripe(Settings(stripe_api_key=None), SourceSettings())
    with pytest.raises(PermanentError, match="STRIPE_API_KEY is not a secret key"):
        open_stripe(Settings(stripe_api_key="pk_test_x"), SourceSettings())
    assert SPEC.open is open_stripe
    with FakeStripe() as fake:
        readers = SPEC.open(settings_for(fake), SourceSettings(page_size=5000), None)
        assert fake.requests == []  # the account is asked for when the sync wants it
        assert readers.page_size == 100  # Stripe's largest page
        assert readers.account() == (fake.account_id, "")
        assert [r.path for r in fake.requests] == ["/v1/account"]


def test_the_account_is_the_setting_else_stripes_else_one_guessed_from_the_key_with_the_fix() -> None:
    with FakeStripe() as fake:
        assert open_stripe(settings_for(fake, " acct_Named "), SourceSettings()).account() == ("acct_Named", "")
        assert fake.requests == []
        fake.disable("account")
        account, warning = open_stripe(settings_for(fake), SourceSettings()).account()
    assert account == "key_" + hashlib.sha256(fake.api_key.encode()).hexdigest()[:16]
    assert warning.startswith(f"Stripe did not say which account the key belongs to; its rows are stored under "
                              f"{account}. Set STRIPE_ACCOUNT_ID")


def test_the_sessions_reader_hashes_customers_with_the_runs_hasher_as_with_its_salt() -> None:
    with FakeStripe() as fake:
        fake.add_session(created=at(DAY, 9), customer_email="Buyer@Example.com")
        reader = open_stripe(settings_for(fake), SourceSettings()).checkout_sessions(EmailHasher("s"))
        records = [r for p in reader(DAY, DAY) for r in p]
    assert [r.customer_hash for r in records] == [hashlib.sha256(b"s:buyer@example.com").hexdigest()]


def test_the_demo_reads_checkout_sessions() -> None:
    assert SPEC.demo is not None
    assert list(SPEC.demo(None)) == ["checkout_sessions"]

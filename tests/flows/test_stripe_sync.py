"""Stripe end to end: `journeymap run --sources stripe` against the fake Stripe API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import example_map_with, journeymap
from tests.fakes.stripe_api import FakeStripe

AS_OF = dt.date(2026, 9, 30)
PRODUCTS = [("prod_course", "Sourdough Masterclass", 4900), ("prod_club", "Bakers' Club", 900),
            ("prod_other", "Gift card", 2500)]


@pytest.fixture
def stripe_map(tmp_path: Path) -> Path:
    """The example map with a short Stripe history, so a run takes seconds."""
    return example_map_with(tmp_path, sources={"stripe": {"lag_days": 1, "lookback_days": 2, "history_days": 10}})


def fill(fake: FakeStripe) -> None:
    """Ten days of sessions: paid, expired, still open; a null amount and an odd currency to quarantine."""
    for d in range(10):
        day = AS_OF - dt.timedelta(days=d)
        for i in range(12 + d):
            pid, name, amount = PRODUCTS[i % 3]
            status = "complete" if i % 4 else "expired"
            made = fake.add_session(created=dt.datetime.combine(day, dt.time(9 + i % 10, i), dt.UTC), status=status,
                                    product_id=pid, product_name=name, amount_total=amount,
                                    customer_email=f"buyer{d}-{i}@example.com")
            if (d, i) == (1, 4):  # this lapsed checkout's card was declined
                fake.add_payment_intent(created=dt.datetime.combine(day, dt.time(9 + i % 10, i + 1), dt.UTC),
                                        amount=amount, status="canceled", failure_code="card_declined",
                                        decline_code="insufficient_funds", session_id=made["id"])
    for i in range(3):  # the Club's subscriptions, one of them cancelled (churn)
        fake.add_subscription(created=dt.datetime.combine(AS_OF - dt.timedelta(days=5), dt.time(9 + i), dt.UTC),
                              status="canceled" if i == 0 else "active",
                              canceled_at=dt.datetime.combine(AS_OF, dt.time(7), dt.UTC) if i == 0 else None)
    paid = fake.add_session(created=dt.datetime.combine(AS_OF - dt.timedelta(days=3), dt.time(6), dt.UTC),
                            product_id="prod_course", product_name="Sourdough Masterclass")
    fake.add_payment_intent(created=dt.datetime.combine(AS_OF - dt.timedelta(days=3), dt.time(6), dt.UTC),
                            payment_intent_id=paid["payment_intent"], amount=paid["amount_total"])
    fake.add_refund(created=dt.datetime.combine(AS_OF - dt.timedelta(days=1), dt.time(9), dt.UTC),
                    payment_intent=paid["payment_intent"])
    yesterday = AS_OF - dt.timedelta(days=1)  # the last day a run on AS_OF reads
    fake.add_session(created=dt.datetime.combine(yesterday, dt.time(23), dt.UTC), amount_total=None)
    fake.add_session(created=dt.datetime.combine(yesterday, dt.time(23, 5), dt.UTC), currency="xyz")


def facts(url: str) -> dict[tuple[str, Any], tuple[float, float]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("select touchpoint_id, date, volume, success from touchpoint_daily "
                                 "where segment = 'all' and touchpoint_id = 'checkout'")).all()
    engine.dispose()
    return {(tp, str(day)[:10]): (float(v), float(s)) for tp, day, v, s in rows}


def rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = list(conn.execute(text(sql)).all())
    engine.dispose()
    return found


def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


@pytest.mark.slow
def test_run_sources_stripe_maps_what_stripe_holds(db_url: str, stripe_map: Path, prefect_api_url: str) -> None:
    with FakeStripe() as fake:
        fill(fake)
        env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(stripe_map), "PREFECT_API_URL": prefect_api_url,
               "STRIPE_API_KEY": fake.api_key, "STRIPE_API_BASE": fake.url}
        first = journeymap("run", "--sources", "stripe", "--as-of", AS_OF.isoformat(), env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        mapped = facts(db_url)
        second = journeymap("run", "--sources", "stripe", "--as-of", AS_OF.isoformat(), env=env)
        assert second.returncode == 0, second.stderr[-3000:]
        assert facts(db_url) == mapped  # a rerun changes nothing

        late = fake.add_session(created=dt.datetime.combine(AS_OF - dt.timedelta(days=1), dt.time(20), dt.UTC),
                                status="open",
                                product_id="prod_course", product_name="Sourdough Masterclass")
        third = journeymap("run", "--sources", "stripe", "--as-of", AS_OF.isoformat(), env=env)
        assert third.returncode == 0, third.stderr[-3000:]
        fake.set_status(late["id"], "expired")
        fourth = journeymap("run", "--sources", "stripe", "--as-of", AS_OF.isoformat(), env=env)
        assert fourth.returncode == 0, fourth.stderr[-3000:]

    # the course journey's checkout touchpoint reads the Masterclass and the Club: per day, sessions and paid ones
    for d in range(1, 10):
        day = AS_OF - dt.timedelta(days=d)
        made = [i for i in range(12 + d) if i % 3 != 2]
        extra = 1 if d == 3 else 0  # the paid session that is refunded later
        assert mapped[("checkout", day.isoformat())] == (len(made) + extra, sum(1 for i in made if i % 4) + extra), day
    assert scalar(db_url, "select count(*) from quarantine where source = 'stripe'") == 2
    assert scalar(db_url, "select count(*) from raw_stripe_checkout_sessions where status = 'expired' "
                          f"and session_id = '{late['id']}'") == 1
    assert scalar(db_url, "select count(distinct account) from raw_stripe_checkout_sessions") == 1
    assert scalar(db_url, "select count(*) from raw_stripe_subscriptions where canceled_at is not null") == 1
    assert scalar(db_url, "select count(*) from raw_stripe_subscriptions") == 3
    assert scalar(db_url, "select count(*) from raw_stripe_refunds r join raw_stripe_checkout_sessions s "
                          "on s.payment_intent = r.payment_intent") == 1
    assert scalar(db_url, "select count(*) from raw_stripe_checkout_sessions where customer_hash like '%@%'") == 0
    # payments: the declined card counts for its checkout's day, the paid one for its own
    payments = {(str(day)[:10], metric): value for day, metric, value in rows(
        db_url, "select date, metric, value from touchpoint_metrics_daily where touchpoint_id = 'checkout' "
                "and metric in ('payments_failed', 'payments_succeeded')")}
    assert payments == {((AS_OF - dt.timedelta(days=1)).isoformat(), "payments_failed"): 1.0,
                        ((AS_OF - dt.timedelta(days=3)).isoformat(), "payments_succeeded"): 1.0}
    assert scalar(db_url, "select decline_code from raw_stripe_payment_intents where status = 'canceled'") == \
        "insufficient_funds"

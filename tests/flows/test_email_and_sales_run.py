"""The email and sales sources together, as the issue's user runs them: `journeymap run --sources
mailchimp,stripe,surveys` against the fake Mailchimp and Stripe APIs and a survey export, on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import example_map_with, journeymap
from tests.fakes.mailchimp import FakeActivity, FakeCampaign, FakeMailchimp
from tests.fakes.stripe_api import FakeStripe

AS_OF = dt.date(2026, 9, 30)
SEND = dt.datetime(2026, 9, 25, 7, tzinfo=dt.UTC)
NEWSLETTER = "Sourdough Hour Weekly #40 (sponsor: Acme Flour)"
ANSWERS = """Response ID,Submitted At,How likely?,Stage,Why?
r1,2026-09-26 09:00:00,10,purchase,Great course
r2,2026-09-26 10:00:00,9,purchase,
r3,2026-09-27 09:00:00,10,purchase,
r4,2026-09-27 10:00:00,3,purchase,Card declined at checkout
"""


@pytest.fixture
def whole_map(tmp_path: Path) -> Path:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "nps.csv").write_text(ANSWERS, encoding="utf-8")
    short = {"lag_days": 1, "lookback_days": 2, "history_days": 10}
    return example_map_with(
        tmp_path, sources={"mailchimp": short, "stripe": short, "surveys": short},
        surveys=[{"name": "nps", "file": "exports/nps.csv", "stage": "advocacy",
                  "columns": {"date": "Submitted At", "score": "How likely?", "stage": "Stage", "comment": "Why?",
                              "id": "Response ID"}}])


def card(output: str, name: str) -> str:
    """The rendered row of a touchpoint (or a stage's feedback line) in `journeymap run`'s output."""
    return next(line for line in output.splitlines() if name in [c.strip() for c in line.split("│")][:3])


@pytest.mark.slow
def test_one_run_fills_the_email_and_purchase_stages_with_their_rates_and_nps(
        db_url: str, whole_map: Path, prefect_api_url: str) -> None:
    with FakeMailchimp() as mailchimp, FakeStripe() as stripe:
        mailchimp.add_list("l1", "Bakers")
        mailchimp.add_campaign(FakeCampaign("news40", NEWSLETTER, "regular", "l1", SEND))
        readers = [f"reader{i}@example.com" for i in range(200)]
        mailchimp.add_activity([FakeActivity("news40", r, "sent", SEND) for r in readers]
                               + [FakeActivity("news40", r, "open", SEND + dt.timedelta(hours=1))
                                  for r in readers[:100]]
                               + [FakeActivity("news40", r, "click", SEND + dt.timedelta(hours=2))
                                  for r in readers[:100:4]])
        for i in range(10):  # 6 paid, 4 left to expire: abandoned carts
            stripe.add_session(created=dt.datetime(2026, 9, 24 + i % 5, 10, i, tzinfo=dt.UTC),
                               status="complete" if i < 6 else "expired", product_id="prod_course",
                               product_name="Sourdough Masterclass", amount_total=19900,
                               customer_email=f"buyer{i}@example.com")
        env = {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(whole_map),
               "PREFECT_API_URL": prefect_api_url,
               "MAILCHIMP_API_KEY": mailchimp.api_key, "MAILCHIMP_API_URL": mailchimp.url,
               "STRIPE_API_KEY": stripe.api_key, "STRIPE_API_BASE": stripe.url, "COLUMNS": "220"}
        run = journeymap("run", "--sources", "mailchimp,stripe,surveys", "--as-of", AS_OF.isoformat(), env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    slot = card(run.stdout, "Sponsor slot in the weekly newsletter")
    assert "200" in slot
    assert "12.5%" in slot  # 25 of 200 clicked: the step's conversion
    assert "opens 50.0%" in slot  # the open rate beside it
    checkout = card(run.stdout, "Stripe Checkout")
    assert "60.0%" in checkout  # 6 of 10 completed
    assert "abandoned 40.0%" in checkout
    purchase = run.stdout.split("Customer feedback (NPS per stage)", 1)[1]
    assert "+50" in card(purchase, "Purchase")  # 3 promoters, 1 detractor of 4

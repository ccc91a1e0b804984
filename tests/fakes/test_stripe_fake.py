"""The fake Stripe API, driven by the official `stripe` library exactly as a connector drives Stripe (no patching)."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from tests.fakes.clock import FakeClock
from tests.fakes.stripe_api import DEFAULT_API_VERSION, FakeStripe, unix

T0 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def client(fake: FakeStripe, key: str | None = None, **options: Any) -> stripe.StripeClient:
    options.setdefault("max_network_retries", 0)
    return stripe.StripeClient(key or fake.api_key, base_addresses={"api": fake.url}, **options)


def raw_get(fake: FakeStripe, path: str, auth: str | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A GET without the library: status, headers (lower-case names), JSON body."""
    req = urllib.request.Request(fake.url + path)
    if auth is not None:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read())


def test_library_version_matches_the_fakes_default_api_version() -> None:
    assert stripe._api_version._ApiVersion.CURRENT == DEFAULT_API_VERSION


def test_auto_paging_returns_every_session_in_the_window_newest_first(fake: FakeStripe) -> None:
    start, end = T0, T0 + timedelta(days=3)
    for i in range(10):  # before and after the window
        fake.add_session(created=start - timedelta(minutes=i + 1))
        fake.add_session(created=end + timedelta(minutes=i))
    for i in range(250):  # three sessions share each second, so ties straddle the page boundaries
        status = "expired" if i % 5 == 0 else "complete"
        fake.add_session(created=start + timedelta(minutes=(i // 3) * 10), status=status)
    fake.requests.clear()

    page = client(fake).v1.checkout.sessions.list(params={"created": {"gte": unix(start), "lt": unix(end)},
                                                          "limit": 100})
    got = list(page.auto_paging_iter())

    assert len(got) == 250
    assert len({s.id for s in got}) == 250
    keys = [(s.created, s.id) for s in got]
    assert keys == sorted(keys, reverse=True)
    assert all(unix(start) <= s.created < unix(end) for s in got)
    assert [r.params.get("starting_after") for r in fake.requests] == [None, got[99].id, got[199].id]
    first = fake.requests[0]
    assert first.path == "/v1/checkout/sessions"
    assert first.query["created[gte]"] == [str(unix(start))]
    assert first.query["limit"] == ["100"]
    assert first.stripe_version == DEFAULT_API_VERSION
    assert first.headers["authorization"] == f"Bearer {fake.api_key}"


def test_session_fields_follow_the_checkout_session_object(fake: FakeStripe) -> None:
    stored = fake.add_session(created=T0, customer_email="ann@example.com", session_id="cs_test_ann")
    fake.add_session(created=T0, status="open", expires_at=T0 + timedelta(hours=2))
    s = client(fake).v1.checkout.sessions.retrieve("cs_test_ann")
    assert json.loads(str(s)) == stored
    assert (s.object, s.created, s.expires_at, s.status, s.payment_status) == (
        "checkout.session", unix(T0), unix(T0) + 86_400, "complete", "paid")
    assert (s.mode, s.amount_total, s.amount_subtotal, s.currency, s.livemode, dict(s.metadata)) == (
        "payment", 4900, 4900, "gbp", False, {})
    assert s.customer_details is not None
    assert s.customer_details.email == "ann@example.com"
    assert s.customer_email == "ann@example.com"
    assert s.url is None
    assert s.payment_intent
    assert "line_items" not in s  # only when expanded
    open_session = client(fake).v1.checkout.sessions.list(params={"status": "open"}).data[0]
    assert open_session.payment_status == "unpaid"
    assert open_session.customer_details is None
    assert open_session.url == f"https://checkout.stripe.com/c/pay/{open_session.id}"
    assert open_session.expires_at == unix(T0) + 7200


def test_expand_line_items_gives_product_id_and_name(fake: FakeStripe) -> None:
    fake.add_session(created=T0, product_id="prod_bread", product_name="Bread Basics", price_id="price_bread",
                     amount_total=2500, session_id="cs_test_bread")
    c = client(fake)

    listed = c.v1.checkout.sessions.list(params={"expand": ["data.line_items"]}).data[0]
    item = listed.line_items.data[0]
    assert (item.price.id, item.price.product, item.description) == ("price_bread", "prod_bread", "Bread Basics")
    assert (item.amount_total, item.currency, item.quantity) == (2500, "gbp", 1)
    assert fake.requests[-1].query == {"expand[0]": ["data.line_items"]}

    one = c.v1.checkout.sessions.retrieve("cs_test_bread", params={"expand": ["line_items.data.price.product"]})
    product = one.line_items.data[0].price.product
    assert (product.object, product.id, product.name) == ("product", "prod_bread", "Bread Basics")

    items = c.v1.checkout.sessions.line_items.list("cs_test_bread", params={"expand": ["data.price.product"]})
    assert items.data[0].price.product.name == "Bread Basics"
    assert items.has_more is False

    with pytest.raises(stripe.InvalidRequestError, match="more than 4 levels") as deep:  # as Stripe refuses it
        c.v1.checkout.sessions.list(params={"expand": ["data.line_items.data.price.product"]})
    assert deep.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError, match=r"cannot be expanded \(line_items\)"):
        c.v1.checkout.sessions.list(params={"expand": ["line_items"]})  # a list needs the data. prefix


def test_expand_brackets_form_and_basic_auth_on_the_wire(fake: FakeStripe) -> None:
    fake.add_session(created=T0)
    basic = "Basic " + base64.b64encode(f"{fake.api_key}:".encode()).decode()
    status, headers, body = raw_get(fake, "/v1/checkout/sessions?expand[]=data.line_items&limit=1", basic)
    assert status == 200
    assert body["object"] == "list"
    assert body["url"] == "/v1/checkout/sessions"
    assert body["data"][0]["line_items"]["data"][0]["price"]["product"] == "prod_course"
    assert headers["request-id"].startswith("req_")
    assert headers["stripe-version"] == DEFAULT_API_VERSION

    status, headers, body = raw_get(fake, "/v1/checkout/sessions")
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("You did not provide an API key.")


def test_bad_key_raises_authentication_error(fake: FakeStripe) -> None:
    with pytest.raises(stripe.AuthenticationError) as err:
        client(fake, key="sk_test_wrong_key_1234").v1.checkout.sessions.list()
    assert err.value.http_status == 401
    assert err.value.json_body == {"error": {"message": "Invalid API Key provided: sk_test_**********1234",
                                             "type": "invalid_request_error"}}


def test_rate_limit_surfaces_with_retry_after_and_is_not_retried(fake: FakeStripe) -> None:
    fake.fail_next(1, 429, retry_after=1)
    with pytest.raises(stripe.RateLimitError) as err:
        client(fake).v1.checkout.sessions.list()
    assert err.value.http_status == 429
    assert err.value.error is not None
    assert err.value.error.code == "rate_limit"
    assert err.value.headers is not None
    assert err.value.headers["Retry-After"] == "1"
    assert err.value.request_id is not None
    assert err.value.request_id.startswith("req_")
    assert err.value.json_body is not None
    assert err.value.json_body["error"]["type"] == "invalid_request_error"

    fake.requests.clear()
    fake.fail_next(1, 429)  # the library does not retry a 429, whatever max_network_retries says
    with pytest.raises(stripe.RateLimitError):
        client(fake, max_network_retries=3).v1.checkout.sessions.list()
    assert [r.status for r in fake.requests] == [429]
    assert client(fake).v1.checkout.sessions.list().data == []


def test_server_errors_are_api_errors_and_retried_when_allowed(fake: FakeStripe) -> None:
    fake.fail_next(1, 500)
    with pytest.raises(stripe.APIError) as err:
        client(fake).v1.events.list()
    assert err.value.http_status == 500
    assert err.value.json_body is not None
    assert err.value.json_body["error"]["type"] == "api_error"

    fake.requests.clear()
    fake.fail_next(1, 503)
    assert client(fake, max_network_retries=1).v1.events.list().data == []  # one retry after ≥ 0.5 s
    assert [r.status for r in fake.requests] == [503, 200]


def test_unknown_session_is_a_404_invalid_request_error(fake: FakeStripe) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client(fake).v1.checkout.sessions.retrieve("cs_test_nope")
    assert (err.value.http_status, err.value.code) == (404, "resource_missing")
    assert "No such checkout.session: 'cs_test_nope'" in str(err.value)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client(fake).v1.checkout.sessions.line_items.list("cs_test_nope")
    assert err.value.http_status == 404


def test_bad_parameters_are_refused_like_stripe_refuses_them(fake: FakeStripe) -> None:
    c = client(fake)
    with pytest.raises(stripe.InvalidRequestError, match="Received unknown parameter: colour") as err:
        c.v1.checkout.sessions.list(params={"colour": "red"})
    assert err.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError, match="less than or equal to 100"):
        c.v1.checkout.sessions.list(params={"limit": 101})
    with pytest.raises(stripe.InvalidRequestError, match="Invalid status"):
        c.v1.checkout.sessions.list(params={"status": "paid"})
    with pytest.raises(stripe.InvalidRequestError, match=r"No such checkout\.session"):
        c.v1.checkout.sessions.list(params={"starting_after": "cs_test_gone"})


def test_ending_before_pages_towards_newer_sessions(fake: FakeStripe) -> None:
    for i in range(60):
        fake.add_session(created=T0 + timedelta(minutes=i))
    c = client(fake)
    ids = [s.id for s in c.v1.checkout.sessions.list(params={"limit": 100}).data]
    page = c.v1.checkout.sessions.list(params={"limit": 10, "ending_before": ids[50]})
    assert [s.id for s in page.data] == ids[40:50]
    assert page.has_more
    top = c.v1.checkout.sessions.list(params={"limit": 10, "ending_before": ids[5]})
    assert [s.id for s in top.data] == ids[:5]
    assert not top.has_more
    backwards = list(c.v1.checkout.sessions.list(params={"limit": 7, "ending_before": ids[30]}).auto_paging_iter())
    assert [s.id for s in backwards] == ids[29::-1]


def test_set_status_records_events_with_the_session_as_it_was(fake: FakeStripe) -> None:
    opened = fake.add_session(created=T0, status="open")
    late = fake.add_session(created=T0 + timedelta(hours=1), status="complete", payment_status="unpaid")
    fake.set_status(opened["id"], "expired")
    fake.set_status(late["id"], "complete", "paid")
    c = client(fake)

    expired = c.v1.events.list(params={"type": "checkout.session.expired"}).data
    assert [(e.type, e.data.object.id, e.data.object.status) for e in expired] == [
        ("checkout.session.expired", opened["id"], "expired")]
    assert expired[0].created == unix(T0) + 86_400  # when it expired, not later
    everything = c.v1.events.list(params={"types": ["checkout.session.completed",
                                                    "checkout.session.async_payment_succeeded"]}).data
    assert [(e.type, e.data.object.payment_status) for e in everything] == [
        ("checkout.session.async_payment_succeeded", "paid"), ("checkout.session.completed", "unpaid")]
    assert len(c.v1.events.list(params={"type": "checkout.session.*"}).data) == 3
    window = c.v1.events.list(params={"created": {"lt": unix(T0) + 7200}}).data
    assert [e.type for e in window] == ["checkout.session.completed"]
    assert c.v1.checkout.sessions.retrieve(opened["id"]).status == "expired"


def test_refunds_and_subscriptions(fake: FakeStripe) -> None:
    sale = fake.add_session(created=T0)
    fake.add_refund(created=T0 + timedelta(days=2), amount=4900, payment_intent=sale["payment_intent"])
    fake.add_refund(created=T0 + timedelta(days=3), amount=1000)
    fake.add_subscription(created=T0, subscription_id="sub_live")
    fake.add_subscription(created=T0 + timedelta(days=1), status="canceled", canceled_at=T0 + timedelta(days=20),
                          subscription_id="sub_gone")
    c = client(fake)

    refunds = c.v1.refunds.list(params={"payment_intent": sale["payment_intent"]}).data
    assert [(r.object, r.amount, r.currency, r.status) for r in refunds] == [("refund", 4900, "gbp", "succeeded")]
    assert len(c.v1.refunds.list(params={"created": {"gte": unix(T0 + timedelta(days=3))}}).data) == 1

    assert [s.id for s in c.v1.subscriptions.list().data] == ["sub_live"]  # canceled ones only when asked
    assert [s.id for s in c.v1.subscriptions.list(params={"status": "all"}).data] == ["sub_gone", "sub_live"]
    gone = c.v1.subscriptions.list(params={"status": "canceled"}).data[0]
    assert gone.canceled_at == unix(T0 + timedelta(days=20))
    assert gone.ended_at == gone.canceled_at
    live = c.v1.subscriptions.retrieve("sub_live", params={"expand": ["items.data.price.product"]})
    item = live["items"].data[0]  # a StripeObject is a dict: `.items` is dict.items
    assert (item.price.product.id, item.price.recurring.interval, item.quantity) == ("prod_club", "month", 1)
    assert "current_period_end" not in live  # basil and later: the period lives on the items
    assert (item.current_period_start, item.current_period_end) == (unix(T0), unix(datetime(2024, 4, 1, tzinfo=UTC)))
    old = client(fake, stripe_version="2024-06-20").v1.subscriptions.retrieve("sub_live")
    assert old.current_period_end == item.current_period_end
    assert fake.requests[-1].stripe_version == "2024-06-20"
    types = [e.type for e in c.v1.events.list(params={"type": "customer.subscription.*"}).data]
    assert types == ["customer.subscription.deleted", "customer.subscription.created",
                     "customer.subscription.created"]


def test_bulk_sessions_are_fast_and_mixed() -> None:
    started = time.perf_counter()
    with FakeStripe() as big:
        big.add_sessions_bulk(200_000, T0, 365, seed=4)
        assert big.counts()["sessions"] == 200_000
        c = client(big)
        week = c.v1.checkout.sessions.list(params={
            "limit": 100, "created": {"gte": unix(T0 + timedelta(days=100)), "lt": unix(T0 + timedelta(days=107))}})
        assert week.has_more
        assert len({s.id for s in week.data}) == 100
        assert {s.status for s in week.data} == {"complete", "expired"}  # open ones only on the last day
        assert sum(s.currency == "gbp" for s in week.data) > 60
        assert len({s.line_items.data[0].price.product for s in c.v1.checkout.sessions.list(
            params={"limit": 100, "expand": ["data.line_items"]}).data}) > 1
        opened = c.v1.checkout.sessions.list(params={"status": "open", "limit": 100}).data
        assert opened
        assert all(s.created > unix(T0 + timedelta(days=364)) for s in opened)
        assert len(c.v1.events.list(params={"type": "checkout.session.completed", "limit": 5}).data) == 5
    assert time.perf_counter() - started < 10  # typically 2 s


def test_bulk_sessions_are_deterministic_per_seed() -> None:
    with FakeStripe() as one, FakeStripe() as two, FakeStripe() as other:
        for fake, seed in ((one, 1), (two, 1), (other, 2)):
            fake.add_sessions_bulk(5_000, T0, 30, seed=seed)
        pages = [str(client(f).v1.checkout.sessions.list(params={"limit": 100})) for f in (one, two, other)]
    assert pages[0] == pages[1]
    assert pages[0] != pages[2]


def test_requests_in_flight_are_counted(fake: FakeStripe) -> None:
    fake.latency = 0.2
    threads = [threading.Thread(target=lambda: client(fake).v1.refunds.list()) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.max_concurrent >= 2
    assert len(fake.requests) == 4
    assert {r.path for r in fake.requests} == {"/v1/refunds"}


def test_payment_intents_page_by_created_window_newest_first(fake: FakeStripe) -> None:
    start, end = T0, T0 + timedelta(days=2)
    fake.add_payment_intent(created=start - timedelta(seconds=1))  # outside the window, either side
    fake.add_payment_intent(created=end)
    for i in range(23):  # two intents share each second, so ties straddle the page boundaries
        fake.add_payment_intent(created=start + timedelta(minutes=i // 2), amount=1000 + i)
    fake.requests.clear()

    page = client(fake).v1.payment_intents.list(params={"created": {"gte": unix(start), "lt": unix(end)},
                                                        "limit": 10})
    got = list(page.auto_paging_iter())

    assert len(got) == 23
    assert len({p.id for p in got}) == 23
    keys = [(p.created, p.id) for p in got]
    assert keys == sorted(keys, reverse=True)
    assert {p.amount for p in got} == set(range(1000, 1023))
    assert [r.params.get("starting_after") for r in fake.requests] == [None, got[9].id, got[19].id]
    assert {r.path for r in fake.requests} == {"/v1/payment_intents"}
    assert fake.requests[0].query["created[gte]"] == [str(unix(start))]
    assert fake.counts()["payment_intents"] == 25


def test_payment_intent_retrieve_and_unknown_id(fake: FakeStripe) -> None:
    stored = fake.add_payment_intent(created=T0, amount=2500, customer="cus_test_ann",
                                     payment_intent_id="pi_test_ann")
    fake.add_payment_intent(created=T0, status="requires_capture", customer="cus_test_bob")
    c = client(fake)

    pi = c.v1.payment_intents.retrieve("pi_test_ann")
    assert json.loads(str(pi)) == stored
    assert (pi.object, pi.status, pi.amount, pi.amount_received, pi.amount_capturable, pi.currency) == (
        "payment_intent", "succeeded", 2500, 2500, 0, "gbp")
    assert pi.last_payment_error is None
    assert pi.latest_charge.startswith("ch_")
    assert pi.payment_method.startswith("pm_")
    assert [p.id for p in c.v1.payment_intents.list(params={"customer": "cus_test_ann"}).data] == ["pi_test_ann"]
    held = c.v1.payment_intents.list(params={"customer": "cus_test_bob"}).data[0]
    assert (held.amount_capturable, held.amount_received, held.payment_method) == (4900, 0, None)

    with pytest.raises(stripe.InvalidRequestError) as err:
        c.v1.payment_intents.retrieve("pi_test_nope")
    assert (err.value.http_status, err.value.code) == (404, "resource_missing")
    assert "No such payment_intent: 'pi_test_nope'" in str(err.value)
    with pytest.raises(ValueError, match="status must be one of"):
        fake.add_payment_intent(created=T0, status="failed")


def test_failed_payment_intent_carries_the_decline_and_its_events(fake: FakeStripe) -> None:
    failed = fake.add_payment_intent(created=T0, status="requires_payment_method", failure_code="card_declined",
                                     decline_code="insufficient_funds")
    recovered = fake.add_payment_intent(created=T0 + timedelta(hours=1), failure_code="card_declined",
                                        decline_code="generic_decline")
    dropped = fake.add_payment_intent(created=T0 + timedelta(hours=2), status="canceled",
                                      canceled_at=T0 + timedelta(days=1), cancellation_reason="abandoned")
    c = client(fake)

    pi = c.v1.payment_intents.retrieve(failed["id"])
    error = pi.last_payment_error
    assert (pi.status, pi.amount_received, pi.payment_method) == ("requires_payment_method", 0, None)
    assert (error.type, error.code, error.decline_code) == ("card_error", "card_declined", "insufficient_funds")
    assert error.message == "Your card has insufficient funds."
    assert error.charge == pi.latest_charge
    assert error.payment_method.object == "payment_method"
    assert c.v1.payment_intents.retrieve(recovered["id"]).last_payment_error is None  # Stripe clears it
    gone = c.v1.payment_intents.retrieve(dropped["id"])
    assert (gone.canceled_at, gone.cancellation_reason, gone.latest_charge) == (
        unix(T0 + timedelta(days=1)), "abandoned", None)

    declines = c.v1.events.list(params={"type": "payment_intent.payment_failed"}).data
    assert [(e.data.object.id, e.data.object.status, e.data.object.last_payment_error.decline_code)
            for e in declines] == [(recovered["id"], "requires_payment_method", "generic_decline"),
                                   (failed["id"], "requires_payment_method", "insufficient_funds")]
    kinds = sorted(e.type for e in c.v1.events.list(params={"type": "payment_intent.*"}).data)
    assert kinds == ["payment_intent.canceled"] + ["payment_intent.created"] * 3 + [
        "payment_intent.payment_failed"] * 2 + ["payment_intent.succeeded"]
    created = c.v1.events.list(params={"type": "payment_intent.created", "limit": 1}).data[0].data.object
    assert (created.status, created.last_payment_error, created.latest_charge) == (
        "requires_payment_method", None, None)


def test_payment_intent_attached_to_a_session(fake: FakeStripe) -> None:
    opened = fake.add_session(created=T0, status="open")
    plain = fake.add_session(created=T0)
    pi = fake.add_payment_intent(created=T0, status="requires_payment_method", failure_code="card_declined",
                                 session_id=opened["id"])
    c = client(fake)

    assert pi["id"] not in (plain["payment_intent"], opened["payment_intent"])
    assert opened["payment_intent"] is None
    assert c.v1.checkout.sessions.retrieve(opened["id"]).payment_intent == pi["id"]
    assert c.v1.checkout.sessions.retrieve(plain["id"]).payment_intent == plain["payment_intent"]
    listed = c.v1.checkout.sessions.list(params={"payment_intent": pi["id"]}).data
    assert [s.id for s in listed] == [opened["id"]]
    with pytest.raises(ValueError, match="no checkout session"):
        fake.add_payment_intent(created=T0, session_id="cs_test_nope")


def test_payment_intent_list_refuses_what_stripe_refuses(fake: FakeStripe) -> None:
    c = client(fake)
    with pytest.raises(stripe.InvalidRequestError, match="Received unknown parameter: status") as err:
        c.v1.payment_intents.list(params={"status": "succeeded"})
    assert (err.value.http_status, err.value.code, err.value.param) == (400, "parameter_unknown", "status")
    with pytest.raises(stripe.InvalidRequestError, match="less than or equal to 100"):
        c.v1.payment_intents.list(params={"limit": 101})
    with pytest.raises(stripe.InvalidRequestError, match="does not expand `latest_charge` on payment_intent"):
        c.v1.payment_intents.list(params={"expand": ["data.latest_charge"]})
    with pytest.raises(stripe.InvalidRequestError, match=r"No such payment_intent") as cursor:
        c.v1.payment_intents.list(params={"starting_after": "pi_test_gone"})
    assert cursor.value.http_status == 400


# --- restricted keys and missing endpoints ----------------------------------------------------------------------
def stripe_masked(key: str) -> str:
    """How Stripe names a key lacking a permission: its prefix, stars, its last 6 characters, as long as the key."""
    return key[:8] + "*" * (len(key) - 14) + key[-6:]


def test_restricted_key_reads_only_what_its_permissions_allow(fake: FakeStripe) -> None:
    sale = fake.add_session(created=T0)
    key = fake.restricted_key(["rak_checkout_session_read"])
    c = client(fake, key=key)

    assert key.startswith("rk_test_")
    assert len(key) >= 40
    assert key != fake.restricted_key(["rak_checkout_session_read"])
    assert [s.id for s in c.v1.checkout.sessions.list().data] == [sale["id"]]
    assert c.v1.checkout.sessions.retrieve(sale["id"]).id == sale["id"]
    assert len(c.v1.checkout.sessions.line_items.list(sale["id"]).data) == 1
    refused = {
        "rak_refund_read": lambda: c.v1.refunds.list(),
        "rak_payment_intent_read": lambda: c.v1.payment_intents.list(),
        "rak_subscription_read": lambda: c.v1.subscriptions.retrieve("sub_test_any"),
        "rak_accounts_kyc_basic_read": lambda: c.v1.accounts.retrieve_current(),
        "rak_event_read": lambda: c.v1.events.list(),
    }
    for permission, call in refused.items():
        with pytest.raises(stripe.PermissionError) as err:
            call()
        message = (f"The provided key '{stripe_masked(key)}' does not have the required permissions for this endpoint "
                   f"on account '{fake.account_id}'. Having the '{permission}' permission would allow this request "
                   "to continue.")
        assert err.value.http_status == 403
        assert err.value.json_body == {"error": {"message": message, "type": "invalid_request_error"}}
        assert err.value.user_message == message
        assert err.value.request_id is not None
        assert err.value.request_id.startswith("req_")
        assert err.value.headers is not None
        assert err.value.headers["Stripe-Version"] == DEFAULT_API_VERSION
    assert [r.status for r in fake.requests[-5:]] == [403] * 5


def test_restricted_key_permissions_write_includes_read_and_unknown_keys_fail(fake: FakeStripe) -> None:
    fake.add_refund(created=T0)
    writer = client(fake, key=fake.restricted_key(["rak_refund_write", "rak_accounts_kyc_basic_read"]))
    assert len(writer.v1.refunds.list().data) == 1
    assert writer.v1.accounts.retrieve_current().id == fake.account_id
    with pytest.raises(stripe.PermissionError, match="'rak_subscription_read' permission"):
        writer.v1.subscriptions.list()
    nothing = client(fake, key=fake.restricted_key([]))
    with pytest.raises(stripe.PermissionError, match="'rak_checkout_session_read' permission"):
        nothing.v1.checkout.sessions.line_items.list("cs_test_any")
    assert len(client(fake).v1.refunds.list().data) == 1  # the secret key keeps every permission

    stranger = "rk_test_" + "x" * 60 + "abcd"
    with pytest.raises(stripe.AuthenticationError) as err:
        client(fake, key=stranger).v1.refunds.list()
    assert err.value.user_message == f"Invalid API Key provided: rk_test_{'*' * 60}abcd"
    with pytest.raises(ValueError, match="not a Stripe restricted-key permission"):
        fake.restricted_key(["refunds"])


def test_disabled_endpoint_answers_unrecognized_url_until_enabled(fake: FakeStripe) -> None:
    sale = fake.add_session(created=T0)
    fake.add_refund(created=T0)
    c = client(fake)

    fake.disable("refunds")
    with pytest.raises(stripe.InvalidRequestError) as err:
        c.v1.refunds.list(params={"limit": 5})
    assert err.value.http_status == 404
    assert err.value.code is None
    assert err.value.user_message == ("Unrecognized request URL (GET: /v1/refunds). Please see https://stripe.com/docs "
                                      "or we can help at https://support.stripe.com/.")
    with pytest.raises(stripe.InvalidRequestError, match=r"\(GET: /v1/refunds/re_test_1\)"):
        c.v1.refunds.retrieve("re_test_1")
    rk = client(fake, key=fake.restricted_key([]))
    with pytest.raises(stripe.InvalidRequestError) as routed_first:  # Stripe routes before it checks permissions
        rk.v1.refunds.list()
    assert routed_first.value.http_status == 404
    assert len(c.v1.checkout.sessions.list().data) == 1  # the others are still there

    fake.disable("checkout_sessions")
    with pytest.raises(stripe.InvalidRequestError, match=rf"\(GET: /v1/checkout/sessions/{sale['id']}/line_items\)"):
        c.v1.checkout.sessions.line_items.list(sale["id"])
    fake.enable("refunds")
    fake.enable("checkout_sessions")
    assert len(c.v1.refunds.list().data) == 1
    assert len(c.v1.checkout.sessions.line_items.list(sale["id"]).data) == 1
    with pytest.raises(ValueError, match="resource must be one of"):
        fake.disable("products")


# --- the clock ----------------------------------------------------------------------------------------------------
def test_clock_hides_what_is_created_later_and_pages_what_exists() -> None:
    clock = FakeClock(T0 + timedelta(hours=1))
    with FakeStripe(clock=clock) as fake:
        for i in range(40):  # two sessions a minute over 20 minutes either side of the clock
            fake.add_session(created=T0 + timedelta(minutes=50 + i // 2), session_id=f"cs_test_{i:02d}")
        later = fake.add_session(created=T0 + timedelta(days=1))
        fake.add_refund(created=T0 + timedelta(days=1), refund_id="re_test_later")
        fake.add_payment_intent(created=T0 + timedelta(days=1), payment_intent_id="pi_test_later")
        fake.add_subscription(created=T0 + timedelta(days=1), subscription_id="sub_test_later")
        c = client(fake)
        window = {"created": {"gte": unix(T0), "lt": unix(T0 + timedelta(days=2))}, "limit": 7}

        got = list(c.v1.checkout.sessions.list(params=window).auto_paging_iter())
        assert [s.id for s in got] == [f"cs_test_{i:02d}" for i in range(22)][::-1]  # created by 01:00:00
        assert [r.params.get("starting_after") for r in fake.requests] == [None, "cs_test_15", "cs_test_08",
                                                                           "cs_test_01"]  # 7 + 7 + 7 + 1
        top = c.v1.checkout.sessions.list(params={"limit": 5, "ending_before": "cs_test_15"})
        assert ([s.id for s in top.data], top.has_more) == (["cs_test_20", "cs_test_19", "cs_test_18",
                                                             "cs_test_17", "cs_test_16"], True)
        assert c.v1.checkout.sessions.list(params={"limit": 5, "ending_before": "cs_test_18"}).has_more is False
        for call in (lambda: c.v1.checkout.sessions.retrieve(later["id"]),
                     lambda: c.v1.refunds.retrieve("re_test_later"),
                     lambda: c.v1.payment_intents.retrieve("pi_test_later"),
                     lambda: c.v1.subscriptions.retrieve("sub_test_later")):
            with pytest.raises(stripe.InvalidRequestError) as err:
                call()
            assert (err.value.http_status, err.value.code) == (404, "resource_missing")
        with pytest.raises(stripe.InvalidRequestError, match=r"No such checkout\.session: 'cs_test_30'") as cursor:
            c.v1.checkout.sessions.list(params={"starting_after": "cs_test_30"})
        assert cursor.value.http_status == 400
        assert (c.v1.refunds.list().data, c.v1.payment_intents.list().data, c.v1.subscriptions.list().data) == (
            [], [], [])
        assert c.v1.events.list(params={"created": {"gte": unix(T0 + timedelta(hours=2))}}).data == []

        clock.advance(days=1)
        assert c.v1.checkout.sessions.list(params={"limit": 1}).data[0].id == later["id"]
        assert c.v1.refunds.retrieve("re_test_later").id == "re_test_later"
        assert [p.id for p in c.v1.payment_intents.list().data] == ["pi_test_later"]
        assert [s.id for s in c.v1.subscriptions.list().data] == ["sub_test_later"]
        assert {e.type for e in c.v1.events.list(params={"created": {"gte": unix(T0 + timedelta(hours=2))}}).data} \
            >= {"refund.created", "payment_intent.created", "customer.subscription.created"}
        assert len(list(c.v1.checkout.sessions.list(params=window).auto_paging_iter())) == 41


def test_clock_expires_an_open_session_24_hours_after_creation() -> None:
    clock = FakeClock(T0 + timedelta(hours=1))
    with FakeStripe(clock=clock) as fake:
        opened = fake.add_session(created=T0, status="open", session_id="cs_test_open")
        paid = fake.add_session(created=T0, status="open", session_id="cs_test_paid")
        fake.set_status(paid["id"], "complete")  # at the clock's now: 01:00, before it could expire
        c = client(fake)
        expired = {"type": "checkout.session.expired"}

        assert opened["expires_at"] == unix(T0 + timedelta(hours=24))
        assert c.v1.checkout.sessions.retrieve(opened["id"]).status == "open"
        assert c.v1.events.list(params=expired).data == []
        clock.set(T0 + timedelta(hours=24) - timedelta(seconds=1))
        assert [s.id for s in c.v1.checkout.sessions.list(params={"status": "open"}).data] == [opened["id"]]

        clock.advance(seconds=1)
        session = c.v1.checkout.sessions.retrieve(opened["id"])
        assert (session.status, session.payment_status, session.url) == ("expired", "unpaid", None)
        assert [s.id for s in c.v1.checkout.sessions.list(params={"status": "expired"}).data] == [opened["id"]]
        assert c.v1.checkout.sessions.list(params={"status": "open"}).data == []
        events = c.v1.events.list(params=expired).data
        assert [(e.data.object.id, e.data.object.status, e.created) for e in events] == [
            (opened["id"], "expired", opened["expires_at"])]
        completed = c.v1.events.list(params={"type": "checkout.session.completed"}).data
        assert [(e.data.object.id, e.created) for e in completed] == [(paid["id"], unix(T0 + timedelta(hours=1)))]
        intent = c.v1.checkout.sessions.retrieve(paid["id"]).payment_intent
        assert intent
        assert [s.id for s in c.v1.checkout.sessions.list(params={"payment_intent": intent}).data] == [paid["id"]]

        clock.set(T0 + timedelta(minutes=30))  # back before the payment: the session was still open then
        before = c.v1.checkout.sessions.retrieve(paid["id"])
        assert (before.status, before.payment_status, before.payment_intent) == ("open", "unpaid", None)
        assert c.v1.checkout.sessions.list(params={"payment_intent": intent}).data == []
        assert c.v1.events.list(params={"type": "checkout.session.*"}).data == []


def test_clock_delays_a_cancellation_until_canceled_at() -> None:
    clock = FakeClock(T0 + timedelta(days=5))
    with FakeStripe(clock=clock) as fake:
        fake.add_subscription(created=T0, status="canceled", canceled_at=T0 + timedelta(days=10),
                              subscription_id="sub_test_leaving")
        fake.add_payment_intent(created=T0, status="canceled", canceled_at=T0 + timedelta(days=10),
                                cancellation_reason="abandoned", payment_intent_id="pi_test_dropped")
        c = client(fake)

        sub = c.v1.subscriptions.retrieve("sub_test_leaving")
        assert (sub.status, sub.canceled_at, sub.ended_at) == ("active", None, None)
        assert [s.id for s in c.v1.subscriptions.list().data] == ["sub_test_leaving"]
        assert c.v1.subscriptions.list(params={"status": "canceled"}).data == []
        assert c.v1.events.list(params={"type": "customer.subscription.deleted"}).data == []
        pi = c.v1.payment_intents.retrieve("pi_test_dropped")
        assert (pi.status, pi.canceled_at, pi.cancellation_reason) == ("requires_payment_method", None, None)

        clock.advance(days=5)
        sub = c.v1.subscriptions.retrieve("sub_test_leaving")
        assert (sub.status, sub.canceled_at, sub.ended_at) == ("canceled", unix(T0 + timedelta(days=10)),
                                                               unix(T0 + timedelta(days=10)))
        assert c.v1.subscriptions.list().data == []  # canceled ones only when asked
        assert [s.id for s in c.v1.subscriptions.list(params={"status": "ended"}).data] == ["sub_test_leaving"]
        deleted = c.v1.events.list(params={"type": "customer.subscription.deleted"}).data
        assert [(e.data.object.status, e.created) for e in deleted] == [("canceled", unix(T0 + timedelta(days=10)))]
        assert c.v1.payment_intents.retrieve("pi_test_dropped").status == "canceled"


def test_clock_expires_bulk_open_sessions_as_it_passes() -> None:
    start = T0
    clock = FakeClock(start + timedelta(days=30) - timedelta(hours=2))
    with FakeStripe(clock=clock) as fake:
        fake.add_sessions_bulk(3_000, start, 30, seed=3)
        c = client(fake)
        last_day = {"created": {"gte": unix(start + timedelta(days=29))}, "limit": 100}
        opened = list(c.v1.checkout.sessions.list(params={**last_day, "status": "open"}).auto_paging_iter())
        assert opened
        assert all(s.created <= clock.timestamp() for s in opened)

        clock.advance(days=2)
        assert c.v1.checkout.sessions.list(params={**last_day, "status": "open"}).data == []
        expired_ids = {e.data.object.id for e in c.v1.events.list(params={
            "type": "checkout.session.expired", "created": {"gte": unix(start + timedelta(days=30))},
            "limit": 100}).auto_paging_iter()}
        assert {s.id for s in opened} <= expired_ids

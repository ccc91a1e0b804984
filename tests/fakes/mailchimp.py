"""A local HTTP server speaking the Mailchimp Marketing API 3.0 wire format, for tests that drive the official client.

    with FakeMailchimp(clock=clock) as fake:
        fake.add_list("a1b2c3d4e5", "Newsletter")
        fake.add_campaign(FakeCampaign("c0ffee0001", "Welcome", "regular", "a1b2c3d4e5", send_time))
        fake.add_activity([FakeActivity("c0ffee0001", "ann@example.com", "sent", send_time), ...])
        fake.add_member("a1b2c3d4e5", "ann@example.com", subscribed_at)
        client = mailchimp_marketing.Client()
        client.set_config({"api_key": fake.api_key, "server": fake.server})
        client.api_client.host = fake.url
        client.reports.get_email_activity_for_campaign("c0ffee0001", count=1000)

Read-only endpoints (GET) under /3.0: ping, lists (+ growth history, members), campaigns, automations (+ their
emails), reports (+ email-activity, sent-to, unsubscribed). Authentication is HTTP Basic with any user name and the
API key as the password. Every error is a problem-JSON body (`application/problem+json`) like Mailchimp's.
`fields` and `exclude_fields` (comma-separated dotted paths) select parts of any answer.

Activity rows are kept per campaign as numpy columns (recipient number, action code, epoch second), so a million
rows (`bulk`) load in well under a second and every answer is computed from them on the fly. A member and their
activity share one address (one recipient number).

With a `FakeClock`, the fake answers as Mailchimp would at `clock.now()`: rows timestamped later, and members who
subscribe later, do not exist yet (in every list, report and count), and a campaign sent later is "schedule".
Without one, everything stored is visible.

Real behaviours a test can switch on: `repeat_across_pages` (offset paging over a list that changed between
requests serves an entry twice), `jitter` (pages read over several connections arrive shuffled), `fail_next`,
`slow_next`, `drop_next`, `latency`, `concurrency_limit`, `ignore_offset`.

How the official client (3.0.80) behaves, which this fake reproduces rather than hides:
- HTTP errors raise `mailchimp_marketing.api_client.ApiClientError` with `.status_code` and `.text` only; `.text`
  is the raw problem-JSON string (its content type is not "application/json", so it is not parsed) and
  `str(exc)` is "". Transport failures raise the same class with `.status_code` None and the requests exception
  as `.text`. Response headers (Retry-After) are not exposed: wrap `client.api_client.request`, which returns
  the `requests.Response`.
- `fields` / `exclude_fields` must be lists: the client csv-joins them, so a plain string is split into
  characters. An empty JSON object (e.g. nothing selected) makes the client return the bare `requests.Response`.
- `count` above 1000 raises ValueError in the client before any request; `_request_timeout` is ignored (use
  `set_config({"timeout": ...})`, which also resets the key); the client never retries.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import numpy.typing as npt

from tests.fakes.clock import FakeClock
from tests.fakes.mailchimp_members import FakeMember, MemberTable, MemberView, find, member_json, page, subscriber_hash
from tests.fakes.mailchimp_store import (
    ACTIONS,
    BOUNCE,
    CLICK,
    CODES,
    OPEN,
    SENT,
    UNSUB,
    CampaignActivity,
    CampaignIndex,
    FakeActivity,
    Stats,
    groups,
    growth_history,
    rate,
)
from tests.fakes.mailchimp_wire import (
    ERROR_TYPE,
    MISSING_KEY,
    ApiError,
    IntArray,
    Query,
    between,
    epoch,
    hex_id,
    ip,
    iso,
    parse_iso,
    select,
    web_id,
)
from tests.fakes.serving import LocalHandler, LocalServer, Serving

__all__ = ["ACTIONS", "BULK_START", "ERROR_TYPE", "FakeActivity", "FakeCampaign", "FakeMailchimp", "FakeMember",
           "LoggedRequest", "iso", "select"]

BULK_START = datetime(2026, 9, 1, 8, tzinfo=UTC)
DEFAULT_KEY = "0123456789abcdef0123456789abcdef-us6"
FROM_NAME, REPLY_TO = "Journeymap", "news@example.com"
DELAY_UNITS = {"hour": 3_600, "day": 86_400, "week": 7 * 86_400}
DELAY_ACTIONS = {"signup": "signup", "previous_campaign_sent": "the previous email is sent"}


# --- public records --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeCampaign:
    """A campaign, or (type "automation") one email of an automation workflow at a 1-based position.

    `delay_amount` / `delay_type` ("hour", "day", "week") are an automation email's delay: the first email waits
    that long after the signup, each later one after the previous email was sent. None: Mailchimp's defaults for
    a new series, 0 (immediately) for the first email and 1 day for the others.
    """

    id: str
    title: str
    type: str  # "regular" | "automation"
    list_id: str
    send_time: datetime | None
    workflow_id: str = ""
    workflow_title: str = ""
    position: int = 0
    subject_line: str = ""
    delay_amount: int | None = None
    delay_type: str = "day"

    @property
    def delay(self) -> int:
        """The delay amount in effect (the default when unset)."""
        if self.delay_amount is not None:
            return self.delay_amount
        return 0 if self.position == 1 else 1

    @property
    def delay_seconds(self) -> int:
        return self.delay * DELAY_UNITS[self.delay_type]


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the fake saw it (`status` None: the connection was dropped without an answer)."""

    method: str
    path: str  # e.g. "/3.0/reports/c0ffee0001/email-activity"
    query: dict[str, list[str]]
    status: int | None = None



@dataclass(slots=True)
class Plan:
    """What the fault schedule does to one request."""

    drop: bool = False
    delay: float = 0.0
    status: int | None = None
    retry_after: float | None = None


@dataclass(slots=True)
class _Faults:
    fail: deque[tuple[int, float | None]] = field(default_factory=deque)
    slow: deque[float] = field(default_factory=deque)
    drop: int = 0


# --- the fake --------------------------------------------------------------------------------------------------
Endpoint = Callable[..., dict[str, Any]]


class FakeMailchimp(Serving):
    """The fake Marketing API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Attributes:
        url: the base to assign to `client.api_client.host` ("http://127.0.0.1:PORT/3.0").
        api_key, server: the key the fake accepts (may be reassigned) and its datacenter suffix.
        requests: every request in arrival order (LoggedRequest).
        latency: seconds every request waits before it is answered (0 by default).
        jitter, jitter_seed: each request also waits a random uniform(0, jitter) seconds drawn from one RNG seeded
            with jitter_seed (0.0 by default: off), as real answers take uneven times, so pages read over several
            connections arrive in shuffled order.
        concurrency_limit: answer 429 when more requests than this are in flight (Mailchimp allows 10); None: off.
        ignore_offset: when True, every list ignores `offset` and serves its first page again (a broken proxy or
            cache in front of the API): a reader must stop, not loop.
        clock: the shared FakeClock, or None (everything stored is visible).
    """

    def __init__(self, api_key: str = DEFAULT_KEY, clock: FakeClock | None = None) -> None:
        self.api_key = api_key
        self.clock = clock
        self.account_id = "8d3a3db4d97663a9074efcc16"
        self.server = api_key.rpartition("-")[2] if "-" in api_key else "us1"
        self.requests: list[LoggedRequest] = []
        self.latency = 0.0
        self.jitter = 0.0
        self.concurrency_limit: int | None = None
        self.ignore_offset = False
        self._lock = threading.RLock()
        self._flight_lock = threading.Lock()
        self._in_flight = 0
        self._max_concurrent = 0
        self._faults = _Faults()
        self._jitter_seed = 0
        self._jitter_rng = random.Random(0)
        self._repeating: set[str] = set()
        self._moment: int | None = None  # the clock reading of the request being answered
        self._lists: dict[str, str] = {}
        self._campaigns: dict[str, FakeCampaign] = {}
        self._activity: dict[str, CampaignActivity] = {}
        self._emails: list[str] = []
        self._email_numbers: dict[str, int] = {}
        self._md5: dict[int, str] = {}
        self._members: dict[str, MemberTable] = {}
        self._version = 0
        self._growth: dict[str, tuple[tuple[int, int | None], list[dict[str, Any]]]] = {}
        self._routes: list[tuple[re.Pattern[str], Endpoint]] = [
            (re.compile(pattern), handler) for pattern, handler in (
                (r"", self._root),
                (r"/ping", self._ping),
                (r"/lists", self._get_lists),
                (r"/lists/([^/]+)", self._get_list),
                (r"/lists/([^/]+)/growth-history", self._get_growth_history),
                (r"/lists/([^/]+)/growth-history/([^/]+)", self._get_growth_month),
                (r"/lists/([^/]+)/members", self._get_members),
                (r"/lists/([^/]+)/members/([^/]+)", self._get_member),
                (r"/campaigns", self._get_campaigns),
                (r"/campaigns/([^/]+)", self._get_campaign),
                (r"/automations", self._get_automations),
                (r"/automations/([^/]+)", self._get_automation),
                (r"/automations/([^/]+)/emails", self._get_automation_emails),
                (r"/automations/([^/]+)/emails/([^/]+)", self._get_automation_email),
                (r"/reports", self._get_reports),
                (r"/reports/([^/]+)", self._get_report),
                (r"/reports/([^/]+)/email-activity", self._get_email_activity),
                (r"/reports/([^/]+)/sent-to", self._get_sent_to),
                (r"/reports/([^/]+)/unsubscribed", self._get_unsubscribed),
            )]
        self._server = _Server(self, _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/3.0"

    # --- data (call from the test thread at any time) ----------------------------------------------------------
    def add_list(self, list_id: str, name: str) -> None:
        """Add an audience (or rename one)."""
        with self._lock:
            self._lists[list_id] = name
            self._version += 1

    def add_campaign(self, campaign: FakeCampaign) -> None:
        """Add a campaign or automation email; an existing id gets the new details and keeps its activity.

        An unknown `list_id` is added as a list named after it.
        """
        if campaign.type not in ("regular", "automation"):
            raise ValueError(f"campaign type must be 'regular' or 'automation', not {campaign.type!r}")
        if campaign.type == "automation" and (not campaign.workflow_id or campaign.position < 1):
            raise ValueError("an automation email needs a workflow_id and a 1-based position")
        if campaign.delay_type not in DELAY_UNITS or (campaign.delay_amount or 0) < 0:
            raise ValueError(f"an automation delay is a non-negative amount of {sorted(DELAY_UNITS)}")
        with self._lock:
            self._lists.setdefault(campaign.list_id, f"List {campaign.list_id}")
            self._campaigns[campaign.id] = campaign
            self._activity.setdefault(campaign.id, CampaignActivity())
            self._version += 1

    def add_activity(self, rows: Iterable[FakeActivity]) -> None:
        """Add activity rows (any order); their campaigns must have been added."""
        grouped: dict[str, tuple[list[int], list[int], list[int]]] = {}
        with self._lock:
            for row in rows:
                if row.campaign_id not in self._campaigns:
                    raise ValueError(f"activity for unknown campaign {row.campaign_id!r}: add_campaign it first")
                code = CODES.get(row.action)
                if code is None:
                    raise ValueError(f"action must be one of {ACTIONS}, not {row.action!r}")
                cols = grouped.setdefault(row.campaign_id, ([], [], []))
                cols[0].append(self._email_number(row.email))
                cols[1].append(code)
                cols[2].append(epoch(row.timestamp))
            for campaign_id, (emails, actions, times) in grouped.items():
                self._activity[campaign_id].append(np.array(emails, np.int64), np.array(actions, np.int8),
                                                   np.array(times, np.int64))
            self._version += 1

    def bulk(self, n_rows: int, campaigns: int = 20, start: datetime = BULK_START, days: int = 30,
             seed: int = 0) -> None:
        """Add a list, `campaigns` regular campaigns sent over `days` from `start`, and exactly `n_rows` activity
        rows: about 45% "sent" (one per recipient and campaign), the rest opens, clicks, bounces and unsubscribes
        of those recipients in the hours after the send. Deterministic for a seed; a million rows take well
        under a second. Ids are derived from the seed, so load each seed once."""
        if n_rows < 0 or campaigns < 1 or days < 1:
            raise ValueError("bulk needs n_rows >= 0, campaigns >= 1 and days >= 1")
        rng = np.random.default_rng(seed)
        list_id = hex_id("bulk-list", seed)
        ids = [hex_id("bulk", seed, i) for i in range(campaigns)]
        with self._lock:
            if any(i in self._campaigns for i in ids):
                raise ValueError(f"bulk(seed={seed}) is already loaded")
        window = days * 86_400
        base = epoch(start)
        send = np.array([base + (i * window) // campaigns for i in range(campaigns)], np.int64)
        n_sent = min(n_rows, max(campaigns, int(n_rows * 0.45)))
        per = np.array([len(part) for part in np.array_split(np.arange(n_sent), campaigns)], np.int64)
        pool = max(1, 2 * int(per.max()))
        # Recipient numbers are 0-based in the pool here; the pool's first email number is added when it is stored.
        recipients = [rng.choice(pool, size=int(k), replace=False).astype(np.int64) for k in per]
        sent_times = [send[i] + rng.integers(0, 60, int(k)).astype(np.int64) for i, k in enumerate(per)]
        # The other rows: a campaign with recipients, one of its recipients, an action, a delay after the send.
        n_other = n_rows - n_sent
        owners = np.flatnonzero(per)
        camp = owners[rng.integers(0, len(owners), n_other)] if n_other else np.zeros(0, np.int64)
        pick = (rng.random(n_other) * per[camp]).astype(np.int64)
        offsets = np.concatenate(([0], np.cumsum(per)))
        other_emails = np.concatenate(recipients)[offsets[camp] + pick]
        other_actions = rng.choice(np.array([OPEN, CLICK, BOUNCE, UNSUB], np.int8), size=n_other,
                                   p=[0.66, 0.30, 0.025, 0.015])
        delay = np.minimum(rng.exponential(6 * 3600, n_other), window).astype(np.int64) + 60
        other_times = send[camp] + delay
        order = np.argsort(camp, kind="stable")
        bounds = np.searchsorted(camp[order], np.arange(campaigns + 1))
        names = [f"subscriber{i:07d}.{seed}@bulk.example.com" for i in range(pool)]
        with self._lock:
            self._lists[list_id] = f"Bulk audience {seed}"
            first = len(self._emails)
            for name in names:  # numbers stay aligned with the pool even if an address was seen before
                self._email_numbers.setdefault(name.lower(), len(self._emails))
                self._emails.append(name)
            for i, campaign_id in enumerate(ids):
                self._campaigns[campaign_id] = FakeCampaign(
                    campaign_id, f"Bulk campaign {i + 1}", "regular", list_id,
                    datetime.fromtimestamp(int(send[i]), UTC), subject_line=f"Bulk news {i + 1}")
                store = self._activity[campaign_id] = CampaignActivity()
                store.append(recipients[i] + first, np.full(len(recipients[i]), SENT, np.int8), sent_times[i])
                rows = order[bounds[i]:bounds[i + 1]]
                store.append(other_emails[rows] + first, other_actions[rows], other_times[rows])
            self._version += 1

    def totals(self) -> dict[tuple[str, str], int]:
        """(campaign_id, action) → number of rows, for every non-zero count."""
        with self._lock:
            out: dict[tuple[str, str], int] = {}
            for campaign_id, store in self._activity.items():
                _, actions, _ = store.columns()
                if len(actions):
                    for code, n in enumerate(np.bincount(actions, minlength=len(ACTIONS)).tolist()):
                        if n:
                            out[(campaign_id, ACTIONS[code])] = n
            return out

    def daily_counts(self, campaign_id: str, action: str) -> dict[date, int]:
        """The truth behind the API, for a test to compare with: a campaign's rows of one action per UTC day,
        whether the API shows their times or not (it never shows an automation email's send times)."""
        with self._lock:
            _, actions, times = self._activity[campaign_id].columns()
            chosen = times[actions == ACTIONS.index(action)]
        days = chosen.astype("datetime64[s]").astype("datetime64[D]")
        values, counts = np.unique(days, return_counts=True)
        return {date.fromisoformat(str(v)): int(n) for v, n in zip(values, counts, strict=True)}

    def add_member(self, list_id: str, email: str, subscribed_at: datetime, *, status: str = "subscribed",
                   unsubscribed_at: datetime | None = None) -> None:
        """Add (or replace) one audience member; see FakeMember."""
        self.add_members(list_id, [FakeMember(email, subscribed_at, status, unsubscribed_at)])

    def add_members(self, list_id: str, members: Iterable[FakeMember]) -> None:
        """Add (or replace) audience members, listed in the order first added. An unknown `list_id` is added as a
        list named after it. Members join the list's growth history at their opt-in and leave it when they
        unsubscribe (or, status "cleaned", at once); pending, transactional and archived contacts are not counted."""
        rows = list(members)
        for member in rows:
            member.check()
        with self._lock:
            self._lists.setdefault(list_id, f"List {list_id}")
            table = self._members.setdefault(list_id, MemberTable())
            for member in rows:
                table.put(self._email_number(member.email), member.email.strip(), member)
            self._version += 1

    def add_automation_sends(self, workflow_id: str, *, seed: int = 0, open_rate: float = 0.4,
                             click_rate: float = 0.1) -> int:
        """Send the workflow's emails to every member of its list added as subscribed, as Mailchimp's automation
        does: email 1 at the member's opt-in + its delay, email n at email n−1's send + email n's delay, none at or
        after the member's unsubscribe time. Each send is opened with probability `open_rate`, 1–48 hours later, and
        an opener clicks with probability click_rate / open_rate, 1–30 minutes after opening (so about `click_rate`
        of the sends are clicked). Seeded; returns the number of sends. Call it once per workflow, after adding members.

        The sends count in reports (`emails_sent`), the automation emails and `sent-to`, but, as with the real API,
        their per-subscriber times are never shown: email-activity lists only opens, clicks and bounces.
        """
        if not (0 <= click_rate <= 1 and 0 <= open_rate <= 1):
            raise ValueError("open_rate and click_rate are probabilities (0 to 1)")
        with self._lock:
            emails = self._workflows().get(workflow_id)
            if not emails:
                raise ValueError(f"unknown workflow {workflow_id!r}: add its automation emails first")
            table = self._members.get(emails[0].list_id) or MemberTable()
            numbers, at, left = table.subscribed()
            rng = np.random.default_rng(seed)
            click_given_open = min(1.0, click_rate / open_rate) if open_rate else 0.0
            alive = np.ones(len(numbers), bool)
            sends = 0
            for campaign in emails:
                at = at + campaign.delay_seconds
                alive &= at < left  # an unsubscribed member leaves the workflow: no later email reaches them
                cols = _automation_rows(numbers[alive], at[alive], rng, open_rate, click_given_open)
                self._activity[campaign.id].append(*cols)
                sends += int(alive.sum())
            self._version += 1
            return sends

    def repeat_across_pages(self, campaign_id: str, repeat: bool = True) -> None:
        """Make `/reports/{campaign_id}/email-activity` serve the entries [o − 1, o − 1 + count) at an offset o > 0.

        Mailchimp pages by offset over a list that keeps changing while a reader pages through it (an entry added
        before the reader's position pushes everyone after it down one place), so the last entry of one page comes
        again, with all of its activity, at the top of the next. `total_items` is unchanged; every entry is still
        served at least once.
        `repeat=False` switches it off.
        """
        with self._lock:
            self._campaign_for_setup(campaign_id)
            if repeat:
                self._repeating.add(campaign_id)
            else:
                self._repeating.discard(campaign_id)

    @property
    def jitter_seed(self) -> int:
        """The seed of the jitter RNG; assigning it restarts the RNG's sequence."""
        with self._lock:
            return self._jitter_seed

    @jitter_seed.setter
    def jitter_seed(self, seed: int) -> None:
        with self._lock:
            self._jitter_seed = seed
            self._jitter_rng = random.Random(seed)

    # --- faults (call from the test thread at any time) ----------------------------------------------------------
    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next `n` requests with `status` (400–599) and its problem JSON; `retry_after` (seconds) adds
        a Retry-After header."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next needs an error status (400-599), not {status}")
        with self._lock:
            self._faults.fail.extend([(status, retry_after)] * n)

    def clear_faults(self) -> None:
        """Forget every queued failure, delay and dropped connection (the API is back)."""
        with self._lock:
            self._faults.fail.clear()
            self._faults.slow.clear()
            self._faults.drop = 0

    def slow_next(self, n: int, seconds: float) -> None:
        """Delay the answers to the next `n` requests by `seconds` (on top of `latency`)."""
        with self._lock:
            self._faults.slow.extend([seconds] * n)

    def drop_next(self, n: int) -> None:
        """Close the connection of the next `n` requests without answering."""
        with self._lock:
            self._faults.drop += n

    @property
    def max_concurrent(self) -> int:
        """The highest number of requests in flight at once so far (assign 0 to reset)."""
        with self._flight_lock:
            return self._max_concurrent

    @max_concurrent.setter
    def max_concurrent(self, value: int) -> None:
        with self._flight_lock:
            self._max_concurrent = value

    # --- request handling (server threads) --------------------------------------------------------------------
    def next_plan(self) -> Plan:
        """Take this request's share of the fault schedule (each queue advances by one)."""
        with self._lock:
            faults = self._faults
            drop = faults.drop > 0
            faults.drop -= drop
            delay = (faults.slow.popleft() if faults.slow else 0.0) + self.latency
            if self.jitter > 0:  # drawn under the lock: one seeded sequence, whichever thread asks
                delay += self._jitter_rng.uniform(0, self.jitter)
            status, retry_after = faults.fail.popleft() if faults.fail and not drop else (None, None)
            return Plan(drop, delay, status, retry_after)

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[bool]:
        """Count a request while it is handled; yields whether it is over `concurrency_limit`."""
        with self._flight_lock:
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
            limit = self.concurrency_limit
            over = limit is not None and self._in_flight > limit
        try:
            yield over
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    def respond(self, method: str, path: str, query: dict[str, list[str]], authorization: str | None,
                plan: Plan, over_limit: bool) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, extra headers, JSON body) of one request; checks run in the order Mailchimp's do."""
        try:
            if plan.status is not None:
                headers = {} if plan.retry_after is None else {"Retry-After": f"{plan.retry_after:g}"}
                raise ApiError(plan.status, headers=headers)
            if over_limit:
                raise ApiError(429)
            self._check_key(authorization)
            handler, args = self._route(path)
            if method != "GET":
                raise ApiError(405, headers={"Allow": "GET"})
            q = Query({k: v for k, v in query.items() if k != "offset"} if self.ignore_offset else query)
            with self._lock:
                self._moment = None if self.clock is None else self.clock.timestamp()  # one moment per answer
                payload = handler(q, *args)
            return 200, {}, select(payload, q.paths("fields"), q.paths("exclude_fields"))
        except ApiError as exc:
            return exc.status, exc.headers, exc.body()
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            return 500, {}, ApiError(500, detail=f"fake Mailchimp failed: {exc!r}").body()

    def _check_key(self, authorization: str | None) -> None:
        if not authorization:
            raise ApiError(401, *MISSING_KEY)
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise ApiError(401)
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401) from None
        _, colon, key = decoded.partition(":")
        if not colon or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise ApiError(401)

    def _route(self, path: str) -> tuple[Endpoint, tuple[str, ...]]:
        if path.startswith("/3.0/") or path == "/3.0":
            rest = path[len("/3.0"):].rstrip("/")
            for pattern, handler in self._routes:
                if m := pattern.fullmatch(rest):
                    return handler, tuple(unquote(g) for g in m.groups())
        raise ApiError(404)

    # --- lookups (callers hold the lock) -------------------------------------------------------------------------
    def _email_number(self, email: str) -> int:
        key = email.strip().lower()
        number = self._email_numbers.get(key)
        if number is None:
            number = self._email_numbers[key] = len(self._emails)
            self._emails.append(email.strip())
        return number

    def _email_id(self, number: int) -> str:
        digest = self._md5.get(number)
        if digest is None:
            digest = self._md5[number] = subscriber_hash(self._emails[number])
        return digest

    def _campaign(self, campaign_id: str) -> FakeCampaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise ApiError(404)
        return campaign

    def _campaign_for_setup(self, campaign_id: str) -> FakeCampaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise ValueError(f"unknown campaign {campaign_id!r}: add_campaign it first")
        return campaign

    def _index(self, campaign_id: str) -> CampaignIndex:
        """The campaign's rows that have happened by the moment being answered."""
        return self._activity[campaign_id].index(self._moment)

    def _sent_at(self, campaign: FakeCampaign) -> int | None:
        """The send time if the campaign has been sent by now (a later one is only scheduled)."""
        if campaign.send_time is None:
            return None
        sent = epoch(campaign.send_time)
        return sent if self._moment is None or sent <= self._moment else None

    def _status(self, campaign: FakeCampaign) -> str:
        """Mailchimp's campaign status: "sent", "schedule" (send time still to come) or "save" (a draft)."""
        if campaign.send_time is None:
            return "save"
        return "sent" if self._sent_at(campaign) is not None else "schedule"

    def _create_time(self, campaign: FakeCampaign) -> int:
        if campaign.send_time is not None:
            return epoch(campaign.send_time) - 86_400
        return epoch(datetime(2020, 1, 1, tzinfo=UTC)) + 60 * list(self._campaigns).index(campaign.id)

    def _workflows(self) -> dict[str, list[FakeCampaign]]:
        """workflow id → its emails in position order (workflows in the order their first email was added)."""
        flows: dict[str, list[FakeCampaign]] = {}
        for campaign in self._campaigns.values():
            if campaign.type == "automation":
                flows.setdefault(campaign.workflow_id, []).append(campaign)
        return {wid: sorted(emails, key=lambda c: c.position) for wid, emails in flows.items()}

    # --- JSON objects --------------------------------------------------------------------------------------------
    def _recipients(self, campaign: FakeCampaign) -> dict[str, Any]:
        return {"list_id": campaign.list_id, "list_is_active": True, "list_name": self._lists[campaign.list_id],
                "segment_text": "", "recipient_count": self._index(campaign.id).stats.sent}

    def _settings(self, campaign: FakeCampaign) -> dict[str, Any]:
        return {"subject_line": campaign.subject_line, "preview_text": "", "title": campaign.title,
                "from_name": FROM_NAME, "reply_to": REPLY_TO, "use_conversation": False, "to_name": "",
                "folder_id": "", "authenticate": True, "auto_footer": False, "inline_css": False,
                "auto_tweet": False, "fb_comments": True, "timewarp": False, "template_id": 0, "drag_and_drop": True}

    @staticmethod
    def _summary(stats: Stats) -> dict[str, Any]:
        return {"opens": stats.opens, "unique_opens": stats.unique_opens, "open_rate": stats.open_rate,
                "clicks": stats.clicks, "subscriber_clicks": stats.unique_clicks, "click_rate": stats.click_rate,
                "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0}}

    def _campaign_json(self, campaign: FakeCampaign) -> dict[str, Any]:
        stats = self._index(campaign.id).stats
        status = self._status(campaign)
        out: dict[str, Any] = {
            "id": campaign.id, "web_id": web_id(campaign.id), "parent_campaign_id": "", "type": campaign.type,
            "create_time": iso(self._create_time(campaign)),
            "archive_url": f"https://eepurl.com/{campaign.id}", "long_archive_url": "",
            "status": status, "emails_sent": stats.sent,
            "send_time": iso(epoch(campaign.send_time)) if campaign.send_time else "",
            "content_type": "template", "needs_block_refresh": False, "resendable": False,
            "recipients": self._recipients(campaign), "settings": self._settings(campaign),
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False, "goal_tracking": False,
                         "ecomm360": False},
            "delivery_status": {"enabled": False},
        }
        if status == "sent":
            out["report_summary"] = self._summary(stats)
        return out

    def _report_json(self, campaign: FakeCampaign) -> dict[str, Any]:
        s = self._index(campaign.id).stats
        return {
            "id": campaign.id, "campaign_title": campaign.title, "type": campaign.type,
            "list_id": campaign.list_id, "list_is_active": True, "list_name": self._lists[campaign.list_id],
            "subject_line": campaign.subject_line, "preview_text": "", "emails_sent": s.sent, "abuse_reports": 0,
            "unsubscribed": s.unsubs, "send_time": iso(epoch(campaign.send_time)) if campaign.send_time else "",
            "bounces": {"hard_bounces": s.bounces, "soft_bounces": 0, "syntax_errors": 0},
            "forwards": {"forwards_count": 0, "forwards_opens": 0},
            "opens": {"opens_total": s.opens, "unique_opens": s.unique_opens, "open_rate": s.open_rate,
                      "last_open": iso(s.last_open)},
            "clicks": {"clicks_total": s.clicks, "unique_clicks": s.unique_clicks,
                       "unique_subscriber_clicks": s.unique_clicks, "click_rate": s.click_rate,
                       "last_click": iso(s.last_click)},
            "delivery_status": {"enabled": False},
        }

    def _automation_email_json(self, campaign: FakeCampaign) -> dict[str, Any]:
        stats = self._index(campaign.id).stats
        send = epoch(campaign.send_time) if campaign.send_time else None
        return {
            "id": campaign.id, "web_id": web_id(campaign.id), "workflow_id": campaign.workflow_id,
            "position": campaign.position, "delay": _delay_json(campaign),
            "create_time": iso(self._create_time(campaign)), "start_time": iso(send),
            "archive_url": f"https://eepurl.com/{campaign.id}",
            "status": "sending" if self._sent_at(campaign) is not None else "save",
            "emails_sent": stats.sent, "send_time": iso(send), "content_type": "template",
            "needs_block_refresh": False, "has_logo_merge_tag": False,
            "recipients": self._recipients(campaign), "settings": self._settings(campaign),
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
            "report_summary": self._summary(stats),
        }

    def _automation_json(self, workflow_id: str, emails: list[FakeCampaign]) -> dict[str, Any]:
        head = emails[0]
        stats = [self._index(c.id).stats for c in emails]
        sent_times = [epoch(c.send_time) for c in emails if c.send_time]
        started = any(self._sent_at(c) is not None for c in emails)  # an automation starts sending at its start
        created = min(self._create_time(c) for c in emails)
        opens, unique_opens, clicks, unique_clicks = (sum(getattr(s, name) for s in stats) for name in
                                                      ("opens", "unique_opens", "clicks", "unique_clicks"))
        delivered = sum(s.delivered for s in stats)
        return {
            "id": workflow_id, "create_time": iso(created), "start_time": iso(min(sent_times, default=None)),
            "status": "sending" if started else "save", "emails_sent": sum(s.sent for s in stats),
            "recipients": {"list_id": head.list_id, "list_is_active": True, "list_name": self._lists[head.list_id]},
            "settings": {"title": head.workflow_title or workflow_id, "from_name": FROM_NAME, "reply_to": REPLY_TO,
                         "use_conversation": False, "to_name": "", "authenticate": True, "auto_footer": False,
                         "inline_css": False},
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
            "trigger_settings": {"workflow_type": "emailSeries", "workflow_title": head.workflow_title,
                                 "workflow_emails_count": len(emails)},
            "report_summary": {"opens": opens, "unique_opens": unique_opens,
                               "open_rate": rate(unique_opens, delivered), "clicks": clicks,
                               "subscriber_clicks": unique_clicks, "click_rate": rate(unique_clicks, delivered)},
        }

    # --- endpoints (callers hold the lock) -------------------------------------------------------------------------
    def _ping(self, q: Query) -> dict[str, Any]:
        return {"health_status": "Everything's Chimpy!"}

    def _root(self, q: Query) -> dict[str, Any]:
        """`GET /3.0/`: the account the key belongs to."""
        return {"account_id": self.account_id, "login_id": "1", "account_name": "Test bakery",
                "email": "owner@example.com", "role": "owner", "pricing_plan_type": "monthly",
                "account_timezone": "Europe/London", "total_subscribers": self._known_addresses()}

    def _known_addresses(self) -> int:
        """Every address seen (the fake's account-wide contacts); with a clock, those seen by now."""
        if self._moment is None:
            return len(self._emails)
        seen = [self._index(c).recipients for c in self._campaigns]
        seen += [table.at(self._moment).numbers for table in self._members.values()]
        return len(np.unique(np.concatenate(seen))) if seen else 0

    def _get_lists(self, q: Query) -> dict[str, Any]:
        count, offset = q.paging()
        lists = [self._list_json(list_id) for list_id in self._lists]
        return {"lists": lists[offset:offset + count], "total_items": len(lists),
                "constraints": {"may_create": True, "max_instances": 1_000_000, "current_total_instances": len(lists)}}

    def _get_list(self, q: Query, list_id: str) -> dict[str, Any]:
        if list_id not in self._lists:
            raise ApiError(404)
        return self._list_json(list_id)

    def _list_json(self, list_id: str) -> dict[str, Any]:
        history = self._growth_history(list_id)
        campaigns = [c for c in self._campaigns.values() if c.list_id == list_id]
        last_sent = max((t for c in campaigns if (t := self._sent_at(c)) is not None), default=None)
        return {
            "id": list_id, "web_id": web_id(list_id), "name": self._lists[list_id],
            "date_created": "2020-01-01T00:00:00+00:00", "list_rating": 0, "visibility": "prv",
            "email_type_option": False, "double_optin": False,
            "stats": {"member_count": history[-1]["subscribed"] if history else 0,
                      "unsubscribe_count": sum(h["unsubscribed"] for h in history),
                      "cleaned_count": sum(h["cleaned"] for h in history), "campaign_count": len(campaigns),
                      "campaign_last_sent": iso(last_sent)},
        }

    def _growth_history(self, list_id: str) -> list[dict[str, Any]]:
        """Monthly growth, oldest first, from the list's campaign activity and members that have happened by now
        (see `growth_history`); cached per data version and clock reading, so a moved clock is never served a
        stale history."""
        key = (self._version, self._moment)
        cached = self._growth.get(list_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        cols = [self._activity[c.id].columns() for c in self._campaigns.values() if c.list_id == list_id]
        cols.append((self._members.get(list_id) or MemberTable()).growth_rows())
        e, a, t = (np.concatenate([c[i] for c in cols]) for i in range(3))
        if self._moment is not None:
            keep = t <= self._moment
            e, a, t = e[keep], a[keep], t[keep]
        history = growth_history(list_id, e, a, t)
        self._growth[list_id] = (key, history)
        return history

    def _get_growth_history(self, q: Query, list_id: str) -> dict[str, Any]:
        """Months newest first unless sort_dir=ASC."""
        if list_id not in self._lists:
            raise ApiError(404)
        count, offset = q.paging()
        q.choice("sort_field", ["month"])
        history = list(self._growth_history(list_id))
        if q.choice("sort_dir", ["ASC", "DESC"], "DESC") == "DESC":
            history.reverse()
        return {"history": history[offset:offset + count], "list_id": list_id, "total_items": len(history)}

    def _get_growth_month(self, q: Query, list_id: str, month: str) -> dict[str, Any]:
        if list_id not in self._lists:
            raise ApiError(404)
        for item in self._growth_history(list_id):
            if item["month"] == month:
                return item
        raise ApiError(404)

    def _member_view(self, list_id: str) -> MemberTable:
        if list_id not in self._lists:
            raise ApiError(404)
        return self._members.get(list_id) or MemberTable()

    def _get_members(self, q: Query, list_id: str) -> dict[str, Any]:
        """`GET /lists/{list_id}/members`: the members that exist by now, filtered, sorted and paged (see `page`)."""
        view = self._member_view(list_id).at(self._moment)
        positions, total = page(view, q)
        members = [self._member_json(list_id, view, int(i)) for i in positions.tolist()]
        return {"members": members, "list_id": list_id, "total_items": total}

    def _get_member(self, q: Query, list_id: str, key: str) -> dict[str, Any]:
        """`GET /lists/{list_id}/members/{subscriber_hash}`; 404 for an unknown member or one not subscribed yet."""
        table = self._member_view(list_id)
        view = table.at(self._moment)
        return self._member_json(list_id, view, find(view, table.number_of(key)))

    def _member_json(self, list_id: str, view: MemberView, i: int) -> dict[str, Any]:
        number = int(view.numbers[i])
        return member_json(list_id, number, self._emails[number], int(view.status[i]), int(view.opt[i]),
                           int(view.changed[i]))

    def _get_campaigns(self, q: Query) -> dict[str, Any]:
        """Regular campaigns (automation emails are listed under /automations), oldest created first by default."""
        count, offset = q.paging()
        kind = q.choice("type", ["regular", "plaintext", "absplit", "rss", "variate", "automation"])
        status = q.choice("status", ["save", "paused", "schedule", "sending", "sent"])
        list_id = q.text("list_id")
        items = [c for c in self._campaigns.values() if c.type == "regular" and kind in (None, "regular")
                 and (list_id is None or c.list_id == list_id)]
        if status is not None:
            items = [c for c in items if self._status(c) == status]
        items = between(items, q, "send_time", lambda c: epoch(c.send_time) if c.send_time else None)
        items = between(items, q, "create_time", self._create_time)
        sort_field = q.choice("sort_field", ["create_time", "send_time"], "create_time")
        descending = q.choice("sort_dir", ["ASC", "DESC"], "ASC") == "DESC"
        if sort_field == "send_time":
            unsent = [c for c in items if c.send_time is None]
            items = sorted((c for c in items if c.send_time), key=lambda c: epoch(c.send_time or BULK_START),
                           reverse=descending) + unsent
        else:
            items.sort(key=self._create_time, reverse=descending)
        return {"campaigns": [self._campaign_json(c) for c in items[offset:offset + count]],
                "total_items": len(items)}

    def _get_campaign(self, q: Query, campaign_id: str) -> dict[str, Any]:
        return self._campaign_json(self._campaign(campaign_id))

    def _get_automations(self, q: Query) -> dict[str, Any]:
        count, offset = q.paging()
        status = q.choice("status", ["save", "paused", "sending"])
        items = [self._automation_json(wid, emails) for wid, emails in self._workflows().items()]
        if status is not None:
            items = [a for a in items if a["status"] == status]
        items = between(items, q, "create_time", lambda a: parse_iso(a["create_time"]))
        items = between(items, q, "start_time", lambda a: parse_iso(a["start_time"]))
        return {"automations": items[offset:offset + count], "total_items": len(items)}

    def _get_automation(self, q: Query, workflow_id: str) -> dict[str, Any]:
        emails = self._workflows().get(workflow_id)
        if not emails:
            raise ApiError(404)
        return self._automation_json(workflow_id, emails)

    def _get_automation_emails(self, q: Query, workflow_id: str) -> dict[str, Any]:
        """Every email of the workflow in position order (the endpoint has no paging)."""
        emails = self._workflows().get(workflow_id)
        if not emails:
            raise ApiError(404)
        return {"emails": [self._automation_email_json(c) for c in emails], "total_items": len(emails)}

    def _get_automation_email(self, q: Query, workflow_id: str, email_id: str) -> dict[str, Any]:
        for campaign in self._workflows().get(workflow_id, []):
            if campaign.id == email_id:
                return self._automation_email_json(campaign)
        raise ApiError(404)

    def _get_reports(self, q: Query) -> dict[str, Any]:
        """Reports of every sent campaign and automation email, in the order they were added."""
        count, offset = q.paging()
        kind = q.choice("type", ["regular", "plaintext", "absplit", "rss", "variate", "automation"])
        items = [c for c in self._campaigns.values() if self._sent_at(c) is not None and kind in (None, c.type)]
        items = between(items, q, "send_time", lambda c: epoch(c.send_time) if c.send_time else None)
        return {"reports": [self._report_json(c) for c in items[offset:offset + count]], "total_items": len(items)}

    def _get_report(self, q: Query, campaign_id: str) -> dict[str, Any]:
        return self._report_json(self._campaign(campaign_id))

    def _get_email_activity(self, q: Query, campaign_id: str) -> dict[str, Any]:
        """One entry per recipient (in the order addresses were first seen), with their opens, clicks and bounces
        in time order; with `since`, only the events after it and only recipients that have such events.

        "sent" and "unsub" rows are never activity here: Mailchimp shows no per-subscriber send time (for an
        automation email, none at all) on this endpoint. With `repeat_across_pages`, a page at offset o > 0 starts
        at entry o − 1."""
        campaign = self._campaign(campaign_id)
        count, offset = q.paging()
        since = q.time("since")
        idx = self._index(campaign_id)
        if since is None:
            e, a, t, keep = idx.e, idx.a, idx.t, idx.is_event
            people, starts, ends = idx.recipients, idx.starts, idx.ends
        else:
            mask = idx.is_event & (idx.t > since)
            e, a, t = idx.e[mask], idx.a[mask], idx.t[mask]
            keep = np.ones(len(e), bool)
            people, starts, ends = groups(e)
        if offset > 0 and campaign_id in self._repeating:
            offset -= 1  # the list moved on by one since the previous page: its last entry comes again
        page_people = people[offset:offset + count].tolist()
        page_starts, page_ends = starts[offset:offset + count], ends[offset:offset + count]
        first = int(page_starts[0]) if page_people else 0
        last = int(page_ends[-1]) if page_people else 0
        rows = a[first:last].tolist(), t[first:last].tolist(), keep[first:last].tolist()
        emails = [{"campaign_id": campaign_id, "list_id": campaign.list_id, "list_is_active": True,
                   "email_id": self._email_id(number), "email_address": self._emails[number],
                   "activity": _activity_items(campaign_id, number, rows, lo, hi)}
                  for number, lo, hi in zip(page_people, (page_starts - first).tolist(),
                                            (page_ends - first).tolist(), strict=True)]
        return {"emails": emails, "campaign_id": campaign_id, "total_items": len(people)}

    def _get_sent_to(self, q: Query, campaign_id: str) -> dict[str, Any]:
        """Recipients with a "sent" row, in the order addresses were first seen."""
        campaign = self._campaign(campaign_id)
        count, offset = q.paging()
        idx = self._index(campaign_id)
        sent = np.unique(idx.e[idx.a == SENT])
        page = sent[offset:offset + count]
        positions = np.searchsorted(idx.recipients, page)
        out = []
        for number, pos in zip(page.tolist(), positions.tolist(), strict=True):
            lo, hi = int(idx.starts[pos]), int(idx.ends[pos])
            actions, times = idx.a[lo:hi], idx.t[lo:hi]
            opens = times[actions == OPEN]
            out.append({"email_id": self._email_id(number), "email_address": self._emails[number],
                        "merge_fields": {}, "vip": False,
                        "status": "hard" if bool((actions == BOUNCE).any()) else "sent",
                        "open_count": len(opens), "last_open": iso(int(opens.max())) if len(opens) else "",
                        "absplit_group": "", "gmt_offset": 0, "campaign_id": campaign_id,
                        "list_id": campaign.list_id, "list_is_active": True})
        return {"sent_to": out, "campaign_id": campaign_id, "total_items": len(sent)}

    def _get_unsubscribed(self, q: Query, campaign_id: str) -> dict[str, Any]:
        """One entry per "unsub" row, by recipient then time."""
        campaign = self._campaign(campaign_id)
        count, offset = q.paging()
        idx = self._index(campaign_id)
        rows = np.flatnonzero(idx.a == UNSUB)
        out = [{"email_id": self._email_id(number), "email_address": self._emails[number], "merge_fields": {},
                "vip": False, "timestamp": iso(ts), "reason": "", "campaign_id": campaign_id,
                "list_id": campaign.list_id, "list_is_active": True}
               for number, ts in zip(idx.e[rows[offset:offset + count]].tolist(),
                                     idx.t[rows[offset:offset + count]].tolist(), strict=True)]
        return {"unsubscribes": out, "campaign_id": campaign_id, "total_items": len(rows)}



def _delay_json(campaign: FakeCampaign) -> dict[str, Any]:
    """An automation email's `delay`: the first email waits after the signup, every later one after the email
    before it was sent."""
    amount, unit = campaign.delay, campaign.delay_type
    action = "signup" if campaign.position == 1 else "previous_campaign_sent"
    after = f"after {DELAY_ACTIONS[action]}"
    full = f"Immediately {after}" if amount == 0 else f"{amount} {unit}{'' if amount == 1 else 's'} {after}"
    return {"amount": amount, "type": unit, "direction": "after", "action": action, "action_description": after,
            "full_description": full}


def _activity_items(campaign_id: str, number: int, rows: tuple[list[int], list[int], list[bool]], lo: int,
                    hi: int) -> list[dict[str, Any]]:
    """One recipient's shown rows (codes, times, shown flags from `lo` to `hi`) as email-activity items."""
    codes, times, shown = rows
    address = ip(number)
    out: list[dict[str, Any]] = []
    for row in range(lo, hi):
        if not shown[row]:
            continue
        code = codes[row]
        item: dict[str, Any] = {"action": ACTIONS[code], "timestamp": iso(times[row]), "ip": address}
        if code == CLICK:
            item["url"] = f"https://example.com/offers/{campaign_id}"
        elif code == BOUNCE:
            item["type"] = "hard"
        out.append(item)
    return out


def _automation_rows(numbers: IntArray, at: IntArray, rng: np.random.Generator, open_rate: float,
                     click_given_open: float) -> tuple[IntArray, npt.NDArray[np.int8], IntArray]:
    """One automation email's rows: a send per member at `at`, then seeded opens (1–48 hours later) and clicks of
    some openers (1–30 minutes after their open)."""
    opened = rng.random(len(numbers)) < open_rate
    open_at = at[opened] + rng.integers(3_600, 48 * 3_600, int(opened.sum()))
    clicked = rng.random(len(open_at)) < click_given_open
    click_at = open_at[clicked] + rng.integers(60, 1_800, int(clicked.sum()))
    e = np.concatenate((numbers, numbers[opened], numbers[opened][clicked]))
    a = np.concatenate((np.full(len(numbers), SENT), np.full(len(open_at), OPEN),
                        np.full(len(click_at), CLICK))).astype(np.int8)
    return e, a, np.concatenate((at, open_at, click_at)).astype(np.int64)


# --- HTTP ------------------------------------------------------------------------------------------------------
class _Handler(LocalHandler):
    """Every method goes through FakeMailchimp.respond (only GET is served)."""

    server: _Server

    def _handle(self) -> None:
        fake = self.server.fake
        self._skip_body()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        with fake.in_flight() as over_limit:
            plan = fake.next_plan()
            if plan.delay:
                time.sleep(plan.delay)
            if plan.drop:
                fake.requests.append(LoggedRequest(self.command, url.path, query, None))
                self.close_connection = True  # no status line at all: the client sees the socket close
                return
            status, headers, payload = fake.respond(self.command, url.path, query, self.headers.get("Authorization"),
                                                    plan, over_limit)
            fake.requests.append(LoggedRequest(self.command, url.path, query, status))  # before answering
            data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            self.send_response(status)
            kind = "application/json" if status < 400 else "application/problem+json"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)


class _Server(LocalServer):
    fake: FakeMailchimp

"""The fakes' shared clock: what "now" is for every fake API of a test, advanced by the test a day at a time.

A real API only knows what has happened by now: GA4 serves a day partly processed until it settles, Mailchimp
reports the sends and opens that happened so far, Stripe lists the sessions created so far and expires the open
ones after 24 hours. A daily-operation test moves one clock shared by every fake and runs the product each day:

    clock = FakeClock(datetime(2026, 9, 1, 6, tzinfo=UTC))
    with FakeGA4(clock=clock) as ga4, FakeStripe(clock=clock) as stripe:
        for _ in range(10):
            run(as_of=clock.today())
            clock.advance(days=1)

A fake made without a clock keeps its old behaviour (every stored record visible, GA4's `today` fixed).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta


class FakeClock:
    """A thread-safe, test-controlled UTC clock (never the machine's: a test must not depend on the real date)."""

    def __init__(self, now: datetime) -> None:
        self._lock = threading.Lock()
        self._now = self._utc(now)

    @staticmethod
    def _utc(moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime (e.g. datetime(2026, 9, 1, 6, tzinfo=UTC))")
        return moment.astimezone(UTC)

    def now(self) -> datetime:
        """The current moment (aware, UTC)."""
        with self._lock:
            return self._now

    def timestamp(self) -> int:
        """The current moment as Unix seconds."""
        return int(self.now().timestamp())

    def today(self) -> date:
        """The current UTC day."""
        return self.now().date()

    def set(self, now: datetime) -> None:
        """Move to `now` (forwards or backwards)."""
        moment = self._utc(now)
        with self._lock:
            self._now = moment

    def advance(self, *, days: int = 0, hours: float = 0, seconds: float = 0) -> datetime:
        """Move forwards; returns the new moment."""
        step = timedelta(days=days, hours=hours, seconds=seconds)
        if step < timedelta(0):
            raise ValueError("advance moves forwards only; use set() to go back")
        with self._lock:
            self._now += step
            return self._now

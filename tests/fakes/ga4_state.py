"""Run-time knobs of the fake GA4 (faults, quota, late or settling data, empty days, flags, extra rows)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tests.fakes.ga4_schema import DAILY_QUOTA_MESSAGE, HOURLY_QUOTA_MESSAGE

# GA4 standard-property limits, reported in propertyQuota.
STANDARD_QUOTA = {"tokensPerDay": 200_000, "tokensPerHour": 40_000, "concurrentRequests": 10,
                  "serverErrorsPerProjectPerHour": 10, "potentiallyThresholdedRequestsPerHour": 120,
                  "tokensPerProjectPerHour": 14_000}
DEFAULT_SAMPLING = (50_000, 1_000_000)  # (samplesReadCount, samplingSpaceSize) when `sampled=True`


@dataclass(frozen=True, slots=True)
class Plan:
    """What the fault schedule does to one API request."""

    drop: bool = False
    delay: float = 0.0
    fail_status: int | None = None


@dataclass(frozen=True, slots=True)
class DayFlags:
    """Response metadata for requests that touch the day."""

    data_loss_from_other_row: bool = False
    subject_to_thresholding: bool = False
    sampled: bool | tuple[int, int] = False


@dataclass(frozen=True, slots=True)
class RepeatRow:
    """A row of a day's result that is served a second time at the end: its position, and whether the copy differs."""

    index: int
    conflicting: bool = False


@dataclass(slots=True)
class QuotaCharge:
    """Tokens a request was charged, or the reason it was refused."""

    consumed: int = 0
    refused: str | None = None
    status: dict[str, dict[str, int]] = field(default_factory=dict)


class FakeState:
    """Everything a test may change while the server runs; every method takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail: deque[int] = deque()
        self._slow: deque[float] = deque()
        self._drop = 0
        self._day_budget = STANDARD_QUOTA["tokensPerDay"]
        self._hour_budget = STANDARD_QUOTA["tokensPerHour"]
        self._per_request = 1
        self._used_day = self._used_hour = self._server_errors = 0
        self._revisions: dict[date, float] = {}
        self._flags: dict[date, DayFlags] = {}
        self._injected: dict[tuple[date, str], list[dict[str, str]]] = {}
        self._settling: dict[int, float] = {}  # age in days → share of the final numbers served
        self._empty: dict[date, date | None] = {}  # day → first "today" it is served again (None: never)
        self._repeats: dict[tuple[date, str], list[RepeatRow]] = {}
        self.version = 0  # bumped whenever served data changes, so cached results are not reused

    def fail_next(self, n: int, status: int) -> None:
        if status not in (429, 500, 503):
            raise ValueError(f"fail_next supports 429, 500 and 503, not {status}")
        with self._lock:
            self._fail.extend([status] * n)

    def slow_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._slow.extend([seconds] * n)

    def drop_next(self, n: int) -> None:
        with self._lock:
            self._drop += n

    def next_plan(self) -> Plan:
        """Take this request's share of the fault schedule (each queue advances by one)."""
        with self._lock:
            drop = self._drop > 0
            self._drop -= drop
            delay = self._slow.popleft() if self._slow else 0.0
            status = None if drop or not self._fail else self._fail.popleft()
            return Plan(drop, delay, status)

    def quota(self, tokens_per_day: int, tokens_per_request: int = 1, tokens_per_hour: int | None = None) -> None:
        with self._lock:
            self._day_budget, self._per_request = tokens_per_day, tokens_per_request
            self._hour_budget = tokens_per_hour if tokens_per_hour is not None else STANDARD_QUOTA["tokensPerHour"]
            self._used_day = self._used_hour = 0

    def server_error(self) -> None:
        with self._lock:
            self._server_errors += 1

    def charge(self, reports: int) -> QuotaCharge:
        """Charge `reports` reports' tokens, or refuse (daily before hourly) if the budget cannot cover them."""
        with self._lock:
            cost = reports * self._per_request
            if self._used_day + cost > self._day_budget:
                return QuotaCharge(refused=DAILY_QUOTA_MESSAGE)
            if self._used_hour + cost > self._hour_budget:
                return QuotaCharge(refused=HOURLY_QUOTA_MESSAGE)
            self._used_day += cost
            self._used_hour += cost
            return QuotaCharge(consumed=self._per_request, status=self._status_locked())

    def _status_locked(self) -> dict[str, dict[str, int]]:
        # GA4 semantics: `consumed` is what this request cost, `remaining` what is left after it.
        cost = self._per_request
        return {
            "tokensPerDay": {"consumed": cost, "remaining": max(0, self._day_budget - self._used_day)},
            "tokensPerHour": {"consumed": cost, "remaining": max(0, self._hour_budget - self._used_hour)},
            "concurrentRequests": {"remaining": STANDARD_QUOTA["concurrentRequests"]},
            "serverErrorsPerProjectPerHour": {
                "remaining": max(0, STANDARD_QUOTA["serverErrorsPerProjectPerHour"] - self._server_errors)},
            "potentiallyThresholdedRequestsPerHour": {
                "remaining": STANDARD_QUOTA["potentiallyThresholdedRequestsPerHour"]},
            "tokensPerProjectPerHour": {
                "consumed": cost, "remaining": max(0, STANDARD_QUOTA["tokensPerProjectPerHour"] - self._used_hour)},
        }

    def revise(self, day: date, factor: float) -> None:
        """Serve `day` with its metrics multiplied by `factor` (not cumulative: 1.0 restores the original)."""
        with self._lock:
            self._revisions[day] = factor
            self.version += 1

    def revision(self, day: date) -> float:
        with self._lock:
            return self._revisions.get(day, 1.0)

    def settling(self, profile: Mapping[int, float]) -> None:
        """Serve a day `age` days before today at `profile[age]` of its numbers (replaces the previous profile)."""
        ages = {int(age): float(share) for age, share in profile.items()}
        if any(age < 0 for age in ages) or any(share < 0 for share in ages.values()):
            raise ValueError(f"settling needs ages and factors of at least 0, got {dict(profile)}")
        with self._lock:
            self._settling = ages
            self.version += 1

    def factor(self, day: date, today: date) -> float:
        """What `day`'s metrics are multiplied by when read on `today`: its revision times its settling share."""
        age = (today - day).days
        with self._lock:
            share = self._settling.get(age, 1.0) if age >= 0 else 1.0  # a future day has nothing left to settle
            return self._revisions.get(day, 1.0) * share

    def empty_day(self, day: date, until: date | None) -> None:
        with self._lock:
            self._empty[day] = until
            self.version += 1

    def is_empty(self, day: date, today: date) -> bool:
        """Whether `day` is answered with no rows when read on `today`."""
        with self._lock:
            if day not in self._empty:
                return False
            until = self._empty[day]
        return until is None or today < until

    def repeat_row(self, day: date, item_dimension: str, repeat: RepeatRow) -> None:
        with self._lock:
            self._repeats.setdefault((day, item_dimension), []).append(repeat)
            self.version += 1

    def repeats(self, day: date, item_dimension: str) -> list[RepeatRow]:
        with self._lock:
            return list(self._repeats.get((day, item_dimension), ()))

    def set_flags(self, day: date, flags: DayFlags) -> None:
        with self._lock:
            self._flags[day] = flags
            self.version += 1

    def flags_for(self, days: list[date]) -> DayFlags:
        """Flags of a set of days: a flag holds if it holds on any day; the first sampled day's counts win."""
        with self._lock:
            found = [self._flags[d] for d in days if d in self._flags]
        sampled = next((f.sampled for f in found if f.sampled), False)
        return DayFlags(any(f.data_loss_from_other_row for f in found),
                        any(f.subject_to_thresholding for f in found), sampled)

    def inject_rows(self, day: date, item_dimension: str, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            self._injected.setdefault((day, item_dimension), []).extend(
                {k: str(v) for k, v in row.items()} for row in rows)
            self.version += 1

    def injected(self, day: date, item_dimension: str) -> list[dict[str, str]]:
        with self._lock:
            return list(self._injected.get((day, item_dimension), ()))

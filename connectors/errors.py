"""The one error vocabulary of every connector: transient (retried) or permanent (says what to fix)."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


class ConnectorError(Exception):
    """Base of every connector error."""


class TransientError(ConnectorError):
    """429, 5xx, timeouts, dropped connections: worth another try, after `retry_after` seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Auth, permissions, bad arguments: retrying cannot help; the message says what to fix."""


class NotConfigured(PermanentError):
    """A setting the connector needs is missing or malformed: the message names the variable and the fix."""


class AccessDenied(PermanentError):
    """The key may not read this endpoint (403: `permission` names what it lacks, when the API says), or the
    endpoint is not there for this account (404). An optional stream is left out with one warning; a required
    one fails its source with the message's fix."""

    def __init__(self, message: str, *, permission: str | None = None, account: str | None = None,
                 status: int = 403) -> None:
        super().__init__(message)
        self.permission = permission
        self.account = account
        self.status = status


class QuotaExhausted(ConnectorError):
    """The source's quota for the period is spent (or down to its reserve): stop now, resume next run."""


@dataclass(frozen=True)
class Rejected:
    """A source record that could not be read, kept whole for the quarantine table. A reader yields it in place
    of the record; the landing knows it by `unreadable` (it imports no connector)."""

    unreadable: ClassVar[bool] = True
    key: str
    reason: str
    payload: dict[str, Any]


class RetryBudget:
    """Seconds a source may still spend waiting between retries in one run, shared by all its requests (and
    threads): a long burst of errors is waited out as long as the budget lasts, then the next error is final."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0
        self._lock = threading.Lock()

    def take(self, wait: float) -> bool:
        """Reserve `wait` seconds; False (nothing reserved) when that would go over the budget."""
        with self._lock:
            if self.spent + wait > self.seconds:
                return False
            self.spent += wait
            return True


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter within a time budget; Retry-After wins when the server sends it.

    `budget_seconds` bounds the waiting of one call, or of every call sharing `budget` (a source's run: see
    `for_source`); `attempts`, when set, also caps the tries of one call (tests keep their runs short with it).
    """

    attempts: int | None = None
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    budget_seconds: float = 600.0
    budget: RetryBudget | None = None

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait before try `attempt + 1`: Retry-After in full plus up to 10 % (so that readers told the same
        moment do not all come back at once), else half the capped exponential step plus a random half."""
        if retry_after is not None:
            wait = max(retry_after, 0.0)
            return wait + random.uniform(0, 0.1 * wait)
        step = min(self.max_seconds, self.base_seconds * 2.0**attempt)
        return step / 2 + random.uniform(0, step / 2)

    def for_source(self) -> RetryPolicy:
        """This policy with a budget of its own, shared by every request made with the copy (one source's run)."""
        return dataclasses.replace(self, budget=RetryBudget(self.budget_seconds))


DEFAULT_POLICY = RetryPolicy()


def source_policy(retry_minutes: float) -> RetryPolicy:
    """A source's retries for one run: every request of it shares `retry_minutes` of waiting."""
    return RetryPolicy(budget_seconds=retry_minutes * 60).for_source()


def with_retries(call: Callable[[], T], classify: Callable[[Exception], ConnectorError], *,
                 policy: RetryPolicy = DEFAULT_POLICY, sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, TransientError, float], None] | None = None) -> T:
    """Run `call`; retry what `classify` calls transient while the policy's time budget lasts, raise the rest as
    classified.

    Only exceptions that `classify` recognises are caught: it re-raises anything else,
    so a bug never hides behind retries.
    """
    budget = policy.budget or RetryBudget(policy.budget_seconds)
    attempt = 0
    while True:
        try:
            return call()
        except ConnectorError:
            raise
        except Exception as exc:  # classify() re-raises what it does not know
            error = classify(exc)
            if not isinstance(error, TransientError):
                raise error from exc
            wait = policy.delay(attempt, error.retry_after)
            last = policy.attempts is not None and attempt + 1 >= policy.attempts
            if last or not budget.take(wait):
                raise _spent(error, attempt + 1, budget) from exc
            attempt += 1
            if on_retry is not None:
                on_retry(attempt, error, wait)
            sleep(wait)


def _spent(error: TransientError, tries: int, budget: RetryBudget) -> TransientError:
    """The final transient error, saying how long it was waited out."""
    return TransientError(f"{error} (gave up after {tries} tries and {budget.spent:.0f} s of waiting; the next "
                          "run resumes where this one stopped)", error.retry_after)

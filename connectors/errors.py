"""The one error vocabulary of every connector: transient (retried) or permanent (says what to fix)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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


class QuotaExhausted(ConnectorError):
    """The source's quota for the period is spent (or down to its reserve): stop now, resume next run."""


@dataclass(frozen=True)
class Rejected:
    """A source record that could not be read, kept whole for the quarantine table."""

    key: str
    reason: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; Retry-After wins when the server sends it."""

    attempts: int = 5
    base_seconds: float = 1.0
    max_seconds: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_seconds)
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))


DEFAULT_POLICY = RetryPolicy()


def with_retries(call: Callable[[], T], classify: Callable[[Exception], ConnectorError], *,
                 policy: RetryPolicy = DEFAULT_POLICY, sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, TransientError, float], None] | None = None) -> T:
    """Run `call`; retry what `classify` calls transient, raise the rest as classified.

    Only exceptions that `classify` recognises are caught: it re-raises anything else,
    so a bug never hides behind retries.
    """
    for attempt in range(policy.attempts):
        try:
            return call()
        except ConnectorError:
            raise
        except Exception as exc:  # classify() re-raises what it does not know
            error = classify(exc)
            if not isinstance(error, TransientError) or attempt == policy.attempts - 1:
                raise error from exc
            wait = policy.delay(attempt, error.retry_after)
            if on_retry is not None:
                on_retry(attempt + 1, error, wait)
            sleep(wait)
    raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

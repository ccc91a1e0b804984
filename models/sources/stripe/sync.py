"""Stripe's sync: the checkout sessions of the days to read (the source's reason to be read), then its optional
streams (subscriptions, refunds, payment intents), each left out with one warning when the key may not read it.
The readers come from its connector (`connectors.stripe.StripeReaders`); this module imports none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from models.sources.stripe.streams import STRIPE_CHECKOUTS, STRIPE_PAYMENT_INTENTS, STRIPE_REFUNDS, STRIPE_SUBSCRIPTIONS
from models.sync import Reader, SourceResult, SyncRun, skipped_warning, sync_stream
from models.sync.rows import Hasher, RawStream

# Stripe's optional streams: (stream, what it gives the map). Checkout sessions are the source's reason to be
# read; a key that may not read one of these (a restricted key, 403) or an account without it (404) leaves it out.
STRIPE_OPTIONAL = {"subscriptions": "subscriptions_started / _canceled",
                   "refunds": "refunds", "payment_intents": "payments_succeeded / _failed"}

OnRetry = Callable[[int, Exception, float], None]  # attempt, the error, seconds until the next try


class StripeReads(Protocol):
    """What the sync reads of Stripe (its connector's `open` builds it)."""

    def account(self) -> tuple[str, str]:
        """The account the rows are stored under, and a warning when it had to be guessed (else "")."""
        ...

    def checkout_sessions(self, salt: Hasher, on_retry: OnRetry) -> Reader: ...

    def subscriptions(self, on_retry: OnRetry) -> Reader: ...

    def refunds(self, on_retry: OnRetry) -> Reader: ...

    def payment_intents(self, on_retry: OnRetry) -> Reader: ...


def sync_stripe(run: SyncRun, readers: StripeReads) -> SourceResult:
    """Load the checkout sessions of the days to read (or the backfill's window), then the optional streams;
    subscriptions only when the run reads the whole lists (`run.snapshots`: a backfill's chunks read them once)."""
    account, guessed = readers.account()
    hasher = run.hasher(account)
    result = SourceResult(run.source, account=account, warnings=[guessed] if guessed else [])

    def retry(attempt: int, error: Exception, wait: float) -> None:
        run.log.warning("stripe retry %d in %.0f s: %s", attempt, wait, error)

    optional: list[tuple[RawStream, Reader]] = [(STRIPE_REFUNDS, readers.refunds(retry)),
                                                (STRIPE_PAYMENT_INTENTS, readers.payment_intents(retry))]
    if run.snapshots:
        optional.insert(0, (STRIPE_SUBSCRIPTIONS, readers.subscriptions(retry)))
    with run.tracked(run.settings.history_days, "sync-stripe-checkout-sessions",
                     f"Loading Stripe checkout sessions ({account})") as progress:
        result.streams.append(sync_stream(run.engine, STRIPE_CHECKOUTS, readers.checkout_sessions(hasher, retry),
                                          account, run.as_of, run.settings, hasher=hasher,
                                          on_page=lambda r: progress.step(f"stripe checkout sessions ({r.rows:,})"),
                                          window=run.window))
        for stream, reader in optional:
            try:
                result.streams.append(sync_stream(run.engine, stream, reader, account, run.as_of, run.settings,
                                                  hasher=hasher, window=run.window))
            except run.errors.refused as exc:
                result.skipped[stream.stream] = str(exc)
    if result.skipped:
        result.warnings.append(skipped_warning("Stripe", result.skipped, STRIPE_OPTIONAL))
    for done in result.streams:
        run.log.info("stripe/%s: %s..%s, %d rows, %d quarantined", done.stream, done.since, done.until, done.rows,
                     done.quarantined)
    return result

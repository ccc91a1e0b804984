"""A local HTTP server speaking the GA4 Data API v1beta REST wire format, for tests that drive the official SDK."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from tests.fakes.clock import FakeClock
from tests.fakes.ga4_auth import TokenAuthority, key_identity, make_service_account
from tests.fakes.ga4_data import DayCache, DayFunction, DaySource, bulk_data, demo_data
from tests.fakes.ga4_http import LoggedRequest, RequestLog, make_server
from tests.fakes.ga4_report import ITEM_DIMENSIONS, ReportEngine
from tests.fakes.ga4_state import DayFlags, FakeState, RepeatRow
from tests.fakes.serving import Serving

__all__ = ["FakeGA4", "LoggedRequest", "RequestLog", "bulk_data", "demo_data", "make_service_account"]


class FakeGA4(Serving):
    """The fake Data API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Args:
        data: `(day) -> DataFrame | {item dimension: DataFrame}`, or an object with `day_frames(day)`;
            defaults to `demo_data()`.
        property_id: the property the generated service account may read.
        allowed_properties: the property ids the key may read (others → 403); defaults to {property_id}.
        today: what "today", "yesterday" and "NdaysAgo" mean; defaults to the real date. Not with `clock`.
        clock: a shared FakeClock; "today" is then its day at the moment of each request, and days after it
            are served with no rows.
        currency_code, time_zone: the property settings echoed in every response's metadata.
        cache_days: how many days of frames to keep in memory.
        tmp_dir: where to write the service-account key; a temporary folder (removed on stop) if None.
    """

    def __init__(self, data: DayFunction | DaySource | None = None, property_id: str = "123", *,
                 allowed_properties: Iterable[str] | None = None, today: date | None = None,
                 currency_code: str = "GBP", time_zone: str = "Europe/London", cache_days: int = 400,
                 tmp_dir: Path | str | None = None, clock: FakeClock | None = None) -> None:
        if today is not None and clock is not None:
            raise ValueError("give FakeGA4 either today= or clock=, not both: with a clock, today is the clock's day")
        self.property_id = property_id
        self.state = FakeState()
        self.auth = TokenAuthority()
        self.requests = RequestLog()
        self.engine = ReportEngine(DayCache(data if data is not None else demo_data(), cache_days), self.state,
                                   today or date.today(), currency_code, time_zone, clock)
        self._allowed = frozenset(allowed_properties if allowed_properties is not None else {property_id})
        self._lock = threading.Lock()
        self._own_dir = tmp_dir is None
        self._dir = Path(tmp_dir) if tmp_dir is not None else Path(tempfile.mkdtemp(prefix="fake-ga4-"))
        self._server = make_server(self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.token_uri = f"{self.url}/token"
        self.credentials_file, self.public_pem = make_service_account(self._dir, self.token_uri)
        self.key_id, self.service_account_email = key_identity(self.credentials_file)
        self.auth.trust(self.key_id, self.service_account_email, self.public_pem)

    @property
    def today(self) -> date:
        """What "today" means to the next request: the clock's day, or the fixed `today`."""
        return self.engine.today

    def _on_stop(self) -> None:
        if self._own_dir:  # the service-account key folder, when it is ours
            shutil.rmtree(self._dir, ignore_errors=True)

    # --- access ---------------------------------------------------------------------------------------
    @property
    def allowed_properties(self) -> frozenset[str]:
        with self._lock:
            return self._allowed

    @allowed_properties.setter
    def allowed_properties(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._allowed = frozenset(ids)

    @property
    def tokens_issued(self) -> int:
        """Access tokens issued by /token so far."""
        return self.auth.tokens_issued

    def add_service_account(self) -> Path:
        """Another trusted key file (same token endpoint), e.g. to test two readers."""
        path, pem = make_service_account(self._dir, self.token_uri)
        key_id, email = key_identity(path)
        self.auth.trust(key_id, email, pem)
        return path

    # --- faults and data changes (call from the test thread at any time) -------------------------------
    def fail_next(self, n: int, status: int) -> None:
        """Answer the next `n` API requests with 429 (Retry-After: 1), 500 or 503."""
        self.state.fail_next(n, status)

    def slow_next(self, n: int, seconds: float) -> None:
        """Delay the answers to the next `n` API requests by `seconds`."""
        self.state.slow_next(n, seconds)

    def drop_next(self, n: int) -> None:
        """Close the connection of the next `n` API requests without answering."""
        self.state.drop_next(n)

    def quota(self, tokens_per_day: int, tokens_per_request: int = 1, tokens_per_hour: int | None = None) -> None:
        """Start a fresh token budget; each report costs `tokens_per_request`; then 429 "per day"/"per hour"."""
        self.state.quota(tokens_per_day, tokens_per_request, tokens_per_hour)

    def revise(self, day: date, factor: float) -> None:
        """Serve `day` with its metrics times `factor` (GA4's late data); 1.0 undoes it."""
        self.state.revise(day, factor)

    def flags(self, day: date, *, data_loss_from_other_row: bool = False, subject_to_thresholding: bool = False,
              sampled: bool | tuple[int, int] = False) -> None:
        """Response metadata of requests touching `day`; `sampled` may give (samplesRead, samplingSpace)."""
        self.state.set_flags(day, DayFlags(data_loss_from_other_row, subject_to_thresholding, sampled))

    def inject_rows(self, day: date, report_item_dim: str, rows: list[dict[str, Any]]) -> None:
        """Serve these rows verbatim (as text, not aggregated) for `day` in reports keyed by `report_item_dim`."""
        self.state.inject_rows(day, report_item_dim, rows)

    def settling(self, profile: Mapping[int, float]) -> None:
        """Serve each day at `profile[age]` of its final numbers, age being (today − day).days; `{}` turns it off.

        GA4 keeps processing a day's events for a day or two after it ends, so a recent day read again later has
        grown: with `{1: 0.85, 2: 0.95}` and a clock moving a day at a time, a day reads 85 %, then 95 %, then its
        final numbers. Ages not listed (and future days) are served whole. Every finest-grain row is scaled like
        `revise` (integers rounded), and the two multiply.
        """
        self.state.settling(profile)

    def empty_day(self, day: date, until: date | None = None) -> None:
        """Answer every report with no rows for `day` while today < `until` (for good if `until` is None).

        GA4 answers a day it is still processing, or lost to an outage, like a day without traffic: no `rows`,
        no `rowCount`, the usual metadata and quota; it fills in later. Other days of a request are unaffected.
        """
        self.state.empty_day(day, until)

    def repeat_row(self, day: date, item_dimension: str, *, index: int = 0, conflicting: bool = False) -> None:
        """Serve the row at `index` of `day`'s sorted result a second time, as the result's very last row.

        GA4 does not promise unique rows: while a day is still processing, a dimension combination can come back
        twice, on a later page than the first. `rowCount` counts the copy; with `conflicting` its integer metrics
        are one higher (same dimensions, different numbers). Applies to reports keyed by `item_dimension`.
        """
        if item_dimension not in ITEM_DIMENSIONS:
            raise ValueError(f"item_dimension must be one of {', '.join(ITEM_DIMENSIONS)}, not {item_dimension!r}")
        if index < 0:
            raise ValueError(f"index must not be negative, got {index}")
        self.state.repeat_row(day, item_dimension, RepeatRow(index, conflicting))

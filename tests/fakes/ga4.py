"""A local HTTP server speaking the GA4 Data API v1beta REST wire format, for tests that drive the official SDK."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from tests.fakes.ga4_auth import TokenAuthority, key_identity, make_service_account
from tests.fakes.ga4_data import DayCache, DayFunction, DaySource, bulk_data, demo_data
from tests.fakes.ga4_http import LoggedRequest, RequestLog, make_server
from tests.fakes.ga4_report import ReportEngine
from tests.fakes.ga4_state import DayFlags, FakeState
from tests.fakes.serving import Serving

__all__ = ["FakeGA4", "LoggedRequest", "RequestLog", "bulk_data", "demo_data", "make_service_account"]


class FakeGA4(Serving):
    """The fake Data API on 127.0.0.1 (a free port), in a background thread; use it as a context manager.

    Args:
        data: `(day) -> DataFrame | {item dimension: DataFrame}`, or an object with `day_frames(day)`;
            defaults to `demo_data()`.
        property_id: the property the generated service account may read.
        allowed_properties: the property ids the key may read (others → 403); defaults to {property_id}.
        today: what "today", "yesterday" and "NdaysAgo" mean; defaults to the real date.
        currency_code, time_zone: the property settings echoed in every response's metadata.
        cache_days: how many days of frames to keep in memory.
        tmp_dir: where to write the service-account key; a temporary folder (removed on stop) if None.
    """

    def __init__(self, data: DayFunction | DaySource | None = None, property_id: str = "123", *,
                 allowed_properties: Iterable[str] | None = None, today: date | None = None,
                 currency_code: str = "GBP", time_zone: str = "Europe/London", cache_days: int = 400,
                 tmp_dir: Path | str | None = None) -> None:
        self.property_id = property_id
        self.state = FakeState()
        self.auth = TokenAuthority()
        self.requests = RequestLog()
        self.engine = ReportEngine(DayCache(data if data is not None else demo_data(), cache_days), self.state,
                                   today or date.today(), currency_code, time_zone)
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

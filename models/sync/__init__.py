"""The sync engine (windows, settling and retries of days, landing, quarantine, cursors) and what a source's sync
gets from the flow (`SyncRun`); each source's own sync is in `models/sources/<source>/sync.py`."""

from __future__ import annotations

from models.sync.engine import (
    BULK_BATCH,
    LandingError,
    Pages,
    Reader,
    SourceNotConfigured,
    SourceResult,
    StreamResult,
    as_dict,
    land_covered,
    refused_writes,
    skipped_warning,
    stored_days,
    sync_stream,
    window_to_read,
)
from models.sync.run import Progress, ReadErrors, SyncRun, Tracker, no_progress

__all__ = ["BULK_BATCH", "LandingError", "Pages", "Progress", "ReadErrors", "Reader", "SourceNotConfigured",
           "SourceResult", "StreamResult", "SyncRun", "Tracker", "as_dict", "land_covered", "no_progress",
           "refused_writes", "skipped_warning", "stored_days", "sync_stream", "window_to_read"]

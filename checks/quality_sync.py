"""Checks of the sync itself, beside the Great Expectations suites: days that have not settled yet, and optional
streams a source left out. Pure: the flow hands over what the day ledger and the run's syncs say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from checks.quality import Check, CheckResult


def settled_results(unsettled: Mapping[str, Mapping[str, list[dt.date]]], settle_days: Mapping[str, int],
                    as_of: dt.date, severity: Mapping[str, str]) -> list[CheckResult]:
    """Per source: days read before they settled are still changing (late data) and are shown as such; it
    fails only when a day older than the source's settle time is still unsettled (a stopped sync left it)."""
    out = []
    for source, settle in settle_days.items():
        days = sorted({d for stream_days in unsettled.get(source, {}).values() for d in stream_days})
        stuck = [d for d in days if (as_of - d).days >= settle]
        check = Check(f"{source} days older than {settle} days have settled (read again until they are)", "settled",
                      source, "synced_days", "", None, ("day",),
                      "run again: each run re-reads the days that have not settled (a quota stop or a failure "
                      "left these)")
        observed = (f"{len(days)} day(s) still settling, {_span(days)}: read before {source}'s {settle}-day settle "
                    "time, so late data may still change them; the next runs read them again" if days
                    else "every day has settled")
        out.append(CheckResult(check, severity.get("settled", "warning"), not stuck, observed, len(stuck),
                               [{"day": d.isoformat()} for d in stuck[:10]]))
    return out


def stream_results(skipped: Mapping[str, Mapping[str, str]], severity: Mapping[str, str]) -> list[CheckResult]:
    """One failed check per optional stream a source left out (the key may not read it), with the reason."""
    return [CheckResult(Check(f"{source} {stream.replace('_', ' ')} is read", "streams", source, stream, "", None,
                              (), "give the key read access to it (the reason says which permission)"),
                        severity.get("streams", "warning"), False, reason)
            for source, streams in skipped.items() for stream, reason in streams.items()]


def _span(days: list[dt.date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()} – {days[-1].isoformat()}"

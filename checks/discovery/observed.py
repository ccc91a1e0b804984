"""What the sources show over a window, read from the raw landing tables exactly as the mapping reads them: the
ground `journeymap discover` proposes a map from, and that a map's drift and coverage are judged on. Every
discoverable source is read through the registry; what each one lends is its `SourceParts.discover`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from models.config import Touchpoint
from models.sources import SOURCES
from models.sources.discovery import OnRecord, SourceDiscovery
from models.sources.registry import PARTS

# the sources discover reads, in the registry's order, with what each lends it
DISCOVERED: dict[str, SourceDiscovery] = {
    s.name: lent for s in SOURCES if s.discoverable and (lent := PARTS[s.name].discover) is not None}


@dataclass(frozen=True)
class Observed:
    """The raw rows of each discovered source over [since, until], as the mapping reads them, and what each keeps
    on record beside them (every email, an account's time zone and currency)."""

    since: dt.date
    until: dt.date
    raw: dict[str, pd.DataFrame]  # source → the mapping reader's frame
    records: dict[str, OnRecord] = field(default_factory=dict)
    time_zone: str | None = None  # the first source's that says (a web analytics property's)
    currency: str | None = None  # the most used currency of the sales (else an account's setting)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def weight(self, source: str) -> pd.Series:
        """Each raw row's base volume, by its source (a visit, a page view, an event, an email send, a checkout
        session; 0 for every row that only follows others: opens, clicks, refunds…, and automatic events)."""
        return DISCOVERED[source].weight(self.raw[source])

    def matched(self, source: str, touchpoints: list[Touchpoint]) -> pd.Series:
        """Which raw rows of a source at least one of the touchpoints takes."""
        raw = self.raw[source]
        mask = pd.Series(False, index=raw.index)
        rule_mask = PARTS[source].rule_mask
        for tp in touchpoints:
            if tp.source == source and rule_mask is not None:
                mask |= rule_mask(raw, tp)
        return mask


def observe(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo,
            accounts: Mapping[str, str | None] | None = None) -> Observed:
    """Read the window's raw rows of every discovered source (`accounts`: per source, the account whose rows
    count; None reads every account), and what each keeps on record."""
    accounts = accounts or {}
    raw = {source: PARTS[source].read(conn, since, until, tz, accounts.get(source)) for source in DISCOVERED}
    records = {source: lent.on_record(conn, since, until, raw[source]) if lent.on_record else OnRecord()
               for source, lent in DISCOVERED.items()}
    said = list(records.values())
    time_zone = next((r.time_zone for r in said if r.time_zone is not None), None)
    currency = next((c for c in [r.sales_currency for r in said] + [r.currency for r in said] if c is not None),
                    None)
    return Observed(since, until, raw, records, time_zone, currency)


def probe_touchpoints(stage: str) -> list[Touchpoint]:
    """The touchpoints of a map that makes a sync read everything the discovered sources' candidates need."""
    return [tp for lent in DISCOVERED.values() for tp in lent.probe(stage)]

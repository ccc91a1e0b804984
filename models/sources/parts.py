"""What a source keeps in the warehouse and how its rows become touchpoint facts: one `SourceParts` per source, in
`models/sources/<source>/parts.py`; `models.sources.registry` lists them (its declaration, the pure half that
journey.yaml's schema reads, is `models.sources.spec.SourceModel`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from models.rows import RawStream

if TYPE_CHECKING:
    from models.config import JourneyMap, Touchpoint

# the raw rows of since..until (of one account when given), as the source's mapper reads them
RawReader = Callable[[Connection, dt.date, dt.date, ZoneInfo, "str | None"], pd.DataFrame]
# raw rows and the source's touchpoints (journey id, touchpoint) → (facts, unmapped volume, metrics)
Mapper = Callable[[pd.DataFrame, "list[tuple[str, Touchpoint]]", "JourneyMap"],
                  tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]
# the raw rows a touchpoint's rule takes (a boolean Series over the reader's frame)
RuleMask = Callable[[pd.DataFrame, "Touchpoint"], pd.Series]


@dataclass(frozen=True)
class SourceParts:
    """The storing half of a source.

    Attributes:
        name: the source's id (its declaration's).
        streams: its landing streams (each with its table, natural key and row checks), in load order.
        read: its raw rows of a window, for the mapping.
        map: those rows → touchpoint facts, the volume no touchpoint took, and its other metrics.
        rule_mask: the rows of `read` a touchpoint's rule takes (discover and drift use it; None: not discovered).
        reach: how far before the first day read a sync may change facts (an email's opens count for its send
            day, up to this long before them).
    """

    name: str
    streams: tuple[RawStream, ...]
    read: RawReader
    map: Mapper
    rule_mask: RuleMask | None = None
    reach: dt.timedelta = dt.timedelta(0)

    def stream(self, name: str) -> RawStream:
        """Its landing stream `name`; KeyError names the streams it has."""
        for s in self.streams:
            if s.stream == name:
                return s
        raise KeyError(f"{self.name} has no stream {name!r} (it has {', '.join(s.stream for s in self.streams)})")

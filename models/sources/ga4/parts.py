"""GA4's storing half: its landing streams, its mapping and how far back a read reaches."""

from __future__ import annotations

from models.sources.ga4.mapping import map_ga4, read_ga4, rule_mask
from models.sources.ga4.streams import GA4_ROWS
from models.sources.parts import SourceParts

PARTS = SourceParts("ga4", (GA4_ROWS,), read_ga4, map_ga4, rule_mask)

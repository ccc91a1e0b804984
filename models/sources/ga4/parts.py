"""GA4's storing half: its landing streams, its mapping, what the map asks of the property and its sync."""

from __future__ import annotations

from models.sources.ga4.checks import FLAGS
from models.sources.ga4.discover import DISCOVER
from models.sources.ga4.links import link
from models.sources.ga4.mapping import map_ga4, read_ga4, rule_mask
from models.sources.ga4.mix import stored_page_cells
from models.sources.ga4.streams import GA4_ROWS
from models.sources.ga4.sync import request, sync
from models.sources.parts import SourceParts

PARTS = SourceParts("ga4", (GA4_ROWS,), read_ga4, map_ga4, rule_mask, sync=sync, request=request, discover=DISCOVER,
                    mix=stored_page_cells, link=link, row_checks=(FLAGS,), uncounted=("events",))

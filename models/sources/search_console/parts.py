"""Search Console's storing half: its landing streams, its mapping and how far back a read reaches."""

from __future__ import annotations

from models.sources.parts import SourceParts
from models.sources.search_console.mapping import map_search_console, read_search_console, rule_mask
from models.sources.search_console.streams import SEARCH_CONSOLE_ROWS

PARTS = SourceParts("search_console", (SEARCH_CONSOLE_ROWS,), read_search_console, map_search_console, rule_mask)

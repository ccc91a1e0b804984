"""Search Console's storing half: its landing streams, its mapping, its sync and its discovery."""

from __future__ import annotations

from models.sources.parts import SourceParts
from models.sources.search_console.discover import DISCOVER
from models.sources.search_console.links import link
from models.sources.search_console.mapping import map_search_console, read_search_console, rule_mask
from models.sources.search_console.streams import SEARCH_CONSOLE_ROWS
from models.sources.search_console.sync import sync_search_console

PARTS = SourceParts("search_console", (SEARCH_CONSOLE_ROWS,), read_search_console, map_search_console, rule_mask,
                    sync=sync_search_console, discover=DISCOVER, link=link)

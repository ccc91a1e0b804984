"""Where to look: a touchpoint's own report in its source's web app, for the links of an alert. Pure: the flow
hands over what it knows of the accounts behind the map, per source (each source's storing half says what it
needs and builds the link: `SourceParts.link`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.config import Touchpoint
from models.sources.registry import PARTS

Accounts = Mapping[str, Any]  # source → what its links need of its account (absent or None: not known, no link)


def source_link(tp: Touchpoint, accounts: Accounts) -> tuple[str, str] | None:
    """(label, URL) of the touchpoint's own report, or None when its source has no web report or the account is
    not known."""
    parts = PARTS.get(tp.source)
    known = accounts.get(tp.source)
    if parts is None or parts.link is None or known is None:
        return None
    return parts.link(tp, known)

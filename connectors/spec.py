"""What a connector declares about reading its source: the settings that connect it, how its readers are built
from them, its demo readers and the API's concurrency limit. Each `connectors/<source>/` exports one `SPEC`;
`connectors.registry` lists them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# a reader of one landing stream: since, until → pages of records (or `Rejected` in place of a record)
Reader = Callable[[dt.date, dt.date], Iterator[Sequence[Any]]]


@dataclass(frozen=True)
class Setting:
    """An environment variable a connector reads (the flow reads the environment and hands the values over).

    Attributes:
        name: the variable, in lower case (the attribute the connector reads of the flow's settings).
        kind: `text`, `path` (a file) or `secret` (never printed; also read from the Prefect Secret block of its
            kebab-case name when the variable is unset).
        doc: what it is, in a few words.
        block: for a key file, the Prefect Secret block that may hold the file itself instead (a container or
            another machine has no such file; a business's own is `<id>-<block>`).
    """

    name: str
    kind: str = "text"
    doc: str = ""
    block: str | None = None


def _no_account(_settings: Any) -> str | None:
    return None


@dataclass(frozen=True)
class SourceSpec:
    """The reading half of a source (its storing half is `models/sources/<source>/`, of the same name).

    Attributes:
        name: the source's id, as journey.yaml's `source:` names it.
        settings: the environment variables it reads (a variable two connectors read is declared by both).
        account: the settings that say which account to read (set: the source is connected).
        limit: the name of the global concurrency limit that keeps its API's quota across runs and workers, and
            the slots it has (the API's concurrent requests per account); None for a file source.
        open: (settings, options, request) → the source's readers, which its storing half's `sync` reads.
            `settings`: the flow's settings (one attribute per environment variable, in lower case); `options`:
            the source's `sources:` settings of this run (page_size, concurrency, retry_minutes, …); `request`:
            what the map asks of it (its storing half's `request`, or None). Raises `NotConfigured` naming the
            variable and the fix. None: the source has no real connector yet.
        demo: outage day (or None) → the demo business's reader of each landing stream, in load order.
        account_of: the account whose raw rows the map reads, from the settings (None: every account, or one
            its API names once it answered).
        demo_account: in the demo, its rows are the demo account's (False: kept per file, every one counts).
        read_whole: it is read whole every run (files): no day ledger.
        demo_outage: the demo's outage day (`--demo-outage`) empties its demo data.
        web_account: what the links to its web app need of the account, from the settings (a property, a data
            centre); None: `account_of`'s.
        notes: (settings, request) → what `journeymap check-config` should say of it before a run (an export
            that is not there yet), each a sentence; never an error.
        fingerprint: what a read depends on besides its days (a request plan), from `request`; a backfill chunk
            read with another is another chunk.
        shared_limit: settings → the global concurrency limit of a quota it shares with other sources and
            accounts (a Google Cloud project), and its slots; None: none.
    """

    name: str
    settings: tuple[Setting, ...] = ()
    account: tuple[str, ...] = ()
    limit: tuple[str, int] | None = None
    open: Callable[[Any, Any, Any], Any] | None = None
    demo: Callable[[dt.date | None], Mapping[str, Reader]] | None = None
    account_of: Callable[[Any], str | None] = _no_account
    demo_account: bool = True
    read_whole: bool = False
    demo_outage: bool = False
    web_account: Callable[[Any], str | None] | None = None
    notes: Callable[[Any, Any], list[str]] | None = None
    fingerprint: Callable[[Any], str] | None = None
    shared_limit: Callable[[Any], tuple[str, int] | None] | None = None

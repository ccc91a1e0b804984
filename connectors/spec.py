"""What a connector declares about reading its source: the settings that connect it and the API's concurrency
limit. Each `connectors/<source>/` exports one `SPEC`; `connectors.registry` lists them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSpec:
    """The reading half of a source (its storing half is `models/sources/<source>.py`, of the same name).

    Attributes:
        name: the source's id, as journey.yaml's `source:` names it.
        account: the settings that say which account to read (set: the source is connected).
        limit: the name of the global concurrency limit that keeps its API's quota across runs and workers, and
            the slots it has (the API's concurrent requests per account); None for a file source.
    """

    name: str
    account: tuple[str, ...] = ()
    limit: tuple[str, int] | None = None

"""What a source declares to the stored map: the `match:` keys and metrics it offers journey.yaml, its day
settings, its landing streams and how the rest of the map treats it. One `SourceModel` per source, in
`models/sources/<source>.py`; the registry (`models.sources`) lists them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceModel:
    """A source as the map, the checks and the reports know it (its reading half is in `connectors/<source>/`).

    Attributes:
        name: the id journey.yaml's `source:` uses.
        title: how people name it (in messages).
        keys: the `match:` keys it understands; `regex_keys` of them are full-match regular expressions.
        metrics: what `volume:` and `success:` may name; `money` of them are amounts, each with the count to use.
        non_additive: metrics it reports that are means or rates (never summed, so neither volume nor success),
            each with the fix.
        defaults: its `sources:` settings when journey.yaml sets none (lag_days, settle_days, empty_retry_days).
        dated: its landing streams (by stream name, see models.sources.registry.stream) with the column that
            dates a row, checked over every run's window.
        daily: the stream (and column) whose days show that the source delivered (freshness and volume), if any.
        what_to_check: the first thing to check when one of its steps drops (the alert's "What to do").
        segments: the map's segment dimensions its records carry (a segment view shows its touchpoints' numbers
            only for these; the whole audience's would mislead); `unsegmented_by`: match keys that read a report
            without them (a search engine's queries report).
        discoverable: `journeymap discover` proposes touchpoints from it.
        whole_range: why a backfill reads its range whole instead of a week at a time (None: by the week).
        success_is_subset: its success counts a subset of its volume's units (a checkout completes once).
        account_per_key: its account is known only once its API answered (not from a setting).
        page_keys: its match keys that name a page (incidents of one page's touchpoints are one alert).
        section: its own top-level part of journey.yaml (a pydantic model whose fields the map holds), if any;
            `section_used`: the map reads the source because that part lists something; `section_problems`:
            (map, stage ids, touchpoint ids) → (where, what is wrong and the fix) of each problem in it.
        main_stream: the landing stream a touchpoint's rule reads; `stream_by_key`: (match key, stream) pairs
            that send a rule naming the key to another stream (a report), the first that applies.
    """

    name: str
    title: str
    keys: tuple[str, ...]
    metrics: tuple[str, ...]
    defaults: Mapping[str, int]
    what_to_check: str
    regex_keys: frozenset[str] = frozenset()
    money: Mapping[str, str] = field(default_factory=dict)
    non_additive: Mapping[str, str] = field(default_factory=dict)
    dated: tuple[tuple[str, str], ...] = ()
    daily: tuple[str, str] | None = None
    segments: tuple[str, ...] = ()
    unsegmented_by: frozenset[str] = frozenset()
    discoverable: bool = True
    whole_range: str | None = None
    success_is_subset: bool = False
    account_per_key: bool = True
    page_keys: tuple[str, ...] = ()
    section: type | None = None
    section_used: Callable[[Any], bool] | None = None
    section_problems: Callable[[Any, Sequence[str], Sequence[str]],
                               Iterator[tuple[tuple[str | int, ...], str]]] | None = None
    main_stream: str = ""
    stream_by_key: tuple[tuple[str, str], ...] = ()

    def rule_stream(self, match: Mapping[str, object]) -> str:
        """The landing stream (or report) a rule with these `match:` keys reads."""
        return next((stream for key, stream in self.stream_by_key if key in match), self.main_stream)

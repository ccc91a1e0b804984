"""Discovery reads every discoverable source through the registry, each by what it lends (its own
`models/sources/<source>/discover.py`; that the engine names none of them is held by
tests/test_architecture.py)."""

from __future__ import annotations

from checks.discovery.observed import DISCOVERED, probe_touchpoints
from models.sources import SOURCES
from models.sources.registry import PARTS


def test_every_discoverable_source_lends_its_discovery_and_only_those_are_read() -> None:
    assert list(DISCOVERED) == [s.name for s in SOURCES if s.discoverable]
    for name, lent in DISCOVERED.items():
        assert PARTS[name].rule_mask is not None, name  # what its touchpoints take, to weigh coverage
        assert lent.candidates or lent.sales, name  # something to propose
        assert {tp.source for tp in lent.probe("awareness")} == {name}
    assert [tp.source for tp in probe_touchpoints("awareness")] == sorted(
        (tp.source for tp in probe_touchpoints("awareness")), key=list(DISCOVERED).index)


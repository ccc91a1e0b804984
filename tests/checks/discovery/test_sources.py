"""Discovery reads every discoverable source through the registry, each by what it lends (its own
`models/sources/<source>/discover.py`); the engine names none of them."""

from __future__ import annotations

import re
from pathlib import Path

from checks.discovery.observed import DISCOVERED, probe_touchpoints
from models.sources import SOURCES
from models.sources.registry import PARTS

ROOT = Path(__file__).resolve().parents[3]
ENGINE = [*sorted((ROOT / "checks" / "discovery").glob("*.py")), ROOT / "flows" / "discover.py",
          ROOT / "flows" / "cli_discover.py", ROOT / "models" / "sources" / "discovery.py"]


def test_every_discoverable_source_lends_its_discovery_and_only_those_are_read() -> None:
    assert list(DISCOVERED) == [s.name for s in SOURCES if s.discoverable]
    for name, lent in DISCOVERED.items():
        assert PARTS[name].rule_mask is not None, name  # what its touchpoints take, to weigh coverage
        assert lent.candidates or lent.sales, name  # something to propose
        assert {tp.source for tp in lent.probe("awareness")} == {name}
    assert [tp.source for tp in probe_touchpoints("awareness")] == sorted(
        (tp.source for tp in probe_touchpoints("awareness")), key=list(DISCOVERED).index)


def test_the_engine_names_no_source() -> None:
    names = re.compile(r"\b(" + "|".join(re.escape(s.name) for s in SOURCES) + r")\b", re.IGNORECASE)
    named = {f"{path.relative_to(ROOT)}: {m.group(0)}" for path in ENGINE
             for m in names.finditer(path.read_text(encoding="utf-8"))}
    assert named == set()

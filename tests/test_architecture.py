"""The house: the layer table holds, no module imports one that imports it back, and every source the registry
lists is declared in its own places."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

from models.config import SourceSettings
from models.sources import SOURCES
from models.sources.registry import PARTS, STREAMS

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("connectors", "models", "checks", "reports", "flows")
# what each layer must not import: the project's layers above it, and the outside packages that are not its job
FORBIDDEN = {
    "connectors": {"models", "checks", "reports", "flows", "prefect", "sqlalchemy", "alembic"},
    "models": {"connectors", "checks", "reports", "flows", "prefect"},
    "checks": {"connectors", "reports", "flows", "prefect"},
    "reports": {"connectors", "flows", "prefect"},
    "flows": set(),
}


def modules() -> dict[str, Path]:
    out = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every project module `name` imports, at the top or inside a function: `from a import b` is an import
    of the module a.b when there is one, else of a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            subs = {f"{base}.{a.name}" for a in node.names}
            found |= {s for s in subs if s in known} | ({base} if subs - set(known) else set())
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                out.append(sorted([v, *component]))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph)))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def test_no_module_imports_one_that_imports_it_back() -> None:
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle_through_others() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                wrong += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                          if n.split(".")[0] in FORBIDDEN[layer]]
    assert wrong == []


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_every_registered_source_is_declared_in_its_own_places(source: object) -> None:
    from models.sources.spec import SourceModel

    assert isinstance(source, SourceModel)
    assert (ROOT / "models" / "sources" / source.name / "__init__.py").exists()
    assert PARTS[source.name].name == source.name  # its storing half
    assert (ROOT / "connectors" / source.name / "__init__.py").exists()
    assert importlib.import_module(f"connectors.{source.name}").SPEC.name == source.name  # its reading half
    SourceSettings(**source.defaults)  # its defaults are valid settings
    assert set(source.regex_keys) <= set(source.keys)
    assert set(source.money) <= set(source.metrics)
    streams = [name for name, _ in source.dated] + ([source.daily[0]] if source.daily else [])
    for name in streams:
        stream = STREAMS[(source.name, name)]
        column = dict(source.dated).get(name) or (source.daily[1] if source.daily else "")
        assert column in stream.table.columns, f"{source.name}.{name} has no column {column}"


def test_the_registry_names_each_source_once() -> None:
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))


def test_both_registries_list_the_same_sources_in_the_same_order() -> None:
    from connectors.registry import SOURCES as CONNECTORS

    assert [c.name for c in CONNECTORS] == [s.name for s in SOURCES]
    assert list(PARTS) == [s.name for s in SOURCES]


REGISTRY_MODULES = {"models/sources/__init__.py", "models/sources/registry.py"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_a_source_is_named_only_in_its_own_places_and_the_registries(source: object) -> None:
    """Outside its own package and migrations, no module of the four rooms names a source (a word, in any case,
    in code, comments or docstrings) but the two registry modules: a new source is its own places and a line in
    each registry."""
    from models.sources.spec import SourceModel

    assert isinstance(source, SourceModel)
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(source.name)}(?![A-Za-z0-9_])", re.IGNORECASE)
    own = (f"models/sources/{source.name}/", "models/migrations/")
    naming = sorted(str(p.relative_to(ROOT)) for room in ("flows", "models", "checks", "reports")
                    for p in (ROOT / room).rglob("*.py") if word.search(p.read_text(encoding="utf-8")))
    assert [p for p in naming if not p.startswith(own) and p not in REGISTRY_MODULES] == []


def test_every_declared_section_of_journey_yaml_is_part_of_the_maps_schema() -> None:
    from models.sources import MapSections

    assert {s.section for s in SOURCES if s.section is not None} <= set(MapSections.__mro__)

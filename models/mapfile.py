"""Load and validate `journey.yaml`, with errors that name the file, line, field and fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError

from models.config import DIMENSIONS, MONEY_METRICS, NON_ADDITIVE, REGEX_KEYS, SOURCES, JourneyMap
from models.sources import SOURCES as SOURCES_DECLARED

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the map file, located by line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class MapConfigError(Exception):
    """The map file is missing or invalid; `problems` lists every error found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _line_index(node: yaml.Node, loc: Loc = ()) -> dict[Loc, int]:
    """Map every path in the YAML document to the 1-based line where it starts."""
    lines: dict[Loc, int] = {loc: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, str(key.value))
            lines[child] = key.start_mark.line + 1
            for sub, line in _line_index(value, child).items():
                lines.setdefault(sub, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*loc, i)))
    return lines


class _Located:
    """Finds the line of a path, walking up to the nearest located parent."""

    def __init__(self, file: str, lines: dict[Loc, int]) -> None:
        self.file, self.lines = file, lines

    def problem(self, loc: Loc, message: str) -> Problem:
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in self.lines:
                return Problem(self.file, self.lines[loc[:cut]], message)
        return Problem(self.file, 1, message)


def load_map(path: str | Path) -> JourneyMap:
    """Read, parse and validate a map file.

    Raises:
        MapConfigError: with every problem found, each naming file:line and the fix.
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MapConfigError([Problem(name, 0, "file not found; create it (the example journey.yaml "
                                      "shows the format) or set JOURNEY_MAP_FILE to its path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MapConfigError([Problem(name, 0, f"cannot read the file: {exc}")]) from None
    return parse_map(text, name)


def parse_map(text: str, name: str = "journey.yaml") -> JourneyMap:
    """Validate map text; `name` is used in error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and start.line + 1 != line:
            what += f" ({context} that starts on line {start.line + 1})"
        raise MapConfigError([Problem(name, line, f"YAML syntax error: {what}; fix the indentation "
                                      "or quoting here")]) from None
    if node is None or not isinstance(data, dict):
        raise MapConfigError([Problem(name, 1, "the map is empty or not a mapping; it needs at least "
                                      "'business:', 'stages:' and 'journeys:'")])
    where = _Located(name, _line_index(node))
    try:
        journey_map = JourneyMap.model_validate(data)
    except ValidationError as exc:
        raise MapConfigError([_schema_problem(where, err) for err in exc.errors()]) from None
    problems = list(_check_references(journey_map, where))
    if problems:
        raise MapConfigError(problems)
    return journey_map


def _schema_problem(where: _Located, err: Any) -> Problem:
    loc: Loc = tuple(err["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "missing":
        return where.problem(loc, f"'{loc[-1]}' is required in {field.rsplit('.', 1)[0] or 'the map'}; add it")
    if kind == "extra_forbidden":
        parent = loc[:-1]
        allowed = _allowed_fields(parent)
        return where.problem(loc, f"unknown field '{loc[-1]}'{_suggest(str(loc[-1]), allowed)}; "
                                  f"allowed here: {', '.join(allowed)}")
    if kind == "string_pattern_mismatch":
        return where.problem(loc, f"{field} {err['input']!r} must be lower-case letters, digits, '-' or '_'; "
                                  "rename it")
    return where.problem(loc, f"{field}: {err['msg']} (got {err.get('input')!r}); fix the value")


def _allowed_fields(parent: Loc) -> list[str]:
    """Field names the schema allows at a path (for 'did you mean')."""
    from models import config as schema

    model: Any = schema.JourneyMap
    for part in parent:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        inner = getattr(ann, "__args__", (ann,))
        model = next((a for a in inner if isinstance(a, type) and hasattr(a, "model_fields")), None)
        if model is None:
            return []
    return list(model.model_fields)


def _check_references(m: JourneyMap, where: _Located) -> Iterable[Problem]:
    """Cross-field checks that the schema alone cannot express."""
    stage_ids = [s.id for s in m.stages]
    yield from _duplicates([s.id for s in m.stages], lambda i: ("stages", i, "id"), "stage id", where)
    yield from _duplicates([j.id for j in m.journeys], lambda i: ("journeys", i, "id"), "journey id", where)
    yield from _duplicates([p.name for p in m.personas], lambda i: ("personas", i, "name"), "persona", where)
    try:
        ZoneInfo(m.business.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield where.problem(("business", "timezone"), f"unknown timezone '{m.business.timezone}'; use an IANA "
                                                      "name such as 'Europe/London'")
    for source in m.sources:
        if source not in SOURCES:
            yield where.problem(("sources", source), f"unknown source '{source}'{_suggest(source, SOURCES)}; "
                                                     f"sources are {', '.join(SOURCES)}")
    for i, dim in enumerate(m.segments):
        if dim not in DIMENSIONS:
            yield where.problem(("segments", i), f"unknown segment dimension '{dim}'{_suggest(dim, DIMENSIONS)}; "
                                                 f"dimensions are {', '.join(DIMENSIONS)}")
    for i, persona in enumerate(m.personas):
        for dim in persona.where:
            if dim not in DIMENSIONS:
                yield where.problem(("personas", i, "where", dim),
                                    f"persona '{persona.name}' filters on unknown dimension "
                                    f"'{dim}'{_suggest(dim, DIMENSIONS)}; dimensions are {', '.join(DIMENSIONS)}")
    seen: dict[str, Loc] = {}
    for j, journey in enumerate(m.journeys):
        ids = [tp.id for tp in journey.touchpoints]
        if journey.goal_touchpoint is not None and journey.goal_touchpoint not in ids:
            yield where.problem(("journeys", j, "goal_touchpoint"),
                                f"journey '{journey.id}': goal_touchpoint '{journey.goal_touchpoint}' is not one of "
                                f"its touchpoints{_suggest(journey.goal_touchpoint, ids)}")
        for t, tp in enumerate(journey.touchpoints):
            loc: Loc = ("journeys", j, "touchpoints", t)
            if tp.id in seen:
                first = where.problem(seen[tp.id], "").line
                yield where.problem((*loc, "id"), f"duplicate touchpoint id '{tp.id}' (first defined on line "
                                                  f"{first}); touchpoint ids must be unique across the map, "
                                                  "rename one")
            seen.setdefault(tp.id, (*loc, "id"))
            if tp.stage not in stage_ids:
                yield where.problem((*loc, "stage"), f"touchpoint '{tp.id}' references unknown stage "
                                                     f"'{tp.stage}'{_suggest(tp.stage, stage_ids)}; stages are "
                                                     f"{', '.join(stage_ids)}")
            yield from _check_rule(tp.id, tp.source, tp.match, tp.volume, tp.success, loc, where)
    touchpoint_ids = list(seen)
    for declared in SOURCES_DECLARED:
        if declared.section_problems is not None:
            for loc, message in declared.section_problems(m, stage_ids, touchpoint_ids):
                yield where.problem(loc, message)


def _check_rule(tp_id: str, source: str, match: dict[str, str | int], volume: str, success: str | None,
                loc: Loc, where: _Located) -> Iterable[Problem]:
    if source not in SOURCES:
        yield where.problem((*loc, "source"), f"touchpoint '{tp_id}' has unknown source "
                                              f"'{source}'{_suggest(source, SOURCES)}; sources are "
                                              f"{', '.join(SOURCES)}")
        return
    keys, metrics = SOURCES[source]["keys"], SOURCES[source]["metrics"]
    if not match:
        yield where.problem((*loc, "match"), f"touchpoint '{tp_id}' needs a 'match:' rule with at least one of "
                                             f"{', '.join(keys)}")
    for key, value in match.items():
        if key not in keys:
            yield where.problem((*loc, "match", key), f"touchpoint '{tp_id}': '{key}' is not a {source} rule key"
                                                      f"{_suggest(key, keys)}; use one of {', '.join(keys)}")
        elif key in REGEX_KEYS:
            try:
                re.compile(str(value))
            except re.error as exc:
                yield where.problem((*loc, "match", key), f"touchpoint '{tp_id}': invalid regex {value!r} in "
                                                          f"match.{key}: {exc}; escape special characters "
                                                          "such as ( [ * + ? with a backslash")
        elif key == "email" and not (isinstance(value, int) and value >= 1):
            yield where.problem((*loc, "match", key), f"touchpoint '{tp_id}': match.email is the email's "
                                                      f"position in its automation (1, 2, …), not {value!r}")
        elif key == "mode" and value not in ("payment", "subscription"):
            yield where.problem((*loc, "match", key), f"touchpoint '{tp_id}': match.mode must be 'payment' or "
                                                      f"'subscription', not {value!r}")
    for field, metric in (("volume", volume), ("success", success)):
        if metric in MONEY_METRICS:
            yield where.problem((*loc, field), f"touchpoint '{tp_id}': {field} '{metric}' is money, not a count, "
                                               f"so it is neither a conversion nor a volume; count events as the "
                                               f"{field} instead ({field}: {MONEY_METRICS[metric]}) and let "
                                               f"{metric} show as revenue: the map shows it beside the step")
            continue
        if metric is None or metric in metrics:
            continue
        if metric in NON_ADDITIVE:
            yield where.problem((*loc, field), f"touchpoint '{tp_id}': {field} '{metric}' cannot be a volume or a "
                                               f"conversion: {metric} is not additive over days, "
                                               f"{NON_ADDITIVE[metric]}; {source} metrics are {', '.join(metrics)}")
            continue
        yield where.problem((*loc, field), f"touchpoint '{tp_id}': unknown {source} metric '{metric}'"
                                           f"{_suggest(metric, metrics)}; metrics are {', '.join(metrics)}")


def _duplicates(values: list[str], loc_of: Any, what: str, where: _Located) -> Iterable[Problem]:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            yield where.problem(loc_of(i), f"duplicate {what} '{value}'; each must be unique, rename one")
        seen.add(value)

"""Replay benchmark: the demo's first run judges its history (129 days); day by day (judge_day on each) against the
vectorised pass (checks.replay), on the same stored facts, in one run.

Run: PYTHONPATH=. python -m bench.replay [--url sqlite:///demo.db] [--repeat 3]

Without --url the demo business is landed into a temporary SQLite warehouse first (its 180 days, through the sync
engine and the mapping, as `journeymap run --demo` does). Each timing starts from a warehouse never judged and
covers run_detection: reading the facts, judging every day, storing the incidents; "judging" is the part between.
Both paths must store the same incidents, events and candidate days; the benchmark says whether they did.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

import checks.detection
from checks.detection import history_needed, run_detection
from connectors.demo import DEMO_PROPERTY_ID
from connectors.pii import EmailHasher
from connectors.registry import BY_NAME as CONNECTORS
from models.config import JourneyMap
from models.db import make_engine, migrate
from models.mapfile import load_map
from models.mapping import map_window, persona_segment
from models.sources.registry import PARTS
from models.store import save_map
from models.sync import sync_stream
from models.sync.state import get_cursor
from models.tables import DetectionDay, IncidentEvent, IncidentRow, SyncState, table_of

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 9, 30)
DETECTION = (IncidentRow, IncidentEvent, DetectionDay)


def accounts(journey_map: JourneyMap) -> dict[str, str | None]:
    return {s: DEMO_PROPERTY_ID if CONNECTORS[s].demo_account else None for s in journey_map.used_sources()}


def load_demo(url: str, journey_map: JourneyMap, since: dt.date, until: dt.date = AS_OF - dt.timedelta(days=1),
              ) -> Engine:
    """A migrated warehouse holding the demo business's raw rows and facts of since..until."""
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        save_map(conn, journey_map, {p.name: persona_segment(p) for p in journey_map.personas})
    for source in journey_map.used_sources():
        spec, parts = CONNECTORS[source], PARTS[source]
        if spec.demo is None:
            continue
        for name, reader in spec.demo(None).items():
            sync_stream(engine, parts.stream(name), reader, DEMO_PROPERTY_ID, until + dt.timedelta(days=1),
                        journey_map.source_settings(source), hasher=EmailHasher(DEMO_PROPERTY_ID),
                        window=(since, until), ledger=not spec.read_whole)
    with engine.begin() as conn:
        map_window(conn, journey_map, since, until, accounts=accounts(journey_map))
    return engine


def first_run_from(journey_map: JourneyMap, as_of: dt.date = AS_OF) -> dt.date:
    """The first day the demo's first run judges (flows.pipeline: its history less what a run reads)."""
    history = max(journey_map.source_settings(s).history_days for s in journey_map.used_sources())
    return as_of - dt.timedelta(days=history - history_needed(journey_map))


def forget_detection(engine: Engine) -> None:
    """The warehouse as before its first judged day: no incidents, events, candidate days or judged cursor."""
    with engine.begin() as conn:
        for table in DETECTION:
            conn.execute(delete(table))
        conn.execute(delete(SyncState).where(SyncState.source == "detection"))


def detection_rows(engine: Engine) -> dict[str, Any]:
    """What detection stored: every incident, event and candidate day, and the judged cursor."""
    with engine.connect() as conn:
        rows: dict[str, Any] = {t.__tablename__: sorted((tuple(r) for r in conn.execute(select(table_of(t)))),
                                                        key=repr) for t in DETECTION}
        rows["judged"] = get_cursor(conn, "detection", "judged", "")
    return rows


class _Clock:
    """Seconds spent inside one function of a module during a call (the judging, without reading and storing)."""

    def __init__(self, module: Any, name: str) -> None:
        self.module, self.name, self.seconds = module, name, 0.0
        self.original = getattr(module, name)

    def __enter__(self) -> _Clock:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - began
        setattr(self.module, self.name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.module, self.name, self.original)


def timed_run(engine: Engine, journey_map: JourneyMap, replay_from: dt.date,
              day_by_day: bool) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds of run_detection, seconds judging, and what it stored."""
    forget_detection(engine)
    module, name = (checks.detection, "judge_day") if day_by_day else (checks.detection, "replay")
    with _Clock(module, name) as clock:
        began = time.perf_counter()
        outcomes = run_detection(engine, journey_map, AS_OF, None, replay_from, accounts(journey_map),
                                 day_by_day=day_by_day)
        wall = time.perf_counter() - began
    if (outcomes[0].as_of, outcomes[-1].as_of) != (replay_from, AS_OF):
        raise RuntimeError(f"judged {outcomes[0].as_of}..{outcomes[-1].as_of}, not {replay_from}..{AS_OF}")
    return wall, clock.seconds, detection_rows(engine)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a warehouse holding the demo (default: land it into a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each path, alternating (best is reported)")
    args = parser.parse_args(argv)
    journey_map = load_map(ROOT / "journey.yaml")
    replay_from = first_run_from(journey_map)
    with tempfile.TemporaryDirectory() as folder:
        if args.url:
            engine = make_engine(args.url)
        else:
            began = time.perf_counter()
            history = max(journey_map.source_settings(s).history_days for s in journey_map.used_sources())
            engine = load_demo(f"sqlite:///{folder}/demo.db", journey_map, AS_OF - dt.timedelta(days=history))
            print(f"landed the demo's {history} days in {time.perf_counter() - began:.0f} s")
        best: dict[bool, tuple[float, float]] = {}
        stored: dict[bool, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for day_by_day in (True, False):
                wall, judging, stored[day_by_day] = timed_run(engine, journey_map, replay_from, day_by_day)
                best[day_by_day] = min(best.get(day_by_day, (wall, judging)), (wall, judging))
        engine.dispose()
    days = (AS_OF - replay_from).days + 1
    same = stored[True] == stored[False]
    counts = ", ".join(f"{len(v)} {k}" for k, v in stored[False].items() if isinstance(v, list))
    print(f"The demo's first run: {days} days judged ({replay_from}..{AS_OF}), {counts}; best of {args.repeat}")
    print(f"{'':14}{'run_detection':>15}{'judging':>10}")
    for label, key in (("day by day", True), ("vectorised", False)):
        print(f"{label:14}{best[key][0]:13.2f} s{best[key][1]:8.2f} s")
    print(f"{'ratio':14}{best[True][0] / best[False][0]:13.1f} ×{best[True][1] / best[False][1]:8.1f} ×")
    print(f"same incidents, events and candidate days: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()

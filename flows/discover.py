"""The discover flow: load the last days of every connected source (or the demo) into a scratch warehouse, then
propose a journey map from what they show, or compare the current map with it (`--diff`)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from sqlalchemy import Engine

from checks.discovery.drift import Drift, coverage, map_drift
from checks.discovery.observed import DISCOVERED as LENT
from checks.discovery.observed import Observed, observe, probe_touchpoints
from checks.discovery.proposal import Proposal, either, propose
from checks.discovery.render import render_yaml
from connectors.registry import SOURCES as CONNECTORS
from flows.days import today_in
from flows.settings import Settings, SettingsError, load_settings
from flows.sources import Source, sync_source
from models.config import STAGE_DEFAULTS, Business, Journey, JourneyMap, Stage, default_source_settings
from models.db import make_engine, migrate
from models.mapfile import MapConfigError, load_map
from reports.drift import drift_lines

DISCOVERED = tuple(LENT)  # the discoverable sources (not survey exports: files the map names)
MAX_DAYS = 400


@dataclass
class DiscoverResult:
    since: dt.date
    until: dt.date
    read: list[str] = field(default_factory=list)  # sources whose data was read
    failed: dict[str, str] = field(default_factory=dict)  # source → why it could not be read
    notes: dict[str, str] = field(default_factory=dict)  # source → what it left out (a quota stop, bad rows)
    proposal: Proposal | None = None
    written: Path | None = None
    drift: Drift | None = None
    coverage: dict[str, float] = field(default_factory=dict)  # of the current map's volume, by the proposal
    current_coverage: dict[str, float] = field(default_factory=dict)  # of all volume, by the current map
    proposal_coverage: dict[str, float] = field(default_factory=dict)  # of all volume, by the proposal


def probe_map(days: int, like: JourneyMap | None) -> JourneyMap:
    """A map that reads everything a proposal needs, by item, over `days` days: each discovered source's probe
    touchpoints (every report with the dimensions a rule may name, every email, every checkout)."""
    sources = {name: (like.source_settings(name) if like else default_source_settings(name)).model_copy(
        update={"history_days": days, "settle_days": 0, "empty_retry_days": 0}) for name in DISCOVERED}
    tps = probe_touchpoints(STAGE_DEFAULTS[0])
    business = like.business if like else Business(name="discover")
    return JourneyMap(business=business, stages=[Stage(id=s, name=s) for s in STAGE_DEFAULTS], sources=sources,
                      segments=[], journeys=[Journey(id="probe", name="probe", goal="-", value=0, touchpoints=tps)])


def connected(settings: Settings) -> list[str]:
    """The sources whose account is set up (their sync says what else is missing)."""
    return [s.name for s in CONNECTORS if s.name in DISCOVERED and s.account
            and all(getattr(settings, variable.lower()) for variable in s.account)]


def _account_settings() -> list[str]:
    """The settings that connect the discovered sources (one each, the first its connector names)."""
    return [s.account[0] for s in CONNECTORS if s.name in DISCOVERED and s.account]


def header(result: DiscoverResult, demo: bool, out: Path, like_file: Path | None) -> list[str]:
    read = "the built-in demo business" if demo else ", ".join(result.read)
    name = out.name
    kept = [f"The business name, segments and personas are kept from {like_file}; the time zone and currency are",
            "the sources' own where they say.", ""] if like_file else \
        ["Set the business name; add `personas:` (named combinations of segments) as the README shows.", ""]
    return [f"Journeymap: a proposed journey map, written by `journeymap discover` from {read}",
            f"over {result.since} to {result.until} ({(result.until - result.since).days + 1} days).", "", *kept,
            "Each touchpoint's comment says how much it counted over those days and why it is here. Stages come",
            "from readable rules: search results, traffic sources and campaigns → awareness; content, lead",
            "magnets, sign-ups and their emails → consideration; product pages, the cart, the checkout, the",
            "confirmation and money-earning clicks → purchase; onboarding, member pages and renewals → retention;",
            "referrals and reviews → advocacy. Inside a stage: search results before the visits they bring;",
            "product pages, cart, checkout, confirmation, receipt.", "",
            "Edit it (rename, remove, reorder, set the values), then check and run it:",
            f"  JOURNEY_MAP_FILE={name} journeymap check-config",
            f"  mv {name} journey.yaml && journeymap run",
            "Survey / NPS exports, alerts and quality settings: see journey.yaml's sections in the README."]


def current_map(settings: Settings) -> JourneyMap | None:
    """The map file the settings name, when there is one and it is valid."""
    if not Path(settings.journey_map_file).is_file():
        return None
    try:
        return load_map(settings.journey_map_file)
    except MapConfigError as exc:
        get_run_logger().warning("%s is not valid, so the proposal starts from nothing: %s",
                                 settings.journey_map_file, exc)
        return None


@flow(name="discover", log_prints=True)
def discover(days: int = 90, as_of: dt.date | None = None, demo: bool = False, out: str = "journey.proposed.yaml",
             diff: bool = False, sources: list[Source] | None = None,
             scratch_database_url: str | None = None) -> DiscoverResult:
    """Read the sources' last `days` days and propose a journey map (written to `out`), or with `diff` compare
    the current map with what they show.

    Args:
        days: how many full days before `as_of` to read (1–400).
        as_of: the day the window ends before (default: today in the map's timezone).
        demo: read the built-in demo business instead of real accounts.
        out: where to write the proposal (not written with `diff`).
        diff: compare the current map (JOURNEY_MAP_FILE) with the data instead of proposing one.
        sources: only these sources (default: every one with an account set up).
        scratch_database_url: where to load the data (default: a temporary SQLite file, removed afterwards);
            never the warehouse, whose days would be replaced by the discovery's coarser reports.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days {days}: read between 1 and {MAX_DAYS} days")
    settings = load_settings()
    like = current_map(settings)
    if diff and like is None:
        raise SettingsError(f"--diff compares {settings.journey_map_file} with the data, and it is missing or "
                            "invalid; run `journeymap check-config`, or `journeymap discover` for a proposal")
    if scratch_database_url and scratch_database_url == settings.journey_database_url:
        raise SettingsError("the scratch database must not be JOURNEY_DATABASE_URL: discover replaces the days it "
                            "loads with coarser reports; give an empty database, or none for a temporary one")
    as_of = as_of or (today_in(like) if like else dt.date.today())
    result = DiscoverResult(as_of - dt.timedelta(days=days), as_of - dt.timedelta(days=1))
    wanted = [s.value for s in sources] if sources else (list(DISCOVERED) if demo else connected(settings))
    wanted = [s for s in wanted if s in DISCOVERED]
    if not wanted:
        raise SettingsError(f"no source is set up: set {either(_account_settings())} (see the README's settings), "
                            "or run with --demo")
    folder = None if scratch_database_url else Path(tempfile.mkdtemp(prefix="journeymap-discover-"))
    engine = make_engine(scratch_database_url or f"sqlite:///{folder}/discover.db")
    try:
        migrate(engine)
        observed = _load(engine, probe_map(days, like), wanted, result, as_of, demo, like)
    finally:
        engine.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if diff and like is not None:
        result.drift = map_drift(observed, like)
        result.current_coverage = coverage(observed, like)
        lines = drift_lines(result.drift) or ["The map fits the data."]
        create_markdown_artifact(key="map-drift", markdown="\n".join(
            [f"# The map against {result.since} – {result.until}",
             f"It covers {result.current_coverage.get('all', 0.0):.1%} of what the sources show.", "", *lines]),
            description="journeymap discover --diff")
        return result
    result.proposal = propose(observed, like)
    path = Path(out)
    lines = header(result, demo, path, Path(settings.journey_map_file) if like else None)
    draft = path.with_name(f".{path.name}.draft")
    draft.write_text(render_yaml(result.proposal, header=lines), encoding="utf-8")
    load_map(draft)  # the proposal must load as written (a MapConfigError here is a bug, and says where) …
    draft.replace(path)  # … before it takes the place of an earlier proposal
    result.written = path
    result.proposal_coverage = coverage(observed, result.proposal.journey_map)
    create_markdown_artifact(key="map-proposal", markdown=f"# Proposed map: {path.resolve()}\n\n```yaml\n"
                             f"{path.read_text(encoding='utf-8')}```\n", description="journeymap discover")
    if like is not None:
        result.coverage = coverage(observed, like, result.proposal.journey_map)
        result.current_coverage = coverage(observed, like)
    return result


def _load(engine: Engine, probe: JourneyMap, wanted: list[str], result: DiscoverResult, as_of: dt.date,
          demo: bool, like: JourneyMap | None) -> Observed:
    """Sync each wanted source into the scratch warehouse (one failing source does not stop the others) and read
    what they show over the result's window."""
    logger = get_run_logger()
    for source in wanted:
        done = sync_source(engine, probe, source, as_of, demo)
        if done.failure:
            result.failed[source] = done.failure
            logger.warning("%s could not be read: %s", source, done.failure)
            continue
        result.read.append(source)
        left_out = [done.note] if done.note else []
        left_out += [f"{len(done.bad_input)} refused record(s) quarantined"] if done.bad_input else []
        left_out += done.warnings
        if left_out:
            result.notes[source] = "; ".join(left_out)
    if not result.read:
        raise SettingsError("no source could be read: " + "; ".join(f"{s}: {e}" for s, e in result.failed.items()))
    tz = ZoneInfo((like or probe).business.timezone)
    with engine.connect() as conn:
        return observe(conn, result.since, result.until, tz)

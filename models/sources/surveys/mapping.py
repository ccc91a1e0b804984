"""Survey and NPS answers on the map: touchpoint facts from answers, and NPS with pain points per stage."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from models.config import JourneyMap, Touchpoint
from models.facts import FACT_COLUMNS, METRIC_COLUMNS, concat, unmapped_items
from models.feedback import StageFeedback
from models.sources.surveys.tables import SurveyResponseRow
from models.store import unindexed
from models.tables import table_of

PROMOTER, DETRACTOR = 9, 6  # 9–10 promote, 0–6 detract, 7–8 are passive
SURVEY_METRICS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "responses": lambda s: pd.Series(1.0, index=s.index),
    "promoters": lambda s: (s >= PROMOTER).astype(float),
    "passives": lambda s: ((s > DETRACTOR) & (s < PROMOTER)).astype(float),
    "detractors": lambda s: (s <= DETRACTOR).astype(float),
}


def read_surveys(conn: Connection, since: dt.date, until: dt.date, tz: ZoneInfo, account: str | None,
                 journey_map: JourneyMap | None = None) -> pd.DataFrame:
    """Answers of the business days since..until, each with its stage and touchpoint resolved: the answer's
    own, else the survey's default, else the touchpoint's stage."""
    t = table_of(SurveyResponseRow)
    lo, hi = dt.datetime.combine(since - dt.timedelta(days=1), dt.time()), \
        dt.datetime.combine(until + dt.timedelta(days=2), dt.time())
    stmt = select(t).where(t.c.submitted >= lo, t.c.submitted < hi)
    raw = pd.read_sql(stmt if account is None else stmt.where(unindexed(t.c.survey) == account), conn)
    local = pd.to_datetime(raw["submitted"]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.date
    raw = raw.assign(date=local)[(local >= since) & (local <= until)].reset_index(drop=True)
    if journey_map is not None:
        raw = _resolve(raw, journey_map)
    return raw


def _resolve(raw: pd.DataFrame, journey_map: JourneyMap) -> pd.DataFrame:
    surveys = {s.name: s for s in journey_map.surveys}
    stage_of_tp = {tp.id: tp.stage for _, tp in journey_map.touchpoints()}
    touchpoint = raw["touchpoint"].where(raw["touchpoint"] != "",
                                         raw["survey"].map(lambda n: getattr(surveys.get(n), "touchpoint", None)))
    stage = raw["stage"].where(raw["stage"] != "", raw["survey"].map(lambda n: getattr(surveys.get(n), "stage", None)))
    stage = stage.where(stage.notna() & (stage != ""), touchpoint.map(stage_of_tp))
    return raw.assign(touchpoint=touchpoint.fillna(""), stage=stage.fillna(""))


def map_surveys(raw: pd.DataFrame, tps: list[tuple[str, Touchpoint]],
                journey_map: JourneyMap) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Facts for `source: surveys` touchpoints (ALL segment); answers that neither a touchpoint took nor a stage
    holds are unmapped."""
    raw = _resolve(raw, journey_map) if len(raw) else raw
    matched = pd.Series(False, index=raw.index)
    out = []
    for journey_id, tp in tps:
        mask = pd.Series(True, index=raw.index)
        for key, value in tp.match.items():
            mask &= raw[key].astype(str).str.fullmatch(str(value), flags=re.IGNORECASE).fillna(False)
        matched |= mask
        rows = raw[mask]
        frame = pd.DataFrame({"date": rows["date"], "volume": SURVEY_METRICS[tp.volume](rows["score"])})
        frame["success"] = SURVEY_METRICS[tp.success](rows["score"]) if tp.success else np.nan
        facts = frame.groupby("date").agg(volume=("volume", "sum"), success=("success", "sum"),
                                          events=("volume", "size")).reset_index()
        if not tp.success:
            facts["success"] = np.nan
        out.append(facts.assign(touchpoint_id=tp.id, segment="all", journey_id=journey_id, revenue=0.0)[FACT_COLUMNS])
    left = raw[~matched & (raw["stage"] == "")] if len(raw) else raw  # answers that sit nowhere on the map
    return concat(out), unmapped_items(left, "survey", "surveys", "responses"), pd.DataFrame(columns=METRIC_COLUMNS)


def nps_by_stage(conn: Connection, journey_map: JourneyMap, since: dt.date, until: dt.date,
                 top: int = 3) -> dict[str, StageFeedback]:
    """NPS per stage (answers with no stage are left out), in stage order; stages without answers are absent."""
    raw = read_surveys(conn, since, until, ZoneInfo(journey_map.business.timezone), None, journey_map)
    return _per_stage(raw, journey_map, top)


def _per_stage(raw: pd.DataFrame, journey_map: JourneyMap, top: int) -> dict[str, StageFeedback]:
    out: dict[str, StageFeedback] = {}
    for stage in (s.id for s in journey_map.stages):
        rows = raw[raw["stage"] == stage]
        if rows.empty:
            continue
        scores = rows["score"].astype(int)
        nps = 100.0 * (float((scores >= PROMOTER).mean()) - float((scores <= DETRACTOR).mean()))
        comments = rows.loc[(scores <= DETRACTOR) & (rows["comment"].str.strip() != ""), "comment"].str.strip()
        pains = tuple(comments.value_counts(sort=True).index[:top])
        counts = tuple(int(c) for c in np.bincount(scores.clip(0, 10), minlength=11))
        stage_only = int((rows["journey"] == "").sum()) if "journey" in rows else 0
        out[stage] = StageFeedback(stage, len(rows), round(nps, 1), counts, pains, stage_only)
    return out


def answer_journeys(raw: pd.DataFrame, journey_map: JourneyMap) -> pd.DataFrame:
    """The resolved answers with the journey each belongs to (`journey`; "" = only a stage): the journey of the
    answer's touchpoint, else of each journey's `source: surveys` touchpoint that takes it. An answer that two
    journeys' survey touchpoints take appears once for each."""
    journey_of = {tp.id: journey.id for journey, tp in journey_map.touchpoints()}
    own = raw["touchpoint"].map(journey_of).fillna("")
    parts = [raw.assign(journey=own)[own != ""]]
    rest = raw[own == ""]
    taken = pd.Series(False, index=rest.index)
    for journey, tp in journey_map.touchpoints():
        if tp.source != "surveys" or not len(rest):
            continue
        mask = pd.Series(True, index=rest.index)
        for key, value in tp.match.items():
            mask &= rest[key].astype(str).str.fullmatch(str(value), flags=re.IGNORECASE).fillna(False)
        taken |= mask
        parts.append(rest[mask].assign(journey=journey.id))
    parts.append(rest[~taken].assign(journey=""))
    return pd.concat(parts, ignore_index=True).drop_duplicates(["survey", "response_id", "journey"])


def nps_by_journey(conn: Connection, journey_map: JourneyMap, since: dt.date, until: dt.date,
                   top: int = 3) -> dict[str, dict[str, StageFeedback]]:
    """Journey → NPS per stage of the answers that belong to it, and of the answers with only a stage (counted in
    `stage_only`, under that stage of every journey). Journeys without answers are absent."""
    raw = read_surveys(conn, since, until, ZoneInfo(journey_map.business.timezone), None, journey_map)
    if raw.empty:
        return {}
    placed = answer_journeys(raw, journey_map)
    out = {}
    for journey in journey_map.journeys:
        mine = placed[placed["journey"].isin([journey.id, ""])]
        stages = _per_stage(mine, journey_map, top)
        if stages:
            out[journey.id] = stages
    return out

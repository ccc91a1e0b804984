"""Slack messages as data (Block Kit JSON): a step alert, its thread replies and its edited top message, and a
data alert. Every message carries `journey_alert` metadata; visible names are journey.yaml's own.

Messages hold aggregates only (rates, counts, money): no secrets, email addresses or customer records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks.incident_snapshot import snapshot_of
from models.config import JourneyMap, Touchpoint
from models.sources import BY_NAME
from reports.blocks import Block, buttons, context, escape, fields, header, mention, message, sections
from reports.source_links import Accounts, source_link

SEVERITY = {"critical": ("🔴", "Critical"), "warning": ("🟠", "Warning")}
STATUS = {"open": "Open", "ongoing": "Ongoing", "resolved": "Resolved"}
WHAT_HAPPENED = {"flatline": "no conversions at all", "collapse": "collapsed", "drift": "drifting down"}


@dataclass(frozen=True)
class Links:
    """Where the buttons go: the run in the Prefect UI, the incident-action deployment's run form, the rendered
    map, and (through the accounts behind the map) each touchpoint's own report in its source."""

    run: str | None = None
    ack: str | None = None
    snooze: str | None = None
    map: str | None = None
    accounts: Accounts | None = None


def _pct(value: Any) -> str:
    return "—" if value is None else f"{max(0.0, float(value)):.1%}"


def find_step(journey_map: JourneyMap, journey_id: str, step: str) -> tuple[str, Touchpoint | None, str]:
    """(journey name, touchpoint, what its step converts to) as journey.yaml names them."""
    for journey in journey_map.journeys:
        if journey.id != journey_id:
            continue
        ordered = journey_map.ordered_touchpoints(journey)
        for i, tp in enumerate(ordered):
            if tp.id == step:
                after = tp.success or (ordered[i + 1].name if i + 1 < len(ordered) else "")
                return journey.name, tp, after
        return journey.name, None, ""
    return journey_id, None, ""


def _persona(segment: str) -> str:
    return segment.split("=", 1)[1] if segment.startswith("persona=") else "all customers"


def alert_payload(key: str, payload: Mapping[str, Any], status: str, severity: str, metric: str,
                  message_key: str) -> dict[str, Any]:
    """The `journey_alert` metadata: what a reader (or a bot) needs to act on the message."""
    journey, _, segment, _ = [*key.split("|"), "", "", ""][:4]
    return {"alert_key": key, "journey": journey, "stage": str(payload.get("stage") or ""),
            "touchpoint": str(payload.get("touchpoint") or ""), "segment": segment, "metric": metric,
            "status": status, "severity": severity, "message_key": message_key}


def _rate_line(payload: Mapping[str, Any], after: str) -> str:
    kind = str(payload.get("kind") or "drop")
    reading = snapshot_of(payload)
    drop = 1 - reading.rate / reading.baseline if reading.rate is not None and reading.baseline else \
        float(payload.get("drop") or 0)
    happened = WHAT_HAPPENED.get(kind) or f"down {drop:.0%}"
    step = f"*{escape(str(payload.get('touchpoint')))}* → *{escape(after)}*" if after else \
        f"*{escape(str(payload.get('touchpoint')))}*"
    through = f" (matured days through {reading.through})" if reading.through else ""
    return (f"{step}: *{_pct(reading.rate)}* now (95 % CI {_pct(reading.low)}–{_pct(reading.high)}) against "
            f"*{_pct(reading.baseline)}* usually: {happened} since *{reading.since}*{through}.")


def _related_lines(journey_map: JourneyMap, related: Sequence[tuple[str, Mapping[str, Any], str]]) -> list[str]:
    if not related:
        return []
    currency = journey_map.business.currency
    lines = []
    for key, payload, status in related:
        reading = snapshot_of(payload)
        segment = [*key.split("|"), "", ""][2]
        where = f"{escape(str(payload.get('stage')))} › {escape(str(payload.get('touchpoint')))}" + \
            ("" if segment in ("", "all") else f" ({escape(segment)})")
        state = "resolved" if status == "resolved" else f"{_pct(reading.rate)} vs {_pct(reading.baseline)} " \
            f"since {reading.since} · {currency} {reading.impact_per_day:,.0f}/day"
        lines.append(f"• {where}: {state} · `{escape(key)}`")
    return ["*Same cause, alerted the same day* (the same page or source rule; updates in this thread):\n"
            + "\n".join(lines)]


def alert_message(journey_map: JourneyMap, key: str, payload: Mapping[str, Any], *, status: str, severity: str,
                  opened_on: dt.date, as_of: dt.date, links: Links, message_key: str,
                  resolved_on: dt.date | None = None,
                  related: Sequence[tuple[str, Mapping[str, Any], str]] = ()) -> dict[str, Any]:
    """The top-level message of a step alert (posted when it opens, edited as its status changes). `related`:
    (key, payload, status) of the incidents of the same cause opened the same day, told in this one message."""
    journey_id, step, segment, _ = [*key.split("|"), "", "", ""][:4]
    journey, tp, after = find_step(journey_map, journey_id, step)
    emoji, label = SEVERITY.get(severity, ("⚪", severity.title()))
    if status == "resolved":
        emoji, label = "✅", f"Resolved ({label.lower()})"
    stage, name = str(payload.get("stage")), str(payload.get("touchpoint"))
    reading = snapshot_of(payload)
    currency = journey_map.business.currency
    state = (f"*{STATUS.get(status, status)}* · alerted on {opened_on} · as of {as_of}" if status != "resolved" else
             f"*Resolved* on {resolved_on or as_of} · alerted on {opened_on}")
    blocks: list[Block] = [header(f"{emoji} {label} · {stage} › {name}"), *sections(state),
                           *sections(_rate_line(payload, after)),
                           *fields([("Lost per day", f"~{reading.lost_per_day:,.1f} conversions"),
                                    ("At stake per day", f"{currency} {reading.impact_per_day:,.0f}"),
                                    ("Segment", escape(segment or "all")),
                                    ("Hit hardest", escape(str(payload.get("top_segments") or "—")))]),
                           *(block for line in _related_lines(journey_map, related) for block in sections(line))]
    if status != "resolved":
        blocks += sections(f"*What to do:* {_next_step(payload.get('source'))} Once it is "
                           f"fixed, record it: `journeymap annotate --touchpoint {step} --date <day> --note …`.")
        owners = journey_map.owners(journey_id, tp.stage if tp is not None else "")
        if owners:
            blocks += sections("*Who acts:* " + " ".join(mention(o) for o in owners))
    blocks.append(context([f"Journey: {escape(journey)}", f"Persona: {escape(_persona(segment))}",
                           f"Source: {payload.get('source')}", f"Alert `{escape(key)}`"]))
    done = status == "resolved"  # nothing left to acknowledge
    where = source_link(tp, links.accounts) if tp is not None and links.accounts is not None else None
    blocks += buttons([("Open the flow run", links.run, "open_run"),
                       ("Acknowledge", None if done else links.ack, "acknowledge"),
                       ("Snooze 7 days", None if done else links.snooze, "snooze"),
                       ("Open the map", links.map, "open_map"),
                       *([(where[0], where[1], "open_source")] if where else [])])
    if not (links.ack and links.snooze) and status != "resolved":
        blocks.append(context([f"Acknowledge: `journeymap incident ack {escape(key)}`",
                               f"Snooze: `journeymap incident snooze {escape(key)} --days 7`"]))
    text = f"{label}: {stage} › {name} — {_pct(reading.rate)} vs {_pct(reading.baseline)} since {reading.since}" \
        + (f" (+{len(related)} of the same cause)" if related else "")
    metric = (tp.success or f"to {after}") if tp is not None else ""
    meta = alert_payload(key, payload, status, severity, metric, message_key)
    if related:
        meta["related_keys"] = ",".join(k for k, _, _ in related)
    return message(text, blocks, "journey_alert", meta, "see the flow run")


def alert_reply(journey_map: JourneyMap, key: str, payload: Mapping[str, Any], *, action: str, status: str,
                severity: str, as_of: dt.date, message_key: str) -> dict[str, Any]:
    """A thread reply: reopened, severity changed, or resolved."""
    journey_id, step, _, _ = [*key.split("|"), "", "", ""][:4]
    _, tp, after = find_step(journey_map, journey_id, step)
    if action == "resolved":
        reading = snapshot_of(payload)
        text = (f"✅ *Resolved* on {as_of}: back within its usual range for two matured days "
                f"(last bad reading: {_pct(reading.rate)} against {_pct(reading.baseline)}).")
    elif action == "reopened":
        text = f"🔁 *Reopened* on {as_of}, {severity}: {_rate_line(payload, after)}"
    else:
        text = f"↕️ *Now {severity}* on {as_of}: {_rate_line(payload, after)}"
    metric = (tp.success or f"to {after}") if tp is not None else ""
    plain = text.replace("*", "")
    return message(plain, sections(text), "journey_alert",
                   alert_payload(key, payload, status, severity, metric, message_key), "see the flow run")


def data_alert_message(source: str, reason: str, *, status: str, first_day: dt.date, as_of: dt.date,
                       links: Links, message_key: str) -> dict[str, Any]:
    """A data alert: the source's data cannot be judged (stale, or blocked by a data-quality check)."""
    resolved = status == "resolved"
    title = f"✅ Data usable again · {source}" if resolved else f"⚠️ Data problem · {source}"
    state = (f"*Resolved* on {as_of} · alerted on {first_day}" if resolved else
             f"*Open* · alerted on {first_day} · as of {as_of}")
    blocks: list[Block] = [header(title), *sections(state), *sections(escape(reason))]
    if not resolved:
        blocks += sections(f"Step alerts that depend on *{source}* are held back meanwhile: a gap in the data is not "
                           f"a drop in conversions. Details: `journeymap checks --as-of {as_of}`.")
    blocks.append(context([f"Source: {source}", f"Alert `data|{source}`"]))
    blocks += buttons([("Open the flow run", links.run, "open_run")])
    payload = {"alert_key": f"data|{source}", "journey": "", "stage": "", "touchpoint": "", "segment": "all",
               "metric": "data", "status": status, "severity": "critical", "message_key": message_key}
    return message(f"{title}: {reason}", blocks, "journey_alert", payload, "see the flow run")


def data_alert_reply(source: str, *, as_of: dt.date, message_key: str) -> dict[str, Any]:
    text = f"✅ *Resolved* on {as_of}: {source}'s data passed its checks again; its steps are judged again."
    payload = {"alert_key": f"data|{source}", "journey": "", "stage": "", "touchpoint": "", "segment": "all",
               "metric": "data", "status": "resolved", "severity": "critical", "message_key": message_key}
    return message(text.replace("*", ""), sections(text), "journey_alert", payload, "see the flow run")


SOURCE_CAUSES = {  # why a source was not read, and what to do: one alert per source and cause
    "setup": ("⚠️ Source needs a fix", "Fix what the error names (a setting or journey.yaml), then check it with "
                                      "`journeymap check-config`; the next run reads the source again."),
    "read": ("⚠️ Source not read", "The source's API failed after its retries; the next run tries again and reads "
                                  "the days it missed."),
}


def source_alert_message(source: str, cause: str, reason: str, *, status: str, first_day: dt.date, as_of: dt.date,
                         links: Links, message_key: str) -> dict[str, Any]:
    """A data alert for a source that could not be read (`cause`: setup or read), and its top message edited
    when the source reads again."""
    resolved = status == "resolved"
    opened, advice = SOURCE_CAUSES.get(cause, SOURCE_CAUSES["read"])
    title = f"✅ Read again · {source}" if resolved else f"{opened} · {source}"
    state = (f"*Resolved* on {as_of} · alerted on {first_day}" if resolved else
             f"*Open* · alerted on {first_day} · as of {as_of}")
    blocks: list[Block] = [header(title), *sections(state),
                           *sections(f"*{source}* could not be read: {escape(reason)}")]
    if not resolved:
        blocks += sections(f"*What to do:* {advice} What was read before stays stored; the map shows *no data "
                           f"since* its last day for {source}, never zeros, and a gap in its data is not a drop in "
                           "conversions.")
    blocks.append(context([f"Source: {source}", f"Alert `data|{source}|{cause}`"]))
    blocks += buttons([("Open the flow run", links.run, "open_run")])
    payload = {"alert_key": f"data|{source}|{cause}", "journey": "", "stage": "", "touchpoint": "",
               "segment": "all", "metric": "read", "status": status, "severity": "critical",
               "message_key": message_key}
    return message(f"{title}: {reason}", blocks, "journey_alert", payload, "see the flow run")


def source_alert_reply(source: str, cause: str, *, as_of: dt.date, message_key: str) -> dict[str, Any]:
    """The thread reply when a source that could not be read reads again."""
    text = f"✅ *Resolved* on {as_of}: {source} was read again."
    payload = {"alert_key": f"data|{source}|{cause}", "journey": "", "stage": "", "touchpoint": "",
               "segment": "all", "metric": "read", "status": "resolved", "severity": "critical",
               "message_key": message_key}
    return message(text.replace("*", ""), sections(text), "journey_alert", payload, "see the flow run")


def failure_message(flow: str, run: str, step: str, reason: str, *, run_url: str | None,
                    message_key: str) -> dict[str, Any]:
    """A flow run that failed after its retries: which flow, which step, why, and where to look."""
    blocks: list[Block] = [header(f"❌ Run failed · {flow}"),
                           *sections(f"*{escape(flow)}* run `{escape(run)}` failed in *{escape(step)}*:\n"
                                     f"{escape(reason)}"),
                           context(["What worked is stored; the next run picks up the rest.",
                                    f"Run `{escape(run)}`"])]
    blocks += buttons([("Open the flow run", run_url, "open_run")])
    payload = {"alert_key": f"run|{flow}", "journey": "", "stage": "", "touchpoint": "", "segment": "all",
               "metric": "run", "status": "open", "severity": "critical", "message_key": message_key}
    return message(f"Run failed: {flow} ({run}) in {step}: {reason}", blocks, "journey_alert", payload,
                   "see the flow run")


def _next_step(source: object) -> str:
    """What to check first, by source (the step's own data says where the leak is, not why)."""
    declared = BY_NAME.get(str(source))
    return declared.what_to_check if declared else "Check the touchpoint's latest change and its source's data."

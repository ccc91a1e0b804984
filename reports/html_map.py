"""The journey map as one self-contained HTML file: journeys side by side as sections, stages as columns, a card per
touchpoint with live numbers, a feedback row under the stages, and a persona switcher. Inline CSS and SVG only
(no script, no font, nothing fetched), so it opens offline and in a mail attachment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from reports.incidents import reading_line
from reports.map_page import MapPage, PersonaPage, SourceStatus, largest_leak, lost, wilson
from reports.map_view import FeedbackView, JourneyView, TouchpointView
from reports.render import fmt_change, fmt_money, fmt_pp, fmt_rate, fmt_volume

SEVERITY_COLOURS = {"critical": "#cf222e", "warning": "#bf8700", "info": "#0969da"}
CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2328;background:#f6f8fa}header{padding:16px 24px;background:#fff;border-bottom:1px solid #d0d7de}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0}h3{font-size:13px;margin:0 0 8px;text-transform:uppercase;
letter-spacing:.04em;color:#57606a}h4{font-size:14px;margin:0 0 2px}.muted{color:#656d76}.small{font-size:12px}
nav.personas{margin-top:10px;display:flex;flex-wrap:wrap;gap:6px}nav.personas label{padding:4px 10px;border:1px solid
#d0d7de;border-radius:16px;cursor:pointer;background:#fff}input.persona-switch{position:absolute;opacity:0}
.quality{display:flex;flex-wrap:wrap;gap:8px;margin-top:10px}.chip{padding:2px 8px;border-radius:10px;font-size:12px;
border:1px solid #d0d7de}.chip.ok{background:#dafbe1;border-color:#aceebb}.chip.bad{background:#ffebe9;
border-color:#ffcecb}main{padding:16px 24px}.persona{display:none}.journey{background:#fff;border:1px solid #d0d7de;
border-radius:8px;margin:0 0 20px;padding:14px}.goal{margin:2px 0 12px}.stages{display:grid;gap:12px;
overflow-x:auto}.stage{min-width:220px}.card{background:#fff;border:1px solid #d0d7de;border-left:4px solid #d0d7de;
border-radius:6px;padding:8px 10px;margin:0 0 8px}.card.leak{border-left-color:#fb8f44}.card .figures{display:flex;
justify-content:space-between;align-items:baseline}.volume{font-size:20px;font-weight:600}.up{color:#1a7f37}
.down{color:#cf222e}.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#fff1e5;
color:#953800;margin-top:4px}.incident{margin-top:6px;padding:4px 6px;border-radius:4px;color:#fff;font-size:12px}
.nodata{color:#8c959f;font-style:italic}.note,.question{font-size:12px;margin-top:4px}.question{color:#57606a}
.feedback{display:grid;gap:12px;margin-top:6px;padding-top:8px;border-top:1px dashed #d0d7de}.feedback>div{
min-width:220px;font-size:12px}.resolved{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 14px}
svg{display:block}
"""


def render_html(page: MapPage) -> str:
    """The whole page; the first persona (all customers) shows first, the switcher shows the others."""
    ids = [_persona_id(p) for p in page.personas]
    switch_css = "".join(f"#{i}:checked~main #{i}-map{{display:block}}#{i}:checked~header label[for={i}]"
                         f"{{background:#0969da;color:#fff;border-color:#0969da}}" for i in ids)
    first = page.personas[0].view
    title = f"{page.business} — customer journey map"
    parts = [f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
             f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}{switch_css}</style>'
             '</head><body>']
    parts += [f'<input type="radio" name="persona" class="persona-switch" id="{i}"{" checked" if n == 0 else ""}>'
              for n, i in enumerate(ids)]
    parts.append(f'<header><h1>{escape(title)}</h1><div class="muted">{first.since} – {first.until} '
                 f'({(first.until - first.since).days + 1} days) against the {(first.until - first.since).days + 1} '
                 f'days before · as of {page.as_of}</div>')
    parts.append('<nav class="personas" aria-label="Persona">' + "".join(
        f'<label for="{i}" title="{escape(p.description)}">{escape(p.name or "All customers")}</label>'
        for i, p in zip(ids, page.personas, strict=True)) + "</nav>")
    parts.append(_quality(page.sources) + "</header><main>")
    for i, persona in zip(ids, page.personas, strict=True):
        parts.append(_persona(page, persona, i))
    parts.append(_resolved(page) + "</main></body></html>")
    return "".join(parts)


def _persona_id(persona: PersonaPage) -> str:
    return "persona-" + ("all" if not persona.name else "".join(c if c.isalnum() else "-" for c in persona.name))


def _quality(sources: Sequence[SourceStatus]) -> str:
    chips = []
    for s in sources:
        since = f", data to {s.last_day}" if s.last_day else ", no data yet" if s.mapped else ""
        if s.settling:
            first, last = s.settling[0], s.settling[-1]
            since += f" ({first}{'' if first == last else f' … {last}'} still settling)"
        if s.checked_on is None:
            chips.append(f'<span class="chip" data-source="{s.source}">{s.source}: not checked yet{since}</span>')
        elif s.failed:
            failed = "; ".join(s.failed)
            chips.append(f'<span class="chip bad" data-source="{s.source}" title="{escape(failed)}">{s.source}: '
                         f'{len(s.failed)} check(s) failed on {s.checked_on}{since}</span>')
        else:
            chips.append(f'<span class="chip ok" data-source="{s.source}">{s.source}: {s.passed} checks passed on '
                         f'{s.checked_on}{since}</span>')
    return '<div class="quality" aria-label="Data quality">' + "".join(chips) + "</div>"


def _persona(page: MapPage, persona: PersonaPage, html_id: str) -> str:
    view = persona.view
    head = (f'<p class="muted">{escape(persona.description)}</p>' if persona.description else "")
    out = [f'<section class="persona" id="{html_id}-map" data-persona="{escape(persona.name or "all")}">{head}']
    for journey in view.journeys:
        out.append(_journey(page, persona, journey, view.feedback_for(journey.id)))
    out.append("</section>")
    return "".join(out)


def _journey(page: MapPage, persona: PersonaPage, journey: JourneyView, feedback: list[FeedbackView]) -> str:
    columns = len(journey.stages)
    out = [f'<article class="journey" data-journey="{escape(journey.id)}"><h2>{escape(journey.name)}</h2>'
           f'<p class="goal muted">{escape(journey.goal)} · {page.currency} {fmt_money(journey.value)} per '
           f'conversion</p><div class="stages" style="grid-template-columns:repeat({columns},minmax(220px,1fr))">']
    for stage in journey.stages:
        leak = largest_leak(stage)
        out.append(f'<section class="stage" data-stage="{escape(stage.id)}"><h3>{escape(stage.name)}</h3>')
        out += [_card(page, persona, card, card.id == leak) for card in stage.touchpoints]
        out.append("</section>")
    out.append("</div>")
    by_stage = {f.stage: f for f in feedback}
    if by_stage and not persona.name:
        out.append(f'<div class="feedback" style="grid-template-columns:repeat({columns},minmax(220px,1fr))">')
        out += [_feedback(by_stage.get(stage.name)) for stage in journey.stages]
        out.append("</div>")
    out.append("</article>")
    return "".join(out)


def _card(page: MapPage, persona: PersonaPage, card: TouchpointView, leak: bool) -> str:
    classes = "card leak" if leak else "card"
    out = [f'<div class="{classes}" data-touchpoint="{escape(card.id)}"><h4>{escape(card.name)}</h4>'
           f'<div class="muted small">{escape(card.source)}</div>']
    last = page.last_day.get(card.source)
    if card.volume is None:
        out.append('<div class="nodata">n/a for a persona: this source records no device, channel or visitor type'
                   '</div>')
    elif not card.volume and (last is None or last < persona.view.since):
        out.append(f'<div class="nodata" data-figure="no-data">{_no_data(last)}</div>')
    else:
        change = card.volume_change
        tone = "" if change is None or abs(change) < 0.005 else (" up" if change > 0 else " down")
        out.append(f'<div class="figures"><span class="volume" data-figure="volume">{fmt_volume(card.volume)}'
                   f'</span><span class="small{tone}" data-figure="volume-change">{fmt_change(change)}</span></div>')
        out.append(f'<div class="muted small">{escape(card.volume_metric)}</div>')
        out.append(_sparkline(persona.series.get(card.id, [])))
        out.append(_step(card))
        if last is not None and last < persona.view.until:
            out.append(f'<div class="nodata small">{_no_data(last)}</div>')
    if leak:
        out.append(f'<span class="badge" data-figure="leak">largest leak of the stage: {fmt_volume(lost(card))} '
                   "lost</span>")
    for incident in (i for i in page.incidents if i.touchpoint == card.id and i.status != "resolved"
                     and shown_in(i.segment, persona.name)):
        colour = SEVERITY_COLOURS.get(incident.severity, "#57606a")
        through = f' title="matured days through {incident.through}"' if incident.through else ""
        out.append(f'<div class="incident" data-figure="incident" style="background:{colour}"{through}>'
                   f'{escape(incident.severity.capitalize())}: {escape(reading_line(incident.reading, page.currency))}'
                   '</div>')
    for change_note in (c for c in page.changes if c.touchpoint_id == card.id):
        out.append(f'<div class="note" data-figure="annotation">✎ {change_note.day}: {escape(change_note.note)} — '
                   f'{fmt_rate(change_note.before)} before, {fmt_rate(change_note.after)} since</div>')
    for question in page.questions.get(card.id, ()):
        out.append(f'<div class="question" data-figure="question">? {escape(question)}</div>')
    out.append("</div>")
    return "".join(out)


def shown_in(segment: str, persona: str) -> bool:
    """A persona's map shows that persona's incidents; the map of all customers shows every other one."""
    return segment == f"persona={persona}" if persona else not segment.startswith("persona=")


def _no_data(last: dt.date | None) -> str:
    return f"no data since {last}" if last else "no data yet"


def _step(card: TouchpointView) -> str:
    if not card.step_to:
        return '<div class="muted small">the last step of the journey</div>'
    if card.conversion is None:
        return f'<div class="muted small">→ {escape(card.step_to)}: no conversions to compare</div>'
    interval = wilson(card.conversions, card.volume)
    shown = f" ({fmt_rate(interval[0])}–{fmt_rate(interval[1])})" if interval else ""
    change = card.conversion_change
    tone = "" if change is None or abs(change) < 1 else (" up" if change > 0 else " down")
    return (f'<div class="small">→ {escape(card.step_to)}: <b data-figure="conversion">{fmt_rate(card.conversion)}'
            f'</b><span class="muted" data-figure="interval">{shown}</span> <span class="{tone.strip()}" '
            f'data-figure="conversion-change">{fmt_pp(change)}</span></div>')


def _sparkline(values: list[float | None], width: int = 200, height: int = 28) -> str:
    """The daily volume as an SVG polyline; days without data break the line instead of falling to zero."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    top = max(known) or 1.0
    step = width / max(len(values) - 1, 1)
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
            continue
        runs[-1].append(f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}")
    lines = "".join(f'<polyline points="{" ".join(r)}" fill="none" stroke="#4c78a8" stroke-width="1.5"/>'
                    for r in runs if len(r) > 1)
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="daily volume, last {len(values)} days">{lines}</svg>')


def _feedback(row: FeedbackView | None) -> str:
    if row is None or row.answers == 0:
        return '<div class="muted">no survey answers for this stage in the period</div>'
    previous = f" (was {row.previous_nps:+.0f})" if row.previous_nps is not None else ""
    pains = "".join(f"<li>{escape(p)}</li>" for p in row.pain_points)
    return (f'<div data-figure="feedback"><b>NPS {row.nps:+.0f}</b>{previous} · {row.answers} answers'
            f'{_scores(row.scores)}' + (f"<ul>{pains}</ul>" if pains else "") + _stage_only(row) + "</div>")


def stage_only_note(row: FeedbackView) -> str:
    """The mark of answers that name only a stage: they are shown under that stage of every journey."""
    if not row.stage_only:
        return ""
    if row.stage_only == row.answers:
        return "all about the stage in general, not this journey"
    return f"{row.stage_only} of them about the stage in general, not this journey"


def _stage_only(row: FeedbackView) -> str:
    note = stage_only_note(row)
    return f'<div class="muted small" data-figure="stage-only">{escape(note)}</div>' if note else ""


def _scores(scores: tuple[int, ...], width: int = 200, height: int = 24) -> str:
    """The 0–10 score distribution as bars: detractors red, passives grey, promoters green."""
    if not scores or not sum(scores):
        return ""
    top = max(scores)
    w = width / len(scores)
    bars = "".join(
        f'<rect x="{i * w + 1:.1f}" y="{height - height * c / top:.1f}" width="{w - 2:.1f}" '
        f'height="{height * c / top:.1f}" fill="{"#cf222e" if i <= 6 else "#8c959f" if i <= 8 else "#1a7f37"}"/>'
        for i, c in enumerate(scores))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="scores 0 to 10: '
            f'{", ".join(str(c) for c in scores)}">{bars}</svg>')


def _resolved(page: MapPage) -> str:
    done = [i for i in page.incidents if i.status == "resolved"]
    if not done:
        return ""
    names = {c.id: c.name for j in page.personas[0].view.journeys for s in j.stages for c in s.touchpoints}
    done.sort(key=lambda i: (-i.impact_per_day, i.opened_on))  # the most money at stake first
    items = "".join(f"<li>{escape(names.get(i.touchpoint, i.touchpoint))} ({escape(i.segment)}): {i.severity}, "
                    f"{i.opened_on} – {i.resolved_on}</li>" for i in done)
    return f'<section class="resolved"><h3>Resolved incidents</h3><ul>{items}</ul></section>'

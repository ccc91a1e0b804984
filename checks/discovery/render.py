"""Write a proposed map as journey.yaml text, with a comment beside each touchpoint: its volume and why."""

from __future__ import annotations

from typing import Any

import yaml

from checks.discovery.proposal import Proposal

WIDTH = 10**6  # one line per value, however long


def flow(value: Any) -> str:
    """A value in YAML flow style on one line, quoted where YAML needs it."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=WIDTH, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def scalar(value: Any) -> str:
    return flow([value])[1:-1]


def render_yaml(proposal: Proposal, *, header: list[str]) -> str:
    """The proposal as a journey.yaml file; `header` lines open it as comments (what was read, and how)."""
    jm = proposal.journey_map
    b = jm.business
    lines = [f"# {line}".rstrip() for line in header]
    lines += ["", "version: 1", "", "business:", f"  name: {scalar(b.name)}",
              f"  timezone: {scalar(b.timezone)}", f"  currency: {scalar(b.currency)}", "",
              "stages:                     # in order; the rules above placed every touchpoint in one of these"]
    lines += [f"  - {flow({'id': s.id, 'name': s.name})}" for s in jm.stages]
    lines += ["", f"segments: {flow(list(jm.segments))}"]
    if jm.personas:
        lines += ["", "personas:"] + [f"  - {flow(p.model_dump(exclude_defaults=True))}" for p in jm.personas]
    lines += ["", "journeys:"]
    for journey in jm.journeys:
        lines += ["  # " + "-" * 84, f"  - id: {journey.id}", f"    name: {scalar(journey.name)}",
                  f"    goal: {scalar(journey.goal)}"]
        if journey.goal_touchpoint:
            lines.append(f"    goal_touchpoint: {journey.goal_touchpoint}")
        value_note = (f"# {b.currency} per conversion: the mean paid checkout" if journey.value
                      else f"# set it: what one conversion earns, in {b.currency}")
        lines += [f"    value: {journey.value:g}    {value_note}", "    touchpoints:"]
        for tp in journey.touchpoints:
            lines += [f"      # {proposal.notes.get(tp.id, '')}".rstrip(), f"      - id: {tp.id}",
                      f"        name: {scalar(tp.name)}", f"        stage: {tp.stage}", f"        source: {tp.source}",
                      f"        match: {flow(dict(tp.match))}", f"        volume: {tp.volume}"]
            if tp.success:
                lines.append(f"        success: {tp.success}")
    return "\n".join(lines) + "\n"

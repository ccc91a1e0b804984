"""The rules `journeymap discover` proposes stages by: what a record is (a page in a search engine's results, a
traffic source, a page, an event, an email of an automation, a campaign, a checkout) and what it is called,
matched against rules a person can read and change. Each answer carries the rule's reason, which the proposal
writes beside the touchpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.config import Touchpoint
from models.sources.discovery import Candidate, Kind
from models.sources.registry import PARTS


@dataclass(frozen=True)
class StageRule:
    stage: str
    kinds: frozenset[str]
    pattern: str  # matched, case-insensitive, anywhere in the candidate's name ("" matches everything)
    why: str


RULES: tuple[StageRule, ...] = (
    StageRule("awareness", frozenset({"search"}), "",
              "people find the site in a search engine's results, before any visit"),
    StageRule("awareness", frozenset({"traffic"}), "", "a traffic source brings people in"),
    StageRule("awareness", frozenset({"campaign"}), "", "a regular newsletter or campaign reaches the audience"),
    StageRule("purchase", frozenset({"checkout"}), "", "a checkout is where the money changes hands"),
    StageRule("advocacy", frozenset({"page", "event", "email"}),
              r"refer|submit.?review|write.?a.?review|testimonial|invite|promoter",
              "referrals, reviews and promoters speak for the business"),
    StageRule("retention", frozenset({"page", "event", "email"}),
              r"onboard|member|lesson|renew|account|(?<![a-z])log.?in(?![a-z])|welcome.?back|win.?back",
              "onboarding, member content and renewals keep customers"),
    StageRule("purchase", frozenset({"page", "event", "email"}),
              r"shop|product|pricing|plans?\b|cart|checkout|order|receipt|purchase|buy|affiliate.?click|"
              r"sponsor.?click|thank.?you|confirm|payment.?success",
              "product pages, the cart, the checkout, its confirmation and receipt, and clicks that earn money"),
    StageRule("consideration", frozenset({"page", "event", "email"}), "",
              "content, lead magnets, sign-ups and the emails that follow them"),
)


def assign_stage(candidate: Candidate, rules: tuple[StageRule, ...] = RULES) -> tuple[str, str]:
    """(stage, why) by the first rule that matches the candidate's kind and name."""
    for rule in rules:
        if candidate.kind in rule.kinds and re.search(rule.pattern, candidate.name, re.IGNORECASE):
            return rule.stage, rule.why
    raise ValueError(f"no rule places a {candidate.kind} called {candidate.name!r}; add one to the rules")


def candidate_of(touchpoint: Touchpoint) -> Candidate:
    """What an existing touchpoint is, by its source and match (to compare a map with what the rules propose): its
    source's own reading of it, else a page of its name."""
    parts = PARTS.get(touchpoint.source)
    of = parts.discover.candidate_of if parts is not None and parts.discover is not None else None
    return of(touchpoint) if of is not None else Candidate("page", touchpoint.name)


__all__ = ["RULES", "Candidate", "Kind", "StageRule", "assign_stage", "candidate_of"]

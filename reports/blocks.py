"""Block Kit pieces that stay inside Slack's limits: long text is split or shortened, never rejected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELD_TEXT = 2000
MAX_FIELDS = 10
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
URL_LENGTH = 3000
FALLBACK_TEXT = 3000  # the notification text (Slack allows 40 000; a notification shows a line)

Block = dict[str, Any]


def escape(text: str) -> str:
    """Text as mrkdwn shows it literally (Slack reads &, < and > as markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": shorten(text, HEADER_TEXT), "emoji": True}}


def sections(text: str) -> list[Block]:
    """mrkdwn text as as many sections as it needs, split between lines (a line too long alone is cut)."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        line = shorten(line, SECTION_TEXT)
        if current and len(current) + 1 + len(line) > SECTION_TEXT:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]


def fields(pairs: Sequence[tuple[str, str]]) -> list[Block]:
    """Label/value pairs as two-column sections, ten fields to a section."""
    items = [{"type": "mrkdwn", "text": shorten(f"*{label}*\n{value}", FIELD_TEXT)} for label, value in pairs]
    return [{"type": "section", "fields": items[i:i + MAX_FIELDS]} for i in range(0, len(items), MAX_FIELDS)]


def context(parts: Iterable[str]) -> Block:
    items = [p for p in parts if p][:CONTEXT_ELEMENTS]
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": shorten(p, SECTION_TEXT)} for p in items]}


def buttons(links: Sequence[tuple[str, str | None, str]]) -> list[Block]:
    """(label, url, action_id) as URL buttons; links without a URL are left out (no block when none is left)."""
    items = [{"type": "button", "text": {"type": "plain_text", "text": shorten(label, BUTTON_TEXT)}, "url": url,
              "action_id": action} for label, url, action in links if url and len(url) <= URL_LENGTH]
    return [{"type": "actions", "elements": items}] if items else []


def divider() -> Block:
    return {"type": "divider"}


def fit(blocks: list[Block], overflow: str) -> list[Block]:
    """At most MAX_BLOCKS blocks: past it, the rest is replaced by one line saying what was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    left = len(blocks) - len(kept)
    return [*kept, *sections(f"_…and {left} more block(s) not shown: {overflow}_")]


def message(text: str, blocks: list[Block], event_type: str, payload: dict[str, Any], overflow: str) -> dict[str, Any]:
    """A chat.postMessage / chat.update body: notification text, blocks, and the message metadata."""
    return {"text": shorten(text, FALLBACK_TEXT), "blocks": fit(blocks, overflow),
            "metadata": {"event_type": event_type, "event_payload": payload}}


def mention(owner: str) -> str:
    """A Slack mention of a member (U…/W…) or a user group (S…) by id."""
    return f"<!subteam^{owner}>" if owner.startswith("S") else f"<@{owner}>"

"""Reading the rendered HTML map as a person and a browser do: its structure (personas › journeys › stage columns ›
cards › figures) for golden comparisons, and a real-browser check in Debian's headless Chromium."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.conftest import chromium

VOID = {"input", "meta", "br", "img", "link", "hr"}
SVG_PARTS = {"polyline", "rect"}


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.personas: dict[str, Any] = {}
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.figure: list[str] | None = None
        self.where: dict[str, Any] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in VOID or tag in SVG_PARTS:
            return
        self.stack.append((tag, a))
        if "data-persona" in a:
            self.where = {"persona": self.personas.setdefault(a["data-persona"], {})}
        elif "data-journey" in a:
            self.where["journey"] = self.where["persona"].setdefault(a["data-journey"], {})
        elif "data-stage" in a:
            self.where["stage"] = self.where["journey"].setdefault(a["data-stage"], {})
        elif "data-touchpoint" in a:
            self.where["card"] = self.where["stage"].setdefault(a["data-touchpoint"], {})
        elif "data-figure" in a and "card" in self.where:
            self.figure = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or tag in SVG_PARTS or not self.stack:
            return
        _, a = self.stack.pop()
        if "data-figure" in a and self.figure is not None:
            text = " ".join("".join(self.figure).split())
            self.where["card"].setdefault(a["data-figure"], []).append(text)
            self.figure = None
        if "data-touchpoint" in a:
            self.where.pop("card", None)

    def handle_data(self, data: str) -> None:
        if self.figure is not None:
            self.figure.append(data)


def structure(html: str) -> dict[str, Any]:
    """persona → journey → stage → touchpoint → figure name → its texts, in the page's order."""
    parser = _Structure()
    parser.feed(html)
    return parser.personas


def golden(path: Path, value: dict[str, Any]) -> None:
    """`value` equals the JSON at `path` (written when UPDATE_GOLDEN is set: review the diff)."""
    text = json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)


def check_in_browser(page_file: Path, touchpoints: dict[str, str], persona: str, screenshot: Path) -> None:
    """Open the file in headless Chromium: every touchpoint's card is visible with its name and a figure (its
    volume, or a no-data line); the persona switcher shows that persona's map instead; the screenshot is not
    blank."""
    from PIL import Image, ImageStat
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(page_file.resolve().as_uri())
        shown = page.locator("section.persona:visible")
        expect(shown).to_have_count(1)
        assert shown.get_attribute("data-persona") == "all"
        for tp_id, name in touchpoints.items():
            card = shown.locator(f'[data-touchpoint="{tp_id}"]').first
            expect(card).to_be_visible()
            expect(card.locator("h4")).to_have_text(name)
            expect(card.locator('[data-figure="volume"], [data-figure="no-data"]').first).to_be_visible()
        page.locator("nav.personas label", has_text=persona).click()
        expect(page.locator(f'section.persona[data-persona="{persona}"]')).to_be_visible()
        expect(page.locator('section.persona[data-persona="all"]')).to_be_hidden()
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    with Image.open(screenshot) as image:
        stat = ImageStat.Stat(image.convert("L"))
    assert stat.stddev[0] > 10, f"the screenshot {screenshot} looks blank"

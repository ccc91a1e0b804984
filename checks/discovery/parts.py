"""The pieces a proposed map is built from: page sections, product families, money-click streams and names."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SECTION_MIN_PAGES = 3  # a folder with this many pages becomes one touchpoint ("blog posts"), not one per page
WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Stream:
    """A revenue stream paid per click rather than per sale: found by its click event, fed by the pages that
    carry its links."""

    id: str
    name: str
    goal: str
    event: str  # full-match pattern of the click event's name
    pages: str  # search pattern of the page paths that carry the links


STREAMS = (
    Stream("affiliate", "Affiliate links", "A reader clicks an affiliate link",
           r"affiliate[_-]?\w*|outbound[_-]?\w*|click_out|click", r"review|best-|gear|tested|recommend"),
    Stream("sponsored", "Sponsored content", "A reader clicks through to a sponsor",
           r"sponsor[_-]?\w*|partner[_-]?click", r"partner|sponsor|promoted"),
)


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def slug(text: str, limit: int = 48) -> str:
    """A touchpoint or journey id made from a name: lower-case words joined by dashes."""
    out = "-".join(WORD.findall(text.lower()))[:limit].strip("-")
    return out or "touchpoint"


def parent(path: str) -> str:
    """The folder of a page path: '/blog/open-crumb/' → '/blog/' ('/' for top-level pages)."""
    parts = [p for p in path.split("/") if p]
    return "/" + "".join(f"{p}/" for p in parts[:-1])


def exact(value: str) -> str:
    """A pattern that takes exactly this value (hyphens, spaces and '#' left readable)."""
    return re.escape(value).replace(r"\-", "-").replace(r"\ ", " ").replace(r"\#", "#")


def section_pattern(folder: str) -> str:
    """The rule that takes every page directly inside a folder (with or without its trailing slash)."""
    return exact(folder) + "[^/]+/?"


def sections(paths: Iterable[str], keep_apart: set[str]) -> dict[str, list[str]]:
    """Folders holding SECTION_MIN_PAGES or more pages → their pages; the rest, and `keep_apart`, one each."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    out: dict[str, list[str]] = {}
    for path in paths:
        if path in keep_apart:
            out[path] = [path]
        else:
            by_folder[parent(path) if path.count("/") > 1 else path].append(path)
    for folder, pages in by_folder.items():
        if len(pages) >= SECTION_MIN_PAGES and folder != "/":
            out[folder] = sorted(pages)
        else:
            out.update({page: [page] for page in pages})
    return out


def product_of(path: str, products: dict[str, str]) -> str | None:
    """The product (id → name) a page is about: every word of the page's last segment is a word of the product's
    name; of several, the one with the fewest other words. None when no product fits."""
    last = words(path.rstrip("/").rsplit("/", 1)[-1])
    fits = [(len(words(name)), product_id) for product_id, name in products.items() if last and last <= words(name)]
    return min(fits)[1] if fits else None  # the product with fewest other words: the closest name


FILLER = frozenset({"the", "a", "an", "and", "of", "for", "with", "plus", "to", "my", "your", "our"})
MOST_OF_THE_NAME = 0.75  # of a product's own words that a longer name repeats: the same family
SHARED_BUYERS = 0.3  # of the smaller product's buyers who bought the other too: the same family
MIN_SHARED_BUYERS = 3


def families(products: dict[str, str], buyers: Mapping[str, set[str]] | None = None) -> dict[str, list[str]]:
    """Product families, by name and by buyers. A product belongs to a shorter product's family when its name
    repeats that name's words (filler words aside: 'Profitable Blog Course + Templates Bundle' to 'The
    Profitable Blog Course'), or most of them when the shorter name has several, or when enough of their buyers
    bought both (`buyers`: product id → the customers' hashes). Family name → product ids."""
    out: dict[str, list[str]] = {}
    members: dict[str, set[str]] = {}
    for product_id, name in sorted(products.items(), key=lambda p: (len(_content(p[1])), p[1])):
        mine = (buyers or {}).get(product_id, set())
        home = next((base for base in out if _related(base, name, members[base], mine)), None)
        out.setdefault(home or name, []).append(product_id)
        members.setdefault(home or name, set()).update(mine)
    return out


def _content(text: str) -> set[str]:
    return words(text) - FILLER or words(text)


def _related(base: str, name: str, base_buyers: set[str], buyers: set[str]) -> bool:
    own, other = _content(base), _content(name)
    if own <= other or (len(own) >= 3 and len(own & other) / len(own) >= MOST_OF_THE_NAME):
        return True
    shared = len(base_buyers & buyers)
    return shared >= MIN_SHARED_BUYERS and shared / min(len(base_buyers), len(buyers)) >= SHARED_BUYERS


def stream_of_event(event: str) -> Stream | None:
    return next((s for s in STREAMS if re.fullmatch(s.event, event, re.IGNORECASE)), None)


def stream_of_page(path: str, streams: Iterable[Stream]) -> Stream | None:
    return next((s for s in streams if re.search(s.pages, path, re.IGNORECASE)), None)


def title_prefix(title: str) -> str:
    """What a series of campaigns shares: the title before its first number, '#', '(' or ':'
    ('Sourdough Hour Weekly #40 (sponsor: …)' → 'Sourdough Hour Weekly')."""
    head = re.split(r"[#(:]|\d", title, maxsplit=1)[0].strip(" -–|")
    return head or title


def display(pattern: str) -> str:
    """A rule's pattern as people read it: '/blog/[^/]+/?' → '/blog/…'."""
    return pattern.replace("[^/]+/?", "…").replace("\\", "")

"""What a source lends `journeymap discover` (`SourceDiscovery`, its `SourceParts.discover`, in
`models/sources/<source>/discover.py`), the shapes it hands over (candidates, what it keeps on record, what a map
misses of it), and the helpers that make names into rules and groups. The engine that reads every discoverable
source through the registry, places candidates in stages and judges a map's drift is `checks.discovery`."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

import pandas as pd

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy import Connection

    from models.config import Touchpoint

Kind = Literal["search", "traffic", "page", "event", "email", "campaign", "checkout"]
ANY = ".*"  # a rule that takes every value (a probe map's)


@dataclass(frozen=True)
class Candidate:
    """Something the sources show that could be a touchpoint: its kind and its name (a page's address in a search
    engine's results, a page path, an event name, an automation's name, a campaign's name, a product, or a traffic
    source)."""

    kind: Kind
    name: str


@dataclass
class Proposed:
    """One proposed touchpoint with what the comment beside it says."""

    kind: str  # a Candidate kind, or "landing" (a traffic touchpoint by landing page)
    name: str
    match: dict[str, str | int]
    volume: float
    why: str
    journey: str = ""  # journey id; "" = the main journey
    stage: str = ""
    order: tuple[object, ...] = ()
    goal: bool = False  # its success is the journey's goal (a checkout, a stream's paid click)
    key_events: float = 0.0  # a page's: without any, its step is to the next touchpoint
    product: str = ""  # the product id a page is about
    span: str = ""  # what the volume covers when not the window ("in all, by the email source's report")
    from_email: bool = False  # a page most of whose visits start from an email's link: it comes after the emails
    source: str = ""  # the source whose rows it takes (the engine sets it)
    path: str = ""  # the page path it is about, where its rule is on a whole address (a search result's page)


@dataclass(frozen=True)
class JourneySpec:
    id: str
    name: str
    goal: str
    value: float


class Sales(NamedTuple):
    """A sales source's candidates: a checkout touchpoint and a journey per product family, the family with most
    revenue first; each product's name (id → name) and its family's journey (id → journey id)."""

    checkouts: list[Proposed]
    journeys: list[JourneySpec]
    products: dict[str, str]
    family_of: dict[str, str]


@dataclass(frozen=True)
class OnRecord:
    """What a source keeps on record beside its window's raw rows."""

    emails: pd.DataFrame | None = None  # every campaign and automation email: campaign_id, title, kind,
    # workflow_title, position, send_time, and reported_sent (all its sends by the newest report; NaN without one)
    time_zone: str | None = None  # the account's own
    currency: str | None = None  # the account's own setting
    sales_currency: str | None = None  # the most used currency of its sales (before any account's setting)


@dataclass(frozen=True)
class Judgement:
    """What the engine lends a source's candidates: the stage rules and the money-click streams."""

    place: Callable[[Candidate], tuple[str, str]]  # (stage, why) by the first stage rule that takes it
    paid_click: Callable[[str], str | None]  # the journey of the money-click stream an event is the click of


@dataclass(frozen=True)
class Shown:
    """What one source shows over the window, with what its candidates may lean on."""

    raw: pd.DataFrame  # its mapping reader's frame
    record: OnRecord
    judgement: Judgement
    products: Mapping[str, str] = field(default_factory=dict)  # every sales source's products: id → name


@dataclass(frozen=True)
class Missed:
    """What no touchpoint of a map takes, by the match key whose rule would name it (where a dead rule's new name
    is looked for)."""

    key: str
    volumes: pd.Series  # name → the volume (or rows) no touchpoint takes
    kind: str = ""  # listed as uncovered, as this kind ("page"), where it has real volume; "": never listed
    total: float = 0.0  # its report's whole volume (what a share is of)
    by_folder: bool = False  # grouped by folder, as pages are


@dataclass(frozen=True)
class NewEmail:
    """An email of an automation the map follows, at a position no touchpoint takes."""

    automation: str
    position: int
    title: str


@dataclass(frozen=True)
class SourceDiscovery:
    """What a source lends `journeymap discover` and `--diff` (with its `rule_mask`).

    Attributes:
        shows: what its rows are called where there are none ("checkout sessions").
        metrics: the `volume:` and `success:` metrics of the touchpoints it proposes, by their kind.
        weight: each raw row's base volume (what coverage is a share of; 0 for rows that only follow others).
        probe: (stage) → the touchpoints that make a sync read everything its candidates need.
        on_record: (connection, since, until, raw rows) → what it keeps on record beside them.
        sales: its checkouts, product families and their journeys (read before every source's `candidates`).
        candidates: the touchpoints it proposes.
        candidate_of: what one of its touchpoints is (to compare a map with what the rules propose).
        missed: (raw rows, their weight, the rows no touchpoint takes) → what a map misses of it, by rule key.
        new_emails: (what it keeps on record, its touchpoints) → the emails of followed automations no
            touchpoint takes.
    """

    shows: str
    metrics: Mapping[str, tuple[str, str | None]]
    weight: Callable[[pd.DataFrame], pd.Series]
    probe: Callable[[str], list[Touchpoint]]
    on_record: Callable[[Connection, dt.date, dt.date, pd.DataFrame], OnRecord] | None = None
    sales: Callable[[Shown], Sales] | None = None
    candidates: Callable[[Shown], list[Proposed]] | None = None
    candidate_of: Callable[[Touchpoint], Candidate] | None = None
    missed: Callable[[pd.DataFrame, pd.Series, pd.Series], list[Missed]] | None = None
    new_emails: Callable[[OnRecord, list[Touchpoint]], list[NewEmail]] | None = None


# names into rules and groups

SECTION_MIN_PAGES = 3  # a folder with this many pages becomes one touchpoint ("blog posts"), not one per page
WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def slug(text: str, limit: int = 48) -> str:
    """A touchpoint or journey id made from a name: lower-case words joined by dashes."""
    out = "-".join(WORD.findall(text.lower()))[:limit].strip("-")
    return out or "touchpoint"


ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/]*", re.IGNORECASE)


def split_address(address: str) -> tuple[str, str]:
    """A page's whole address as (origin, path): 'https://www.example.com/blog/a/' → ('https://www.example.com',
    '/blog/a/'); a page path has no origin ('', path)."""
    origin = ORIGIN.match(address)
    if origin is None:
        return "", address
    return origin.group(0), address[origin.end():] or "/"


def parent(path: str) -> str:
    """The folder of a page path or address: '/blog/open-crumb/' → '/blog/' ('/' for top-level pages; a whole
    address keeps its origin: 'https://www.example.com/blog/a/' → 'https://www.example.com/blog/')."""
    origin, path = split_address(path)
    parts = [p for p in path.split("/") if p]
    return origin + "/" + "".join(f"{p}/" for p in parts[:-1])


def exact(value: str) -> str:
    """A pattern that takes exactly this value (hyphens, spaces and '#' left readable)."""
    return re.escape(value).replace(r"\-", "-").replace(r"\ ", " ").replace(r"\#", "#")


def section_pattern(folder: str) -> str:
    """The rule that takes every page directly inside a folder (with or without its trailing slash)."""
    return exact(folder) + "[^/]+/?"


def display(pattern: str) -> str:
    """A rule's pattern as people read it: '/blog/[^/]+/?' → '/blog/…'."""
    return pattern.replace("[^/]+/?", "…").replace("\\", "")


def sections(paths: Iterable[str], keep_apart: set[str]) -> dict[str, list[str]]:
    """Folders holding SECTION_MIN_PAGES or more pages → their pages; the rest, and `keep_apart`, one each (page
    paths, or whole addresses: folders of the same origin)."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    out: dict[str, list[str]] = {}
    for path in paths:
        if path in keep_apart:
            out[path] = [path]
        else:
            by_folder[parent(path) if split_address(path)[1].count("/") > 1 else path].append(path)
    for folder, pages in by_folder.items():
        if len(pages) >= SECTION_MIN_PAGES and split_address(folder)[1] != "/":
            out[folder] = sorted(pages)
        else:
            out.update({page: [page] for page in pages})
    return out


def product_of(path: str, products: Mapping[str, str]) -> str | None:
    """The product (id → name) a page is about: every word of the page's last segment is a word of the product's
    name; of several, the one with the fewest other words. None when no product fits."""
    last = words(path.rstrip("/").rsplit("/", 1)[-1])
    fits = [(len(words(name)), product_id) for product_id, name in products.items() if last and last <= words(name)]
    return min(fits)[1] if fits else None  # the product with fewest other words: the closest name


def title_prefix(title: str) -> str:
    """What a series of campaigns shares: the title before its first number, '#', '(' or ':'
    ('Sourdough Hour Weekly #40 (sponsor: …)' → 'Sourdough Hour Weekly')."""
    head = re.split(r"[#(:]|\d", title, maxsplit=1)[0].strip(" -–|")
    return head or title


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

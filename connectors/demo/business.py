"""The simulated sourdough blog behind the demo: its catalogue, its rates and its documented incidents.

Every incident is fixed to calendar days of 2026 (never to the end of a window), so any window that
contains its days shows it and a day's data never depends on the window. Touchpoints, the expected
detector outcome and the story of each are in INCIDENTS at the end of this module.

| key                      | days (2026)   | segment        | effect                                          | alert |
|--------------------------|---------------|----------------|-------------------------------------------------|-------|
| lead-magnet-slow-decline | 08-10 … 08-31 | all            | sign-up rate ×0.98/day for 14 days, then held   | yes   |
| welcome-2-open-drop      | 09-10 onwards | all            | welcome email 2 open rate −40 % (by send day)   | yes   |
| affiliate-one-day-dip    | 09-15         | all            | affiliate_click rate −70 % for one day          | no    |
| checkout-collapse        | 09-20 … 09-23 | all            | checkout completion −85 %                       | yes   |
| viral-pin-surge          | 09-24 … 09-30 | Organic Social | sessions ×3 at the channel's usual (low) rates  | no    |
| sponsor-link-flatline    | 09-26 … 09-28 | all            | sponsor_click never fires                       | yes   |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEMO_PROPERTY_ID = "demo"

# --- traffic: sessions per (channel × device × user type × country) cell ------------------

DEVICES = ("desktop", "mobile", "tablet")
USER_TYPES = ("new", "returning")
COUNTRIES = (("United Kingdom", 0.8), ("United States", 0.2))
WEEKDAY_FACTORS = (1.04, 1.08, 1.06, 1.02, 0.94, 0.80, 0.86)  # Monday … Sunday: weekends are quieter
TREND_ANCHOR = date(2026, 1, 1)
TREND_PER_YEAR = 0.15  # mild growth: +15 % a year
NB_SHAPE = 25.0  # negative binomial shape of a cell's daily sessions (day-to-day CV ≥ 20 %)
RATE_CV = 0.10  # day-to-day coefficient of variation of every step rate (Beta-distributed)


@dataclass(frozen=True, slots=True)
class Channel:
    """A GA4 default channel group: its volume, device and visitor mix, sources and landing pages."""

    name: str
    sessions: float  # mean sessions a day on an average weekday, all cells together
    devices: tuple[float, float, float]  # shares of DEVICES
    new_share: float
    sources: tuple[tuple[str, str, float], ...]  # (sessionSource, sessionMedium, share)
    landing: tuple[tuple[str, float], ...]  # (page group, share); "lessons" only for returning users


CHANNELS = (
    Channel("Organic Search", 700, (0.38, 0.55, 0.07), 0.75,
            (("google", "organic", 0.9), ("bing", "organic", 0.1)),
            (("blog", 0.30), ("recipes", 0.33), ("reviews", 0.25), ("home", 0.03), ("course", 0.04),
             ("partners", 0.05))),
    Channel("Organic Social", 260, (0.15, 0.80, 0.05), 0.8,
            (("pinterest.com", "referral", 0.65), ("instagram.com", "referral", 0.35)),
            (("recipes", 0.55), ("blog", 0.20), ("partners", 0.20), ("home", 0.05))),
    Channel("Paid Social", 220, (0.18, 0.78, 0.04), 0.9,
            (("facebook", "cpc", 1.0),),
            (("lead_magnet", 0.65), ("course", 0.35))),
    Channel("Referral", 120, (0.50, 0.45, 0.05), 0.8,
            (("thebreadtable.co.uk", "referral", 0.55), ("bakingforums.net", "referral", 0.30),
             ("recipe-roundup.co.uk", "referral", 0.15)),
            (("blog", 0.45), ("lead_magnet", 0.25), ("recipes", 0.20), ("reviews", 0.10))),
    Channel("Email", 90, (0.35, 0.60, 0.05), 0.1,
            (("newsletter", "email", 1.0),),
            (("recipes", 0.35), ("blog", 0.15), ("course", 0.15), ("partners", 0.10), ("lessons", 0.25))),
    Channel("Direct", 200, (0.43, 0.50, 0.07), 0.45,
            (("(direct)", "(none)", 1.0),),
            (("home", 0.35), ("lessons", 0.25), ("recipes", 0.20), ("blog", 0.10), ("course", 0.10))),
)

# --- the website: page groups, and how visitors move between them ---------------------------

PAGE_GROUPS: dict[str, tuple[str, ...]] = {  # within a group, the first page is the most visited
    "home": ("/",),
    "blog": ("/blog/sourdough-starter-from-scratch/", "/blog/open-crumb-shaping/",
             "/blog/baking-schedule-for-busy-people/", "/blog/why-is-my-sourdough-flat/"),
    "recipes": ("/recipes/classic-country-loaf/", "/recipes/rosemary-focaccia/",
                "/recipes/sourdough-cinnamon-rolls/", "/recipes/rye-and-caraway-loaf/"),
    "reviews": ("/reviews/best-dutch-ovens/", "/reviews/banneton-baskets-tested/", "/reviews/stand-mixers-for-bread/"),
    "partners": ("/partners/millstone-stoneground-flour/", "/partners/crumb-and-crust-bakeware/"),
    "lead_magnet": ("/free-starter-guide/",),
    "course": ("/courses/sourdough-masterclass/",),
    "product": ("/shop/sourdough-masterclass/",),
    "club": ("/shop/bakers-club/",),
    "bundle": ("/shop/masterclass-bundle/",),
    "cart": ("/cart/",),
    "complete": ("/checkout/complete/",),
    "lessons": ("/members/lessons/01-your-starter/", "/members/lessons/02-mixing-and-folds/",
                "/members/lessons/03-shaping/", "/members/lessons/04-scoring-and-baking/"),
    "refer": ("/refer-a-friend/",),
}
KEY_EVENTS = frozenset({"sign_up", "add_to_cart", "purchase", "affiliate_click", "sponsor_click",
                        "lesson_complete", "referral_share"})


@dataclass(frozen=True, slots=True)
class Flow:
    """Per view of a page in `source`, visitors go on to `target` (a page group or "event:<name>")."""

    source: str
    target: str
    rate: float  # mean per page view, before segment lifts
    lift: str = ""  # a key of LIFTS


# In topological order: a group's views are complete before its own flows run.
FLOWS = (
    Flow("home", "blog", 0.20), Flow("home", "recipes", 0.25), Flow("home", "course", 0.06, "intent"),
    Flow("home", "lead_magnet", 0.05),
    Flow("partners", "event:sponsor_click", 0.12), Flow("partners", "recipes", 0.05),
    Flow("blog", "recipes", 0.10), Flow("blog", "lead_magnet", 0.09), Flow("blog", "course", 0.03, "intent"),
    Flow("recipes", "reviews", 0.05), Flow("recipes", "lead_magnet", 0.03),
    Flow("recipes", "event:affiliate_click", 0.06, "affiliate"), Flow("recipes", "event:share", 0.02),
    Flow("reviews", "event:affiliate_click", 0.14, "affiliate"), Flow("reviews", "lead_magnet", 0.02),
    Flow("lead_magnet", "event:sign_up", 0.30, "signup"), Flow("lead_magnet", "course", 0.06, "intent"),
    Flow("course", "product", 0.30, "intent"), Flow("course", "club", 0.12), Flow("course", "bundle", 0.08),
    Flow("product", "event:add_to_cart", 0.22, "shop"), Flow("club", "event:add_to_cart", 0.18, "shop"),
    Flow("bundle", "event:add_to_cart", 0.20, "shop"),
    Flow("lessons", "lessons", 0.60), Flow("lessons", "event:lesson_complete", 0.35),
    Flow("lessons", "event:submit_review", 0.015), Flow("lessons", "refer", 0.04),
    Flow("refer", "event:referral_share", 0.30),
)
# Multipliers of a flow's rate by segment value (device, channel, user type or country).
LIFTS: dict[str, dict[str, float]] = {
    "": {},
    "intent": {"returning": 1.5, "Email": 1.4, "Paid Social": 1.2},
    "signup": {"Organic Social": 0.5, "Email": 0.4, "Referral": 1.2, "Paid Social": 0.9, "returning": 0.6},
    "affiliate": {"Organic Search": 1.3, "Organic Social": 0.7, "mobile": 0.85},
    "shop": {"desktop": 1.15, "mobile": 0.8, "tablet": 0.9, "returning": 1.25},
    "checkout": {"desktop": 1.1, "mobile": 0.85, "tablet": 0.95},  # mobile converts worse
}

# --- the shop (Stripe Checkout, then back to /checkout/complete/) ---------------------------


@dataclass(frozen=True, slots=True)
class Product:
    group: str  # page group of its product page
    product_id: str
    name: str
    mode: str  # Stripe Checkout mode: payment / subscription
    amount: int  # pence


PRODUCTS = (
    Product("product", "prod_demo_masterclass", "Sourdough Masterclass", "payment", 19900),
    Product("club", "prod_demo_bakers_club", "Bakers' Club", "subscription", 1500),
    Product("bundle", "prod_demo_masterclass_bundle", "Sourdough Masterclass Bundle", "payment", 24900),
)
CHECKOUT_START = 0.72  # cart view → Stripe Checkout session created
CHECKOUT_COMPLETE = 0.64  # session → paid (the rest expire after 24 h); lifted by LIFTS["checkout"]
RETURN_TO_SITE = 0.92  # paid → views /checkout/complete/
PURCHASE_TAG = 0.97  # confirmation view → GA4 `purchase` event fires (consent, blockers)

# --- email (Mailchimp) ----------------------------------------------------------------------

LIST_ID = "5e1d0c9b8a"
SIGNUP_CONFIRM = 0.93  # sign_up events that become subscribers (typos, double opt-in)
BOUNCE_RATE = 0.004


@dataclass(frozen=True, slots=True)
class Email:
    """One email of an automation; `key` is its touchpoint id in journey.yaml."""

    key: str
    campaign_id: str
    title: str
    workflow_id: str
    workflow_title: str
    position: int
    offset_days: int  # days after the trigger (signup or purchase)
    opens: float  # unique opens / sent
    clicks: float  # unique clicks / sent (clickers are openers)
    unsubs: float


WELCOME = tuple(
    Email(f"welcome-email-{k}", f"7a0c51e{k:03d}", title, "a3f9e2b7c1", "Starter guide welcome", k, 2 * (k - 1),
          opens, clicks, 0.006)
    for k, title, opens, clicks in (
        (1, "Welcome 1: Your free starter guide", 0.58, 0.14),
        (2, "Welcome 2: The three starter mistakes", 0.50, 0.08),
        (3, "Welcome 3: Shaping without tears", 0.46, 0.07),
        (4, "Welcome 4: Join the Sourdough Masterclass", 0.44, 0.10),
    )
)
RECEIPTS = (Email("receipt", "7a0c52e001", "Your receipt from The Sourdough Hour", "b4e0f3c8d2",
                  "Order notifications", 1, 0, 0.68, 0.06, 0.0),)
ONBOARDING = tuple(
    Email(f"onboarding-email-{k}", f"7a0c53e{k:03d}", title, "c5f1a4d9e3", "Masterclass onboarding", k, offset,
          opens, clicks, 0.002)
    for k, title, offset, opens, clicks in (
        (1, "Start here: lesson 1 is waiting", 1, 0.72, 0.35),
        (2, "How did your first loaf go?", 3, 0.60, 0.20),
        (3, "Join the members' bake-along", 7, 0.55, 0.15),
    )
)
NEWSLETTER_FIRST_ISSUE = date(2023, 1, 5)  # a Thursday; one issue every Thursday since
NEWSLETTER_LIST_SIZE = 2400
NEWSLETTER_RATES = (0.42, 0.045, 0.002)  # opens, clicks, unsubscribes per sent
SPONSORS = ("Millstone Flour Co", "Crumb & Crust Bakeware", "Wild Yeast Kitchen")


def newsletter_title(issue: int) -> str:
    """Odd issues carry a sponsor slot, named in the title."""
    title = f"Sourdough Hour Weekly #{issue}"
    return f"{title} (sponsor: {SPONSORS[issue // 2 % len(SPONSORS)]})" if issue % 2 else title


# --- incidents --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoIncident:
    """A known change planted in the demo data, for the map, the detector and its benchmark.

    `target` names what the simulation changes: "rate:<event>" (a flow's rate),
    "rate:checkout_complete", "volume:sessions" or "opens:<email key>".
    """

    key: str
    touchpoints: tuple[str, ...]  # touchpoint ids in journey.yaml
    start: date
    end: date | None  # last affected day; None while still open
    segment: tuple[str, str] | None  # (dimension, GA4 value), or None for all traffic
    target: str
    factor: float  # multiplier at full effect (a daily multiplier when ramp_days > 0)
    ramp_days: int  # > 0: the factor compounds once a day for this many days, then holds
    effect: str
    should_alert: bool
    description: str

    def multiplier(self, day: date) -> float:
        """The incident's multiplier on `day` (1.0 outside its days)."""
        if day < self.start or (self.end is not None and day > self.end):
            return 1.0
        if self.ramp_days:
            return float(self.factor ** min((day - self.start).days + 1, self.ramp_days))
        return self.factor


INCIDENTS: list[DemoIncident] = [
    DemoIncident(
        key="lead-magnet-slow-decline", touchpoints=("lead-magnet-page", "signup-form"),
        start=date(2026, 8, 10), end=date(2026, 8, 31), segment=None, target="rate:sign_up", factor=0.98,
        ramp_days=14, effect="−2 %/day for 14 days, then held at −25 %", should_alert=True,
        description="A slow-loading form embed erodes the lead-magnet sign-up rate; fixed on 2026-09-01."),
    DemoIncident(
        key="welcome-2-open-drop", touchpoints=("welcome-email-2",),
        start=date(2026, 9, 10), end=None, segment=None, target="opens:welcome-email-2", factor=0.6,
        ramp_days=0, effect="open rate −40 % (emails sent from that day on)", should_alert=True,
        description="A new subject line for welcome email 2 lands in the Promotions tab."),
    DemoIncident(
        key="affiliate-one-day-dip", touchpoints=("recipe-pages", "gear-reviews", "affiliate-click"),
        start=date(2026, 9, 15), end=date(2026, 9, 15), segment=None, target="rate:affiliate_click", factor=0.3,
        ramp_days=0, effect="affiliate click rate −70 % for one day", should_alert=False,
        description="The affiliate network's link redirector is down for a day; recovered the next day."),
    DemoIncident(
        key="checkout-collapse", touchpoints=("checkout", "order-confirmation"),
        start=date(2026, 9, 20), end=date(2026, 9, 23), segment=None,
        target="rate:checkout_complete", factor=0.15, ramp_days=0, effect="checkout completion −85 %",
        should_alert=True, description="A payment-method change in Stripe declines most cards and wallets for four "
        "days; fixed on 2026-09-24. (Stripe reports no device, so a mobile-only break at this shop's ~14 checkouts "
        "a day would be below what any test can tell from noise; the benchmark's mobile case covers segments.)"),
    DemoIncident(
        key="viral-pin-surge", touchpoints=("pinterest-pins", "recipe-pages"),
        start=date(2026, 9, 24), end=date(2026, 9, 30), segment=("channel", "Organic Social"),
        target="volume:sessions", factor=3.0, ramp_days=0, effect="sessions ×3, rates unchanged", should_alert=False,
        description="A focaccia pin goes viral: three times the low-intent social traffic at its usual rates."),
    DemoIncident(
        key="sponsor-link-flatline", touchpoints=("sponsored-post-page", "sponsor-click"),
        start=date(2026, 9, 26), end=date(2026, 9, 28), segment=None, target="rate:sponsor_click", factor=0.0,
        ramp_days=0, effect="sponsor_click never fires", should_alert=True,
        description="A CMS update strips the tracking from sponsor links for three days."),
]

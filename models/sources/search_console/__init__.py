"""Google Search Console as the map knows it: impressions and clicks of the site's pages and top queries."""

from __future__ import annotations

from models.sources.spec import SourceModel

SOURCE = SourceModel(
    name="search_console", title="Search Console",
    # page: the result's URL (regex) → pages report; with query (regex) → queries report (top queries only)
    keys=("page", "query"), regex_keys=frozenset({"page", "query"}),
    # clicks are a subset of impressions; position is a mean per impression, never a volume or success
    metrics=("impressions", "clicks"),
    non_additive={"position": "impressions or clicks; position is a mean"},
    defaults={"lag_days": 3, "settle_days": 3, "empty_retry_days": 3},
    dated=(("rows", "date"),), daily=("rows", "date"),
    what_to_check="Search the query on Google and check the page's title and snippet in the results, then Search "
                  "Console › Performance for the page and query: a click-through drop often follows a changed title "
                  "or a lost rich result.",
    segments=("device", "country"), unsegmented_by=frozenset({"query"}),  # a query's report has neither
    discoverable=True,  # `journeymap discover` proposes the pages with most impressions, before any visit
    whole_range=None,
    success_is_subset=True,
    account_per_key=False,
    main_stream="pages", stream_by_key=(("query", "queries"),),
)

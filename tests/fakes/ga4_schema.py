"""The fake GA4 property's catalogue: dimension and metric names, metric types, enum numbers, error texts."""

from __future__ import annotations

from typing import Any

# apiName → (uiName, category, description)
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "date": ("Date", "Time", "The date of the event, formatted as YYYYMMDD."),
    "dateHour": ("Date + hour (YYYYMMDDHH)", "Time", "The combined values of date and hour."),
    "landingPage": ("Landing page", "Page / screen", "The page path associated with the first pageview in a session."),
    "landingPagePlusQueryString": ("Landing page + query string", "Page / screen",
                                   "The page path + query string of the first pageview in a session."),
    "pagePath": ("Page path", "Page / screen", "The portion of the URL between the hostname and query string."),
    "pagePathPlusQueryString": ("Page path + query string", "Page / screen",
                                "The portion of the URL following the hostname."),
    "pageTitle": ("Page title", "Page / screen", "The web page titles used on your site."),
    "hostName": ("Hostname", "Page / screen", "The subdomain and domain names of a URL."),
    "eventName": ("Event name", "Event", "The name of the event."),
    "sessionDefaultChannelGroup": ("Session default channel group", "Traffic source",
                                   "The session's default channel group."),
    "sessionSource": ("Session source", "Traffic source", "The source that initiated a session."),
    "sessionMedium": ("Session medium", "Traffic source", "The medium that initiated a session."),
    "sessionSourceMedium": ("Session source / medium", "Traffic source",
                            "The combined values of sessionSource and sessionMedium."),
    "sessionCampaignName": ("Session campaign", "Traffic source", "The campaign name of a session."),
    "deviceCategory": ("Device category", "Platform / device", "The type of device: Desktop, Tablet, or Mobile."),
    "browser": ("Browser", "Platform / device", "The browsers used to view your website."),
    "operatingSystem": ("Operating system", "Platform / device", "The operating systems used by visitors."),
    "newVsReturning": ("New / established", "User", "New users have 0 previous sessions."),
    "country": ("Country", "Geography", "The country from which the user activity originated."),
    "city": ("City", "Geography", "The city from which the user activity originated."),
}

# apiName → (uiName, type, category, description)
METRICS: dict[str, tuple[str, str, str, str]] = {
    "sessions": ("Sessions", "TYPE_INTEGER", "Session", "The number of sessions that began on your site or app."),
    "engagedSessions": ("Engaged sessions", "TYPE_INTEGER", "Session",
                        "The number of sessions that lasted longer than 10 seconds, or had a key event."),
    "bounceRate": ("Bounce rate", "TYPE_FLOAT", "Session", "The percentage of sessions that were not engaged."),
    "engagementRate": ("Engagement rate", "TYPE_FLOAT", "Session", "The percentage of engaged sessions."),
    "averageSessionDuration": ("Average session duration", "TYPE_SECONDS", "Session",
                               "The average duration (in seconds) of users' sessions."),
    "totalUsers": ("Total users", "TYPE_INTEGER", "User", "The number of distinct users who logged an event."),
    "activeUsers": ("Active users", "TYPE_INTEGER", "User", "The number of distinct active users."),
    "newUsers": ("New users", "TYPE_INTEGER", "User", "The number of users who interacted for the first time."),
    "screenPageViews": ("Views", "TYPE_INTEGER", "Page / screen", "The number of app screens or web pages viewed."),
    "eventCount": ("Event count", "TYPE_INTEGER", "Event", "The count of events."),
    "keyEvents": ("Key events", "TYPE_FLOAT", "Event", "The count of key events."),
    "transactions": ("Transactions", "TYPE_INTEGER", "Ecommerce", "The count of transaction events."),
    "purchaseRevenue": ("Purchase revenue", "TYPE_CURRENCY", "Revenue",
                        "The sum of revenue from purchases minus refunded transaction revenue."),
    "totalRevenue": ("Total revenue", "TYPE_CURRENCY", "Revenue",
                     "The sum of revenue from purchases, subscriptions, and advertising."),
}

# Ratios are averaged, not summed, when rows are rolled up (an approximation: GA4 recomputes them).
MEAN_METRICS = frozenset({"bounceRate", "engagementRate", "averageSessionDuration"})

# Enum numbers, for callers (like the official SDK) that send `$alt=json;enum-encoding=int`.
METRIC_TYPE_NUMBERS = {"TYPE_INTEGER": 1, "TYPE_FLOAT": 2, "TYPE_SECONDS": 4, "TYPE_CURRENCY": 9}
MATCH_TYPES = {0: "EXACT", 1: "EXACT", 2: "BEGINS_WITH", 3: "ENDS_WITH", 4: "CONTAINS", 5: "FULL_REGEXP",
               6: "PARTIAL_REGEXP"}
AGGREGATIONS = {1: "TOTAL", 4: "COUNT", 5: "MINIMUM", 6: "MAXIMUM"}

MAX_DIMENSIONS = 9
MAX_METRICS = 10
MAX_DATE_RANGES = 4
MAX_BATCH = 5
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
NOT_SET = "(not set)"

SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
PROPERTY_ID_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id"
ANALYTICS_SCOPES = frozenset({
    "https://www.googleapis.com/auth/analytics.readonly",
    "https://www.googleapis.com/auth/analytics",
    "https://www.googleapis.com/auth/cloud-platform",
})

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
# GA4's RESOURCE_EXHAUSTED texts: clients tell the daily bucket from the hourly one by "per day" / "per hour".
DAILY_QUOTA_MESSAGE = "Exhausted property tokens per day. These quota tokens will return in under 24 hours."
HOURLY_QUOTA_MESSAGE = "Exhausted property tokens per hour. These quota tokens will return in under an hour."
CONCURRENT_QUOTA_MESSAGE = "Exhausted concurrent requests quota. Wait for the requests in flight to finish."
DEFAULT_MESSAGES = {
    # an injected 429 is the one that passes within seconds: too many requests in flight at once (a spent token
    # budget is a 429 too, but it refills only with the next hour or day: `quota()` produces those)
    429: CONCURRENT_QUOTA_MESSAGE,
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
PERMISSION_MESSAGE = ("User does not have sufficient permissions for this property. To learn more about Property ID, "
                      f"see {PROPERTY_ID_URL}.")


def error_body(code: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A google.rpc.Status error body as Google's REST front end sends it."""
    error: dict[str, Any] = {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return {"error": error}


def auth_error_details(reason: str, method: str) -> list[dict[str, Any]]:
    """The ErrorInfo Google attaches to 401/403 authentication failures (the SDK exposes it as `exc.reason`)."""
    return [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
             "metadata": {"service": "analyticsdata.googleapis.com",
                          "method": f"google.analytics.data.v1beta.BetaAnalyticsData.{method}"}}]


def metadata_body(property_id: str, enum_ints: bool) -> dict[str, Any]:
    """The Metadata resource listing every dimension and metric the fake knows."""
    dims = [{"apiName": name, "uiName": ui, "description": text, "category": cat}
            for name, (ui, cat, text) in DIMENSIONS.items()]
    metrics = [{"apiName": name, "uiName": ui, "description": text,
                "type": METRIC_TYPE_NUMBERS[kind] if enum_ints else kind, "category": cat}
               for name, (ui, kind, cat, text) in METRICS.items()]
    return {"name": f"properties/{property_id}/metadata", "dimensions": dims, "metrics": metrics}

"""Mailchimp as the map knows it: each campaign and automation email, its sends, opens and clicks."""

from __future__ import annotations

from models.sources.spec import SourceModel

SOURCE = SourceModel(
    name="mailchimp", title="Mailchimp",
    # campaign: title regex; automation: workflow title regex; email: position (integer)
    keys=("campaign", "automation", "email"), regex_keys=frozenset({"campaign", "automation"}),
    metrics=("sent", "opens", "clicks", "bounces", "unsubscribes"),
    defaults={"lag_days": 3, "settle_days": 2},
    dated=(("activity", "timestamp"), ("reports", "taken_on")), daily=("activity", "timestamp"),
    what_to_check="Check the email in Mailchimp: subject line, sender, send time and deliverability (spam or "
                  "Promotions placement); compare with its last good version.",
    whole_range="its activity API reads from a day onwards, never to a day: a week at a time would read every "
                "later week again",
    success_is_subset=True,
    main_stream="activity",
)

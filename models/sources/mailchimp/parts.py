"""Mailchimp's storing half: its landing streams, its mapping, how far back a read reaches, its sync and the
links of its touchpoints' reports."""

from __future__ import annotations

from models.sources.mailchimp.discover import DISCOVER
from models.sources.mailchimp.links import link, link_context
from models.sources.mailchimp.mapping import SEND_LOOKBACK, map_mailchimp, read_mailchimp, rule_mask
from models.sources.mailchimp.streams import (
    MAILCHIMP_ACTIVITY,
    MAILCHIMP_CAMPAIGNS,
    MAILCHIMP_LIST_GROWTH,
    MAILCHIMP_REPORTS,
)
from models.sources.mailchimp.sync import sync_mailchimp
from models.sources.parts import SourceParts

PARTS = SourceParts("mailchimp", (MAILCHIMP_CAMPAIGNS, MAILCHIMP_ACTIVITY, MAILCHIMP_REPORTS, MAILCHIMP_LIST_GROWTH),
                    read_mailchimp, map_mailchimp, rule_mask, reach=SEND_LOOKBACK, sync=sync_mailchimp,
                    link=link, link_context=link_context, discover=DISCOVER)

"""What GA4 adds to every run's quality suite: its reports' own flags."""

from __future__ import annotations

from models.sources.ga4.tables import Ga4ReportMeta
from models.sources.parts import RowCheck
from models.tables import table_of

FLAGS = RowCheck(
    kind="ga4_flags", title="GA4 reports are neither sampled, thresholded nor rolled up into (other)",
    table=table_of(Ga4ReportMeta).name, date_column="date",
    unexpected="SELECT report, date, sampled, subject_to_thresholding, data_loss_from_other_row FROM {batch} "
               "WHERE sampled OR subject_to_thresholding OR data_loss_from_other_row",
    columns=("report", "date"),
    fix="GA4 hid or estimated part of these reports: shorten the date range per request or drop a dimension the "
        "map does not need")

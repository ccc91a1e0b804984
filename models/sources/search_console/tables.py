"""Search Console's landing tables (natural keys, idempotent upserts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class SearchConsoleRow(Base):
    """A row of a Search Console report (`pages`: page × device × country; `queries`: page × query) of a day, as
    last read: a read replaces its days whole, so a row Search Console no longer reports goes."""

    __tablename__ = "raw_search_console_rows"
    site_url: Mapped[str] = mapped_column(String(200), primary_key=True)  # the property
    report: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)  # a window of every report
    row_key: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1 of the dimension values
    page: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)  # "" in the pages report
    device: Mapped[str] = mapped_column(String(16))  # DESKTOP / MOBILE / TABLET; "" in the queries report
    country: Mapped[str] = mapped_column(String(8))  # ISO 3166-1 alpha-3, lower case; "" in the queries report
    clicks: Mapped[int] = mapped_column(Integer)
    impressions: Mapped[int] = mapped_column(Integer)
    position_sum: Mapped[float] = mapped_column(Float)  # position × impressions: additive, unlike position
    final: Mapped[bool] = mapped_column(Boolean)  # False while Search Console was still counting the day

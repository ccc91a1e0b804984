"""A frame read in chunks is the frame `pd.read_sql` reads whole, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, select

import models.frames
from models.frames import read_frame
from models.sources.stripe.tables import StripeSubscription
from models.store import insert_rows
from models.tables import table_of


@pytest.mark.parametrize("chunk", [3, 7, 1000])
def test_a_frame_read_in_chunks_is_the_frame_read_whole(engine: Engine, chunk: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    table = table_of(StripeSubscription)
    rows = [{"account": "acct_1", "subscription_id": f"sub_{i:02d}", "status": ("active", "canceled")[i % 2],
             "created": dt.datetime(2026, 9, 1 + i % 5, 9), "customer": f"cus_{i % 3}", "product_id": "prod_a",
             "amount": 100 * i, "currency": "gbp", "interval": "month",
             # a nullable column that is all NULL in some chunks and set in others
             "canceled_at": dt.datetime(2026, 9, 20) if i >= 15 else None} for i in range(20)]
    with engine.begin() as conn:
        insert_rows(conn, table, rows)
    monkeypatch.setattr(models.frames, "READ_CHUNK", chunk)
    stmt = select(table).order_by(table.c.subscription_id)
    with engine.connect() as conn:
        whole = pd.read_sql(stmt, conn)
        read = read_frame(conn, stmt, categories=["status", "customer"], shared=["created"])
    for column in ("status", "customer"):
        whole[column] = whole[column].astype("category")
    pd.testing.assert_frame_equal(read, whole)
    assert list(read["status"].cat.categories) == ["active", "canceled"]
    assert read["canceled_at"].isna().sum() == 15

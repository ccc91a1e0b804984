"""Frames read from the warehouse in bounded chunks: a long window's rows never all exist as Python objects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

READ_CHUNK = 20_000  # rows fetched and converted at a time by read_frame


def read_frame(conn: Connection, stmt: Any, categories: Sequence[str] = (), shared: Sequence[str] = (),
               ) -> pd.DataFrame:
    """`pd.read_sql(stmt, conn)` with the `categories` columns as categoricals, read READ_CHUNK rows at a time so
    that a long window's rows never all exist as Python objects at once (the same frame as reading it whole and
    then converting: categories sorted, the same dtypes). Each value of a `shared` column (dates: few distinct
    values, kept as objects) is held once per chunk rather than once per row."""
    parts = []
    for part in pd.read_sql(stmt, conn, chunksize=READ_CHUNK):
        for column in categories:
            part[column] = part[column].astype("category")
        for column in shared:
            values = part[column].to_numpy(dtype=object)
            codes, uniques = pd.factorize(values)
            missing = codes == -1
            one = np.asarray(uniques, dtype=object).take(np.where(missing, 0, codes)) if len(uniques) else values
            one[missing] = values[missing]  # a missing value stays as read (None)
            part[column] = one
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    for column in categories:
        dtype = pd.CategoricalDtype(sorted(set().union(*(p[column].cat.categories for p in parts))))
        for part in parts:
            part[column] = part[column].cat.set_categories(dtype.categories)
    columns = list(parts[0].columns)
    # a column read as different dtypes (a nullable one whose values were all NULL in some chunk): inferred again
    # from all of its values, as one read infers it
    mixed: dict[str, list[Any]] = {
        c: [None if v is None or (isinstance(v, float) and math.isnan(v)) else v
            for p in parts for v in p[c].to_numpy(dtype=object)]
        for c in columns if c not in categories and len({str(p[c].dtype) for p in parts}) > 1}
    frame = pd.concat([p.drop(columns=list(mixed)) for p in parts], ignore_index=True)
    for column, read in mixed.items():
        frame[column] = pd.DataFrame.from_records([(v,) for v in read], columns=[column], coerce_float=True)[column]
    return frame[columns]

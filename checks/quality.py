"""Data-quality checks run through Great Expectations: each check is one expectation on one SQL batch of the
warehouse, and its result says in plain words what is wrong with the data, where, and which rows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("blocking", "warning")
SAMPLE = 10  # failing keys kept per check


@dataclass(frozen=True)
class Check:
    """One expectation on one batch.

    Args:
        name: what must hold, in words ("raw_…_rows: one row per report, date, row_key").
        kind: the family (not_null, unique, non_negative, currency, in_window, freshness, volume, coverage,
            a source's own flags, facts, quarantine): `journey.yaml` sets a severity per family.
        source: the source whose data it judges (its registry name) or "map" for the facts.
        table: the table read.
        query: the batch, a SELECT in the warehouse's SQL (scoped to the run's window).
        expectation: the Great Expectations expectation run on the batch.
        keys: columns that name a failing row in the sample.
        fix: what to do when it fails.
        keep: failing rows kept in the sample (the day-keyed checks keep every day, up to GX's 200 rows: later
            runs leave those days out of their baselines).
    """

    name: str
    kind: str
    source: str
    table: str
    query: str
    expectation: Any
    keys: tuple[str, ...] = ()
    fix: str = ""
    keep: int = SAMPLE


@dataclass
class CheckResult:
    check: Check
    severity: str
    success: bool
    observed: str = ""
    unexpected: int = 0
    sample: list[Any] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == "blocking"

    def summary(self) -> str:
        """One line: what failed, how much, and which rows."""
        if self.success:
            return f"ok: {self.check.name}"
        rows = f"{self.unexpected:,} row(s)" if self.unexpected else self.observed
        sample = "; ".join(json.dumps(s, default=str, ensure_ascii=False) for s in self.sample[:3])
        return (f"{self.severity}: {self.check.name} — {rows}" + (f", e.g. {sample}" if sample else "")
                + (f". {self.check.fix}" if self.check.fix else ""))


def run_checks(url: str, checks: list[Check], severity: Mapping[str, str]) -> list[CheckResult]:
    """Run every check on the warehouse at `url` (SQLite or PostgreSQL), one GX batch per distinct query.

    A check whose expectation cannot run at all (bad SQL, a missing table) fails with the error as observed
    value, rather than stopping the others."""
    import great_expectations as gx  # heavy: imported when checks run, not when the CLI starts
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = (context.data_sources.add_postgres("warehouse", connection_string=url) if url.startswith("postgres")
              else context.data_sources.add_sqlite("warehouse", connection_string=url))
    by_query: dict[str, list[int]] = defaultdict(list)
    for i, check in enumerate(checks):
        by_query[check.query].append(i)
    results: dict[int, CheckResult] = {}
    for n, (query, members) in enumerate(by_query.items()):
        asset = source.add_query_asset(f"batch_{n}", query=query)
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        suite = gx.ExpectationSuite(f"suite_{n}")
        for i in members:
            expectation = checks[i].expectation
            expectation.meta = {"check": i}
            suite.add_expectation(expectation)
        keys = sorted({k for i in members for k in checks[i].keys})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                           "unexpected_index_column_names": keys,
                                                           "partial_unexpected_count": SAMPLE,
                                                           "return_unexpected_index_query": False})
        for item in outcome.results:
            found: dict[str, Any] = dict(item.to_json_dict())
            i = int(found["expectation_config"]["meta"]["check"])
            results[i] = _result(checks[i], severity.get(checks[i].kind, "blocking"), found)
    return [results[i] for i in range(len(checks))]


def _result(check: Check, severity: str, found: dict[str, Any]) -> CheckResult:
    result = found.get("result") or {}
    error = (found.get("exception_info") or {}).get("exception_message") if found.get("exception_info") else None
    if error:
        return CheckResult(check, severity, False, f"could not run: {error}")
    rows = (result.get("details") or {}).get("unexpected_rows")
    if rows is not None:  # an unexpected-rows check: its rows are the failures
        return CheckResult(check, severity, bool(found["success"]), str(result.get("observed_value", "")),
                           int(result.get("observed_value") or 0), [_plain(r) for r in rows[:check.keep]])
    sample = result.get("unexpected_index_list") or result.get("partial_unexpected_list") or []
    observed = result.get("observed_value")
    return CheckResult(check, severity, bool(found["success"]), "" if observed is None else str(observed),
                       int(result.get("unexpected_count") or 0), [_plain(s) for s in sample[:check.keep]])


def _plain(value: Any) -> Any:
    """A sample row as JSON-ready data (keys named by the check's columns)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def as_row(result: CheckResult, as_of: dt.date, since: dt.date, until: dt.date) -> dict[str, Any]:
    """The result as a `quality_results` row."""
    check = result.check
    return {"as_of": as_of, "check_name": check.name[:300], "kind": check.kind, "source": check.source,
            "table_name": check.table, "since": since, "until": until, "severity": result.severity,
            "success": result.success, "observed": result.observed, "unexpected_count": result.unexpected,
            "sample": json.dumps(result.sample, default=str, ensure_ascii=False), "fix": check.fix}


def unusable(results: list[CheckResult]) -> dict[str, str]:
    """Source → why its data may not be judged: the blocking failures, in words (the health gate's input)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r.blocking:
            out[r.check.source].append(r.check.name)
    return {s: f"{s}: blocking data-quality check(s) failed ({'; '.join(names[:3])}"
               + (f"; and {len(names) - 3} more" if len(names) > 3 else "")
               + "); its step alerts are held back until the data is fixed"
            for s, names in out.items()}

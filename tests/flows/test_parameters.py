"""The flow parameters users fill in the Prefect UI: typed for proper inputs, and checked before any work starts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from flows.pipeline import check_parameters, journey_pipeline

D = dt.date(2026, 9, 1)


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> list[dict[str, Any]]:
    """A property's alternatives, references resolved."""
    options = prop.get("anyOf") or [prop]
    out = []
    for option in options:
        ref = option.get("$ref") or (option.get("items") or {}).get("$ref")
        if ref:
            target = schema["definitions"][ref.rsplit("/", 1)[-1]]
            option = {**option, "items": target} if "items" in option else target
        out.append(option)
    return out


def test_the_ui_gets_date_pickers_and_a_source_multi_select_with_descriptions() -> None:
    from prefect.utilities.callables import parameter_schema

    schema = parameter_schema(journey_pipeline).model_dump()
    props = schema["properties"]
    for name in ("start_date", "end_date", "as_of"):
        assert {"type": "string", "format": "date"}.items() <= _resolve(schema, props[name])[0].items(), name
        assert props[name]["description"]
    [listed, _none] = _resolve(schema, props["sources"])
    assert listed["type"] == "array"
    assert listed["items"]["enum"] == ["ga4", "search_console", "mailchimp", "stripe", "surveys"]
    parallel = props["parallel_chunks"]
    assert (parallel["type"], parallel["minimum"], parallel["maximum"], parallel["default"]) == ("integer", 1, 16, 4)
    assert props["fan_out"]["type"] == "boolean"
    assert parallel["description"]
    assert props["fan_out"]["description"]


def test_a_run_with_parallel_chunks_out_of_range_is_refused_before_it_starts(tmp_path: Any, prefect_api_url: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.exceptions import ParameterTypeError

    monkeypatch.setenv("JOURNEY_DATABASE_URL", f"sqlite:///{tmp_path}/never.db")
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "outbox"))
    with pytest.raises(ParameterTypeError, match="parallel_chunks: Input should be greater than or equal to 1"):
        journey_pipeline(start_date=D, end_date=D, demo=True, parallel_chunks=0)
    assert not (tmp_path / "never.db.lock").exists()  # nothing started: not even the wait for the warehouse


@pytest.mark.parametrize(("start", "end", "demo", "outage", "deployment", "error"), [
    (D, None, False, None, None, "start_date and end_date go together"),
    (None, D, False, None, None, "start_date and end_date go together"),
    (None, None, False, None, "backfill", "the backfill deployment needs start_date and end_date"),
    (D, D - dt.timedelta(days=1), False, None, None, "end_date 2026-08-31 is before start_date 2026-09-01; swap"),
    (None, None, False, D, None, "demo_outage only works with demo"),
])
def test_bad_parameters_are_refused_with_the_fix(start: dt.date | None, end: dt.date | None, demo: bool,
                                                 outage: dt.date | None, deployment: str | None, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_parameters(start, end, demo, outage, deployment)


def test_good_parameters_give_the_window() -> None:
    assert check_parameters(None, None, False, None, "daily") is None
    assert check_parameters(D, D, False, None, "backfill") == (D, D)
    assert check_parameters(D, D + dt.timedelta(days=6), True, D, None) == (D, D + dt.timedelta(days=6))


def test_a_failed_run_tells_slack_which_flow_and_step_failed(db_url: str, prefect_api_url: str,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from tests.conftest import EXAMPLE_MAP
    from tests.fakes.slack import FakeSlack

    with FakeSlack() as slack:
        for name, value in {"JOURNEY_DATABASE_URL": db_url, "JOURNEY_MAP_FILE": str(EXAMPLE_MAP),
                            "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url,
                            "SLACK_CHANNEL": "#journey-alerts", "PREFECT_UI_URL": "http://127.0.0.1:4200",
                            "JOURNEY_OUTBOX_DIR": str(tmp_path)}.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match="start_date and end_date go together"):
            journey_pipeline(start_date=D)
        [notice] = slack.messages()
    assert notice["blocks"][0]["text"]["text"] == "❌ Run failed · journey-pipeline"
    assert "start_date and end_date go together" in notice["text"]
    assert "in the flow itself" in notice["text"]
    assert notice["metadata"]["event_payload"]["alert_key"] == "run|journey-pipeline"
    [button] = notice["blocks"][-1]["elements"]
    assert button["url"].startswith("http://127.0.0.1:4200/runs/flow-run/")

"""The fake Slack Web API, driven by the real `slack_sdk.WebClient` as the product drives Slack (no patching)."""

from __future__ import annotations

import http.client
import json
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.models.metadata import Metadata
from slack_sdk.web import SlackResponse

from tests.fakes.slack import UPLOAD, FakeSlack

ALERT = {"event_type": "journey_alert", "event_payload": {"message_key": "k1", "step": "checkout"}}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def web(fake: FakeSlack, token: str | None = None, handlers: list[RetryHandler] | None = None) -> WebClient:
    """A client without the SDK's default retries unless `handlers` says otherwise (each test chooses)."""
    return WebClient(fake.token if token is None else token, base_url=fake.url, retry_handlers=handlers or [])


def api_error(call: Callable[[], object]) -> SlackResponse:
    with pytest.raises(SlackApiError) as info:
        call()
    response: SlackResponse = info.value.response
    return response


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Open", url: str = "https://example.com", action_id: str = "open") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "url": url, "action_id": action_id}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def texts(answer: SlackResponse | list[dict[str, Any]]) -> list[str]:
    messages = answer if isinstance(answer, list) else answer["messages"]
    return [m["text"] for m in messages]


# --- posting, threads, updates ---------------------------------------------------------------------------------
def test_auth_test_identifies_the_bot(fake: FakeSlack) -> None:
    answer = web(fake).auth_test()
    assert answer["ok"]
    assert answer["user_id"].startswith("U")
    assert answer["bot_id"].startswith("B")
    assert fake.requests[0].method == "auth.test"
    assert fake.requests[0].params == {}


def test_post_by_name_answers_with_the_channel_id_and_stores_what_was_sent(fake: FakeSlack) -> None:
    answer = web(fake).chat_postMessage(channel="#journey-alerts", text="Checkout drop-off rose", unfurl_links=False,
                                        blocks=[section("*Checkout* drop-off rose 12%")], metadata=ALERT)
    assert answer["channel"] == fake.channel_id == "C0JOURNEY1"
    assert answer["message"]["text"] == "Checkout drop-off rose"
    assert answer["message"]["metadata"] == ALERT
    stored = fake.message("journey-alerts", answer["ts"])
    assert stored is not None
    assert stored["blocks"][0]["text"]["text"] == "*Checkout* drop-off rose 12%"
    assert stored["blocks"][0]["block_id"]  # Slack gives every block an id
    assert fake.posts == 1
    assert texts(fake.messages()) == ["Checkout drop-off rose"]
    params = fake.calls("chat.postMessage")[0].params  # the SDK sends writes as JSON: real types arrive
    assert params["unfurl_links"] is False
    assert isinstance(params["blocks"], list)
    assert params["metadata"] == ALERT


def test_timestamps_are_unique_increasing_and_follow_the_clock(fake: FakeSlack) -> None:
    client, seen, before = web(fake), [], time.time()

    def post(n: int) -> None:
        for i in range(10):
            seen.append(client.chat_postMessage(channel=fake.channel_id, text=f"{n}-{i}")["ts"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 40
    assert all(re.fullmatch(r"\d{10}\.\d{6}", ts) for ts in seen)
    assert before - 1 <= min(map(float, seen)) <= max(map(float, seen)) <= time.time() + 1
    assert [m["ts"] for m in fake.messages()] == sorted(seen, key=lambda ts: tuple(map(int, ts.split("."))))


def test_a_frozen_clock_still_gives_distinct_timestamps() -> None:
    with FakeSlack(clock=lambda: 1763856000.0) as fake:
        client = web(fake)
        first = client.chat_postMessage(channel=fake.channel_id, text="a")["ts"]
        second = client.chat_postMessage(channel=fake.channel_id, text="b")["ts"]
    assert (first, second) == ("1763856000.000000", "1763856000.000001")


def test_thread_replies_stay_out_of_history_and_mark_their_parent(fake: FakeSlack) -> None:
    client = web(fake)
    parent = client.chat_postMessage(channel=fake.channel_id, text="parent")["ts"]
    first = client.chat_postMessage(channel=fake.channel_id, text="r1", thread_ts=parent)
    client.chat_postMessage(channel=fake.channel_id, text="r2", thread_ts=first["ts"])  # a reply's ts: same thread
    assert first["message"]["thread_ts"] == parent
    history = client.conversations_history(channel=fake.channel_id)
    assert texts(history) == ["parent"]
    top = history["messages"][0]
    assert (top["thread_ts"], top["reply_count"], top["reply_users"]) == (parent, 2, [top["user"]])
    assert top["latest_reply"] == fake.replies(fake.channel_id, parent)[-1]["ts"]
    assert texts(client.conversations_replies(channel=fake.channel_id, ts=parent)) == ["parent", "r1", "r2"]
    assert texts(fake.replies(fake.channel_id, parent)) == ["r1", "r2"]


@pytest.mark.parametrize(("thread_ts", "error"), [("1700000000.000100", "thread_not_found"),
                                                  ("yesterday", "invalid_thread_ts")])
def test_a_reply_to_a_missing_thread_is_refused(fake: FakeSlack, thread_ts: str, error: str) -> None:
    response = api_error(lambda: web(fake).chat_postMessage(channel=fake.channel_id, text="r", thread_ts=thread_ts))
    assert response.status_code == 200
    assert response["error"] == error
    assert fake.posts == 0


def test_update_replaces_the_content_and_marks_the_message_edited(fake: FakeSlack) -> None:
    client = web(fake)
    ts = client.chat_postMessage(channel=fake.channel_id, text="old", blocks=[section("old")], metadata=ALERT)["ts"]
    answer = client.chat_update(channel="#journey-alerts", ts=ts, text="new", blocks=[section("new")])
    assert answer["ts"] == ts
    assert answer["text"] == "new"
    assert answer["message"]["edited"]["ts"] > ts
    stored = fake.message(fake.channel_id, ts)
    assert stored is not None
    assert stored["text"] == "new"
    assert stored["blocks"][0]["text"]["text"] == "new"
    assert stored["metadata"] == ALERT
    assert "edited" in stored
    assert len(fake.messages()) == 1


def test_update_errors(fake: FakeSlack) -> None:
    client = web(fake)
    missing = api_error(lambda: client.chat_update(channel=fake.channel_id, ts="1700000000.000100", text="x"))
    assert missing["error"] == "message_not_found"
    someone = fake.add_message(fake.channel_id, "a person wrote this")
    assert api_error(lambda: client.chat_update(channel=fake.channel_id, ts=someone, text="x"))["error"] == (
        "cant_update_message")
    ts = client.chat_postMessage(channel=fake.channel_id, text="ok")["ts"]
    too_long = api_error(lambda: client.chat_update(channel=fake.channel_id, ts=ts, text="x",
                                                    blocks=[section("y" * 3001)]))
    assert too_long["error"] == "invalid_blocks"
    assert texts(fake.messages()) == ["a person wrote this", "ok"]


# --- reading -----------------------------------------------------------------------------------------------------
def test_metadata_is_only_returned_with_include_all_metadata(fake: FakeSlack) -> None:
    client = web(fake)
    parent = client.chat_postMessage(channel=fake.channel_id, text="p", metadata=ALERT)["ts"]
    client.chat_postMessage(channel=fake.channel_id, text="r", thread_ts=parent,
                            metadata=Metadata(event_type="journey_reply", event_payload={"n": 1}))
    plain = client.conversations_history(channel=fake.channel_id)["messages"][0]
    full = client.conversations_history(channel=fake.channel_id, include_all_metadata=True)["messages"][0]
    assert "metadata" not in plain
    assert full["metadata"] == ALERT
    replies = client.conversations_replies(channel=fake.channel_id, ts=parent, include_all_metadata=True)
    assert replies["messages"][1]["metadata"] == {"event_type": "journey_reply", "event_payload": {"n": 1}}
    assert "metadata" not in client.conversations_replies(channel=fake.channel_id, ts=parent)["messages"][1]


def test_history_pages_newest_first_with_cursors(fake: FakeSlack) -> None:
    client = web(fake)
    for i in range(5):
        client.chat_postMessage(channel=fake.channel_id, text=f"m{i}")
    first = client.conversations_history(channel=fake.channel_id, limit=2)
    assert texts(first) == ["m4", "m3"]
    assert first["has_more"] is True
    second = client.conversations_history(channel=fake.channel_id, limit=2,
                                          cursor=first["response_metadata"]["next_cursor"])
    assert texts(second) == ["m2", "m1"]
    pages = [texts(page) for page in client.conversations_history(channel=fake.channel_id, limit=2)]  # SDK paging
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]
    assert api_error(lambda: client.conversations_history(channel=fake.channel_id, cursor="bogus"))["error"] == (
        "invalid_cursor")


def test_history_window_by_oldest_latest_and_inclusive(fake: FakeSlack) -> None:
    client = web(fake)
    a, b, c = (client.chat_postMessage(channel=fake.channel_id, text=t)["ts"] for t in "abc")
    assert texts(client.conversations_history(channel=fake.channel_id, oldest=a)) == ["c", "b"]
    assert texts(client.conversations_history(channel=fake.channel_id, oldest=a, latest=c, inclusive=True)) == [
        "c", "b", "a"]
    assert texts(client.conversations_history(channel=fake.channel_id, latest=b)) == ["a"]
    assert texts(client.conversations_history(channel=fake.channel_id, oldest=f"{time.time() - 60:.6f}")) == [
        "c", "b", "a"]
    assert texts(client.conversations_history(channel=fake.channel_id, oldest=str(int(time.time()) + 60))) == []


def test_replies_page_oldest_first_after_the_parent(fake: FakeSlack) -> None:
    client = web(fake)
    parent = client.chat_postMessage(channel=fake.channel_id, text="p")["ts"]
    for i in range(4):
        client.chat_postMessage(channel=fake.channel_id, text=f"r{i}", thread_ts=parent)
    pages = [texts(page) for page in client.conversations_replies(channel=fake.channel_id, ts=parent, limit=2)]
    assert pages == [["p", "r0"], ["r1", "r2"], ["r3"]]
    missing = api_error(lambda: client.conversations_replies(channel=fake.channel_id, ts="1700000000.000100"))
    assert missing["error"] == "thread_not_found"


def test_reads_take_channel_ids_only_and_conversations_list_maps_names(fake: FakeSlack) -> None:
    client = web(fake)
    fake.add_channel("C0OTHER001", "other")
    assert api_error(lambda: client.conversations_history(channel="#journey-alerts"))["error"] == "channel_not_found"
    listed = client.conversations_list(types="public_channel,private_channel", limit=1)
    names = [(c["id"], c["name"]) for page in client.conversations_list(limit=1) for c in page["channels"]]
    assert len(listed["channels"]) == 1
    assert listed["response_metadata"]["next_cursor"]
    assert names == [("C0JOURNEY1", "journey-alerts"), ("C0OTHER001", "other")]


# --- files -------------------------------------------------------------------------------------------------------
def test_files_upload_v2_shares_the_file_into_the_thread(fake: FakeSlack) -> None:
    client, content = web(fake), b"step,users\ncheckout,120\n"
    parent = client.chat_postMessage(channel=fake.channel_id, text="weekly report")["ts"]
    answer = client.files_upload_v2(channel=fake.channel_id, thread_ts=parent, file=content, filename="funnel.csv",
                                    title="Funnel", initial_comment="This week's funnel")
    file_id = answer["file"]["id"]
    stored = fake.files[file_id]
    assert (stored.data, stored.name, stored.title, stored.channel, stored.thread_ts) == (
        content, "funnel.csv", "Funnel", fake.channel_id, parent)
    share = fake.replies(fake.channel_id, parent)[-1]
    assert share["text"] == "This week's funnel"
    assert share["files"][0]["id"] == file_id
    assert [r.method for r in fake.requests[1:]] == [
        "files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]
    assert fake.requests[2].params["length"] == len(content)
    listed = client.files_list(channel=fake.channel_id, ts_from=str(int(time.time()) - 60), count=100)
    assert [f["name"] for f in listed["files"]] == ["funnel.csv"]
    assert listed["paging"]["total"] == 1
    info = client.files_info(file=file_id)["file"]
    assert info["size"] == len(content)
    assert info["shares"]["public"][fake.channel_id][0]["thread_ts"] == parent
    assert client.files_list(channel=fake.channel_id, types="images")["files"] == []


def test_upload_length_is_checked_and_upload_failures_escape_as_http_errors(fake: FakeSlack) -> None:
    client = web(fake)
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=5)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(urllib.request.Request(ticket["upload_url"], data=b"abc", method="POST"), timeout=5)
    assert info.value.code == 400
    fake.fail_next(UPLOAD, status=500)
    with pytest.raises(urllib.error.HTTPError):  # not SlackApiError: the SDK uploads with bare urllib
        client.files_upload_v2(channel=fake.channel_id, content="hello", filename="b.txt")
    assert not fake.calls("files.completeUploadExternal")
    unknown = api_error(lambda: client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}]))
    assert unknown["error"] == "file_not_found"  # never uploaded


# --- limits ------------------------------------------------------------------------------------------------------
LIMIT_CASES: list[tuple[str, list[Any], list[str]]] = [
    ("50 blocks", [{"type": "divider"}] * 51, ["no more than 50 items allowed [json-pointer:/blocks]"]),
    ("section text", [section("x" * 3001)], ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]),
    ("10 fields", [{"type": "section", "fields": [mrkdwn("f")] * 11}],
     ["no more than 10 items allowed [json-pointer:/blocks/0/fields]"]),
    ("field text", [{"type": "section", "fields": [mrkdwn("f"), mrkdwn("x" * 2001)]}],
     ["must be less than 2001 characters [json-pointer:/blocks/0/fields/1/text]"]),
    ("header text", [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
     ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"]),
    ("header mrkdwn", [{"type": "header", "text": mrkdwn("h")}],
     ["must be a valid enum value [json-pointer:/blocks/0/text/type]"]),
    ("context", [{"type": "context", "elements": [mrkdwn("c")] * 11}],
     ["no more than 10 items allowed [json-pointer:/blocks/0/elements]"]),
    ("actions", [{"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(26)]}],
     ["no more than 25 items allowed [json-pointer:/blocks/0/elements]"]),
    ("button text", [{"type": "actions", "elements": [button(text="b" * 76)]}],
     ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"]),
    ("button url", [{"type": "actions", "elements": [button(url="https://e.com/" + "u" * 2987)]}],
     ["must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]"]),
    ("action_id", [section("s") | {"accessory": button(action_id="a" * 256)}],
     ["must be less than 256 characters [json-pointer:/blocks/0/accessory/action_id]"]),
    ("block_id", [section("s") | {"block_id": "b" * 256}],
     ["must be less than 256 characters [json-pointer:/blocks/0/block_id]"]),
    ("unknown type", [{"type": "sections", "text": mrkdwn("s")}],
     ["unsupported type: sections [json-pointer:/blocks/0/type]"]),
    ("empty section", [{"type": "section"}], ["must define either `text` or `fields` [json-pointer:/blocks/0/type]"]),
    ("every violation", [section(""), {"type": "divider"}, {"type": "header", "text": mrkdwn("h" * 151)}],
     ["must be more than 0 characters [json-pointer:/blocks/0/text/text]",
      "must be a valid enum value [json-pointer:/blocks/2/text/type]",
      "must be less than 151 characters [json-pointer:/blocks/2/text/text]"]),
]


@pytest.mark.parametrize(("blocks", "errors"), [c[1:] for c in LIMIT_CASES], ids=[c[0] for c in LIMIT_CASES])
def test_block_limits_are_refused_in_slacks_shape(fake: FakeSlack, blocks: list[Any], errors: list[str]) -> None:
    response = api_error(lambda: web(fake).chat_postMessage(channel=fake.channel_id, text="fallback", blocks=blocks))
    assert response.status_code == 200
    assert response.data == {"ok": False, "error": "invalid_blocks", "errors": errors,
                             "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}}
    assert fake.posts == 0
    assert fake.messages() == []


def test_everything_exactly_at_the_limits_is_accepted(fake: FakeSlack) -> None:
    blocks = [section("x" * 3000), {"type": "section", "fields": [mrkdwn("f" * 2000)] * 10},
              {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
              {"type": "context", "elements": [mrkdwn("c")] * 10, "block_id": "b" * 255},
              {"type": "actions", "elements": [button(text="b" * 75, url="https://e.com/" + "u" * 2986,
                                                      action_id=f"{i:0>255}") for i in range(25)]}]
    blocks += [{"type": "divider"}] * (50 - len(blocks))
    web(fake).chat_postMessage(channel=fake.channel_id, text="t" * 40_000, blocks=blocks)
    assert fake.posts == 1


def test_text_limits(fake: FakeSlack) -> None:
    client = web(fake)
    assert api_error(lambda: client.chat_postMessage(channel=fake.channel_id, text="t" * 40_001))["error"] == (
        "msg_too_long")
    with pytest.warns(UserWarning, match="text"):  # the SDK warns before sending a message without text
        assert api_error(lambda: client.chat_postMessage(channel=fake.channel_id, text=""))["error"] == "no_text"
    assert fake.posts == 0


@pytest.mark.parametrize("metadata", [{"event_payload": {}}, {"event_type": "journey-alert", "event_payload": {}},
                                      {"event_type": "ok", "event_payload": "text"}, {"event_type": 5,
                                                                                     "event_payload": {}}])
def test_malformed_metadata_is_refused(fake: FakeSlack, metadata: dict[str, Any]) -> None:
    response = api_error(lambda: web(fake).chat_postMessage(channel=fake.channel_id, text="t", metadata=metadata))
    assert response["error"] == "invalid_metadata_format"
    assert fake.posts == 0


# --- auth, channels, methods -------------------------------------------------------------------------------------
def test_auth_errors(fake: FakeSlack) -> None:
    assert api_error(lambda: web(fake, token="xoxb-wrong").auth_test())["error"] == "invalid_auth"
    assert api_error(lambda: web(fake, token="").auth_test())["error"] == "not_authed"


def test_token_as_a_form_field_or_query_parameter_and_never_logged(fake: FakeSlack) -> None:
    form = urllib.parse.urlencode({"token": fake.token, "channel": fake.channel_id, "text": "by form"}).encode()
    with urllib.request.urlopen(urllib.request.Request(fake.url + "chat.postMessage", data=form), timeout=5) as r:
        assert json.loads(r.read())["ok"] is True
    query = urllib.parse.urlencode({"token": fake.token, "channel": fake.channel_id})
    with urllib.request.urlopen(fake.url + "conversations.history?" + query, timeout=5) as r:
        assert texts(json.loads(r.read())) == ["by form"]
    assert all("token" not in r.params for r in fake.requests)


def test_channel_errors(fake: FakeSlack) -> None:
    client = web(fake)
    assert api_error(lambda: client.chat_postMessage(channel="#nowhere", text="t"))["error"] == "channel_not_found"
    fake.add_channel("C0CLOSED01", "closed", member=False)
    assert api_error(lambda: client.chat_postMessage(channel="C0CLOSED01", text="t"))["error"] == "not_in_channel"


def test_unknown_method_is_a_404(fake: FakeSlack) -> None:
    response = api_error(lambda: web(fake).api_call("chat.postMessages"))
    assert (response.status_code, response["error"]) == (404, "unknown_method")


# --- failures ----------------------------------------------------------------------------------------------------
def test_rate_limit_surfaces_with_retry_after_when_not_retried(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    response = api_error(lambda: web(fake).chat_postMessage(channel=fake.channel_id, text="t"))
    assert (response.status_code, response["error"], response.headers["Retry-After"]) == (429, "ratelimited", "7")
    assert fake.posts == 0


def test_rate_limit_is_retried_by_the_sdks_rate_limit_handler(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    answer = web(fake, handlers=[RateLimitErrorRetryHandler()]).chat_postMessage(channel=fake.channel_id, text="t")
    assert time.monotonic() - started >= 1  # it slept Retry-After (plus up to a second of jitter)
    assert [r.status for r in fake.calls("chat.postMessage")] == [429, 200]
    assert answer["ok"]
    assert fake.posts == 1


def test_a_server_error_surfaces_as_an_api_error(fake: FakeSlack) -> None:
    fake.fail_next("conversations.history", status=500, times=2)
    client = web(fake)
    for _ in range(2):
        response = api_error(lambda: client.conversations_history(channel=fake.channel_id))
        assert response.status_code == 500
        assert response["error"].startswith("Received a response in a non-JSON format")
    assert client.conversations_history(channel=fake.channel_id)["ok"]


def test_a_dropped_answer_raises_remote_disconnected_but_the_message_was_posted(fake: FakeSlack) -> None:
    fake.drop_next("chat.postMessage")
    with pytest.raises(http.client.RemoteDisconnected):  # a ConnectionResetError, not wrapped in URLError
        web(fake).chat_postMessage(channel=fake.channel_id, text="did it land?")
    assert texts(fake.messages()) == ["did it land?"]
    assert fake.posts == 1
    assert fake.calls("chat.postMessage")[0].status is None


def test_the_sdks_default_connection_retry_posts_a_dropped_message_twice(fake: FakeSlack) -> None:
    assert any(isinstance(h, ConnectionErrorRetryHandler) for h in WebClient().retry_handlers)
    fake.drop_next("chat.postMessage")
    quick = ConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.0))
    answer = web(fake, handlers=[quick]).chat_postMessage(channel=fake.channel_id, text="once, please")
    assert answer["ok"]
    assert texts(fake.messages()) == ["once, please", "once, please"]


def test_faults_match_by_method_or_any(fake: FakeSlack) -> None:
    client = web(fake)
    fake.fail_next("*", status=503)
    assert api_error(lambda: client.auth_test()).headers["Retry-After"] == "1"
    assert client.auth_test()["ok"]
    with pytest.raises(ValueError, match="4xx/5xx"):
        fake.fail_next("auth.test", status=200)
    with pytest.raises(ValueError, match="whole"):  # the SDK's rate-limit handler int()s Retry-After
        fake.fail_next("auth.test", retry_after=1.5)  # type: ignore[arg-type]


# --- standalone --------------------------------------------------------------------------------------------------
def test_standalone_prints_what_to_export_and_every_message() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack", "--port", "0"], stdout=subprocess.PIPE,
                            text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        token = lines.get(timeout=10).strip().removeprefix("SLACK_BOT_TOKEN=")
        url = lines.get(timeout=10).strip().removeprefix("SLACK_API_URL=")
        assert token.startswith("xoxb-")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", url)
        client = WebClient(token, base_url=url, retry_handlers=[])
        ts = client.chat_postMessage(channel="#journey-alerts", text="hello\nworld", blocks=[section("s")])["ts"]
        printed = ""
        while "world" not in printed:
            printed += lines.get(timeout=10)
        assert f"posted #journey-alerts (C0JOURNEY1) ts={ts} thread=- blocks=1" in printed
    finally:
        proc.terminate()
        proc.wait(timeout=10)

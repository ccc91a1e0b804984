"""The fake Mailchimp's audience members: `GET /lists/{list_id}/members` (paging, status, opt-in and last-changed
windows, sorting) and `GET /lists/{list_id}/members/{subscriber_hash}`, rendered as Mailchimp renders a member.

A member is kept as one row of numpy columns per audience (recipient number, stored status, opt-in time, leave
time), so filtering and sorting a large audience is a few vector operations; what a member looks like at a moment
of the shared clock (not yet subscribed: absent; past their unsubscribe time: "unsubscribed") is computed per
request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tests.fakes.mailchimp_store import BOUNCE, NEVER, SENT, UNSUB, Columns, empty_columns
from tests.fakes.mailchimp_wire import ApiError, IntArray, Query, epoch, hex_id, ip, iso, web_id, window

STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
SUBSCRIBED, UNSUBSCRIBED, CLEANED = 0, 1, 2
SORT_FIELDS = ("timestamp_opt", "timestamp_signup", "last_changed")

Int8Array = npt.NDArray[np.int8]


@dataclass(frozen=True)
class FakeMember:
    """One audience member; `email` is the plain address.

    `subscribed_at` is when they opted in (Mailchimp's `timestamp_opt`); with a clock they do not exist before it.
    `unsubscribed_at` (status "subscribed" only) is when they unsubscribed: from then on Mailchimp shows them as
    "unsubscribed", changed at that moment, and automation emails stop reaching them.
    """

    email: str
    subscribed_at: datetime
    status: str = "subscribed"
    unsubscribed_at: datetime | None = None

    def check(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"member status must be one of {STATUSES}, not {self.status!r}")
        if self.unsubscribed_at is not None:
            if self.status != "subscribed":
                raise ValueError("unsubscribed_at is for a subscribed member who later unsubscribes")
            if epoch(self.unsubscribed_at) < epoch(self.subscribed_at):
                raise ValueError("a member cannot unsubscribe before subscribing")


def subscriber_hash(address: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased address."""
    return hashlib.md5(address.strip().lower().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MemberView:
    """The members that exist at a moment, in the order they were added: status as shown and last change."""

    numbers: IntArray
    status: Int8Array
    opt: IntArray
    changed: IntArray


class MemberTable:
    """One audience's members; adding an address again replaces it in place (Mailchimp's upsert)."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[int, int, int]] = {}  # number → (status code, opt-in second, leave second)
        self._by_hash: dict[str, int] = {}
        self._cols: tuple[IntArray, Int8Array, IntArray, IntArray] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, number: int, address: str, member: FakeMember) -> None:
        left = NEVER if member.unsubscribed_at is None else epoch(member.unsubscribed_at)
        self._rows[number] = (STATUSES.index(member.status), epoch(member.subscribed_at), left)
        self._by_hash[subscriber_hash(address)] = number
        self._cols = None

    def number_of(self, key: str) -> int | None:
        """The member a path names: the subscriber hash, or (as Mailchimp also accepts) the address itself."""
        return self._by_hash.get(subscriber_hash(key) if "@" in key else key.lower())

    def columns(self) -> tuple[IntArray, Int8Array, IntArray, IntArray]:
        """(number, stored status, opt-in second, leave second or NEVER), in the order members were added."""
        if self._cols is None:
            rows = list(self._rows.values())
            self._cols = (np.fromiter(self._rows, np.int64, len(rows)),
                          np.array([r[0] for r in rows], np.int8),
                          np.array([r[1] for r in rows], np.int64),
                          np.array([r[2] for r in rows], np.int64))
        return self._cols

    def at(self, now: int | None) -> MemberView:
        """The members that exist by `now` (every member when None), as Mailchimp would show them then."""
        numbers, status, opt, left = self.columns()
        moment = NEVER - 1 if now is None else now  # without a clock every stored change has happened
        here = opt <= moment
        gone = left[here] <= moment
        shown = np.where(gone, np.int8(UNSUBSCRIBED), status[here]).astype(np.int8)
        return MemberView(numbers[here], shown, opt[here], np.where(gone, left[here], opt[here]))

    def subscribed(self) -> tuple[IntArray, IntArray, IntArray]:
        """(number, opt-in second, leave second) of the members added as subscribed: an automation's audience."""
        numbers, status, opt, left = self.columns()
        keep = status == SUBSCRIBED
        return numbers[keep], opt[keep], left[keep]

    def growth_rows(self) -> Columns:
        """Members as activity-like rows for the growth history: a join ("sent" code) at the opt-in, and a leave
        ("unsub" code, or "bounce" for cleaned) when they left; pending, transactional and archived contacts are
        not subscribers and add nothing."""
        numbers, status, opt, left = self.columns()
        if not len(numbers):
            return empty_columns()
        joined = status <= CLEANED
        quit_later = (status == SUBSCRIBED) & (left != NEVER)
        e = np.concatenate((numbers[joined], numbers[quit_later], numbers[status == UNSUBSCRIBED],
                            numbers[status == CLEANED]))
        a = np.concatenate((np.full(int(joined.sum()), SENT), np.full(int(quit_later.sum()), UNSUB),
                            np.full(int((status == UNSUBSCRIBED).sum()), UNSUB),
                            np.full(int((status == CLEANED).sum()), BOUNCE))).astype(np.int8)
        t = np.concatenate((opt[joined], left[quit_later], opt[status == UNSUBSCRIBED], opt[status == CLEANED]))
        return e, a, t


def page(view: MemberView, q: Query) -> tuple[IntArray, int]:
    """The positions (in `view`) of the requested page, and `total_items`, for `GET /lists/{id}/members`.

    Filters: `status`; `since_timestamp_opt` / `before_timestamp_opt` and `since_last_changed` /
    `before_last_changed` (since inclusive, before exclusive, as the fake's other windows). Order: as added,
    or by `sort_field` in `sort_dir` (ASC by default), ties as added.
    """
    count, offset = q.paging()
    keep = window(view.opt, q, "timestamp_opt") & window(view.changed, q, "last_changed")
    status = q.choice("status", STATUSES)
    if status is not None:
        keep &= view.status == STATUSES.index(status)
    positions = np.flatnonzero(keep)
    field = q.choice("sort_field", SORT_FIELDS)
    descending = q.choice("sort_dir", ["ASC", "DESC"], "ASC") == "DESC"
    if field in ("timestamp_opt", "last_changed"):
        key = (view.opt if field == "timestamp_opt" else view.changed)[positions]
        # lexsort's last key is the primary one; the position keeps ties in the order members were added.
        positions = positions[np.lexsort((positions, -key if descending else key))]
    # timestamp_signup is "" for every member (nobody signed up through a hosted form), so it changes nothing.
    return positions[offset:offset + count], len(positions)


def member_json(list_id: str, number: int, address: str, status: int, opt: int, changed: int) -> dict[str, Any]:
    """A member as Mailchimp renders one (without `_links`)."""
    digest = subscriber_hash(address)
    return {
        "id": digest, "email_address": address, "unique_email_id": hex_id("unique", list_id, digest),
        "contact_id": hashlib.md5(f"contact:{digest}".encode()).hexdigest(), "full_name": "",
        "web_id": web_id(f"{list_id}:{digest}"), "email_type": "html", "status": STATUSES[status],
        "merge_fields": {"FNAME": "", "LNAME": ""}, "ip_signup": "", "timestamp_signup": "",
        "ip_opt": ip(number), "timestamp_opt": iso(opt), "member_rating": 2, "last_changed": iso(changed),
        "language": "", "vip": False, "email_client": "",
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "", "timezone": "",
                     "region": ""},
        "source": "API - Generic", "tags_count": 0, "tags": [], "list_id": list_id,
    }


def find(view: MemberView, number: int | None) -> int:
    """The position of a member in `view`; 404 when unknown or not subscribed yet."""
    hits = np.flatnonzero(view.numbers == number) if number is not None else np.zeros(0, np.int64)
    if not len(hits):
        raise ApiError(404)
    return int(hits[0])

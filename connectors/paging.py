"""The one paginator of every reader: pages of a cursor- or offset-paged list, with a loop guard.

A reader gives `fetch(cursor) -> Page` (the items, and the cursor of the next page or None at the end). The
paginator yields each non-empty page and stops at the end. It refuses to go round in circles: a next cursor
already asked for, or a page whose items are exactly those of the page before (a server that ignores the
cursor), raises `PagingLoop` naming the list and the cursor, instead of reading the same page for ever.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from connectors.errors import ConnectorError

T = TypeVar("T")
C = TypeVar("C", bound=Hashable)


class PagingLoop(ConnectorError):
    """The API sent a page the paginator already read: paging it further would never end."""


@dataclass(frozen=True)
class Page(Generic[T, C]):
    """One page of a list: its items and the cursor of the next page (None: this was the last)."""

    items: Sequence[T]
    next: C | None


def paginate(fetch: Callable[[C | None], Page[T, C]], *, what: str, first: C | None = None,
             identity: Callable[[T], Hashable] | None = None) -> Iterator[list[T]]:
    """Every non-empty page of a list, in order.

    Args:
        fetch: reads the page at a cursor (`first` for the first page; the reader's own retries inside).
        what: the list in words, for the loop error ("Stripe checkout sessions of 2026-09-01").
        identity: what identifies an item (its id); with it, a page of exactly the previous page's items is a
            loop even when the cursor moved (offset paging on a server that ignores the offset).
    """
    asked: set[C] = set() if first is None else {first}
    cursor = first
    before: tuple[Hashable, ...] | None = None
    while True:
        page = fetch(cursor)
        items = list(page.items)
        if identity is not None and items:
            keys = tuple(identity(item) for item in items)
            if keys == before:
                raise PagingLoop(f"{what}: the page at {cursor!r} repeats the page before it (the API ignored the "
                                 "paging cursor); stopped instead of reading it for ever")
            before = keys
        if items:
            yield items
        if page.next is None or not items:
            return
        if page.next in asked:
            raise PagingLoop(f"{what}: the API sent the cursor {page.next!r} again; stopped instead of reading "
                             "the same pages for ever")
        asked.add(page.next)
        cursor = page.next

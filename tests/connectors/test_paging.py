"""The one paginator: every page once, in order, and a loop is an error, never an endless read."""

from __future__ import annotations

import pytest

from connectors.paging import Page, PagingLoop, paginate


def cursor_pages(items: list[int], size: int) -> dict[int | None, Page[int, int]]:
    """A cursor-paged list: each page's cursor is the offset of the next one."""
    out: dict[int | None, Page[int, int]] = {}
    for start in range(0, len(items), size):
        end = start + size
        out[start or None] = Page(items[start:end], end if end < len(items) else None)
    return out


def test_every_page_is_read_once_in_order_and_the_read_ends() -> None:
    pages = cursor_pages(list(range(25)), 10)
    asked: list[int | None] = []

    def fetch(cursor: int | None) -> Page[int, int]:
        asked.append(cursor)
        return pages[cursor]

    assert list(paginate(fetch, what="numbers")) == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    assert asked == [None, 10, 20]


def test_an_empty_list_is_no_page() -> None:
    assert list(paginate(lambda cursor: Page([], None), what="nothing")) == []


def test_a_cursor_sent_again_is_a_loop() -> None:
    pages = {None: Page([1, 2], "b"), "b": Page([3, 4], "c"), "c": Page([5, 6], "b")}
    read = paginate(pages.__getitem__, what="letters")
    assert next(read) == [1, 2]
    assert next(read) == [3, 4]
    assert next(read) == [5, 6]  # new items; then their cursor points back
    with pytest.raises(PagingLoop, match="letters: the API sent the cursor 'b' again"):
        next(read)


def test_offset_paging_on_a_server_that_ignores_the_offset_is_a_loop() -> None:
    def fetch(offset: int | None) -> Page[dict[str, str], int]:  # always the first page, the offset moving on
        return Page([{"id": "a"}, {"id": "b"}], (offset or 0) + 2)

    read = paginate(fetch, what="campaigns", identity=lambda item: item["id"])
    assert next(read) == [{"id": "a"}, {"id": "b"}]
    with pytest.raises(PagingLoop, match="campaigns: the page at 2 repeats the page before it"):
        next(read)

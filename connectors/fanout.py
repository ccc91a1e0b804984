"""Read several things at once and hand over their pages as they arrive, not one reader's pages after another's."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def interleaved(jobs: Iterable[Callable[[], Iterable[T]]], workers: int, *, buffered: int = 32) -> Iterator[T]:
    """The items of every job, in the order they are made, `workers` jobs running at a time.

    Waiting for a whole job in order (`pool.map`) leaves the consumer idle until the first job ends and the
    readers idle while it catches up; here the consumer takes each item as soon as any job makes it. At most
    `buffered` items wait, so a slow consumer slows the readers instead of filling memory. The first error of a
    job is raised to the consumer; stopping early (an error, or closing the iterator) stops every job at its
    next item.
    """
    todo: queue.SimpleQueue[Callable[[], Iterable[T]]] = queue.SimpleQueue()
    count = 0
    for job in jobs:
        todo.put(job)
        count += 1
    out: queue.Queue[object] = queue.Queue(maxsize=max(1, buffered))
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                break
            try:
                for item in job():
                    if not hand_over(item):
                        return
            except BaseException as exc:  # handed to the consumer, who raises it
                hand_over(_Failed(exc))
                return
            hand_over(_DONE)

    threads = [threading.Thread(target=work, name=f"reader-{i}", daemon=True) for i in range(max(1, min(workers,
                                                                                                       count)))]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < count:
            item = out.get()
            if item is _DONE:
                finished += 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield item  # type: ignore[misc]
    finally:
        stop.set()
        for thread in threads:
            thread.join()

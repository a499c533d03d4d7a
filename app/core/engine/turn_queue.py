"""One loaded model, many callers: turns wait their turn, first come first served.

A ``ChatEngine`` generates one reply at a time. The window's chat, the local server's clients and
any other caller share it through one ``EngineQueue``: ``lease()`` takes a place in the line at
once (or refuses with ``QueueFullError`` when the line is full), and entering the lease waits
until every earlier caller is done, then hands over the engine::

    lease = queue.lease(cancel, label="server")      # QueueFullError here, before any waiting
    with lease as engine:                            # waits FIFO; JobCancelled if cancel is set
        for chunk in engine.stream_chat(conversation, settings, cancel): ...

``submit(start)`` does the same for one streamed turn: it reserves the place now and returns a
``QueuedStream`` that waits and then streams ``start(engine)``'s chunks as it is iterated.

``status`` (busy, waiting, who holds the engine) is observable: ``subscribe(callback)`` calls
``callback(QueueStatus)`` on every change, so a window can show that the server is busy.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from foundation.errors import FinR1Error
from foundation.jobs import CancelToken, JobCancelled

if TYPE_CHECKING:
    from app.core.engine.local_engine import ChatEngine, ChatStream, TokenChunk, TurnResult

# How often a waiting caller looks at its cancel token (a CancelToken has no callback to wake it).
_CANCEL_POLL_S = 0.05
# Turn durations remembered for the Retry-After estimate.
_RECENT_TURNS = 8


class QueueFullError(FinR1Error):
    """Every place in the engine's queue is taken; ``retry_after_s`` estimates when one frees."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class QueueStatus:
    """A snapshot of the queue. ``busy``: a caller holds the engine; ``waiting``: callers in line
    behind it (places reserved, not yet served); ``holder``: the label of the caller holding it
    (``"chat"``, ``"server"``…), None when idle."""

    busy: bool
    waiting: int
    holder: str | None


StatusCallback = Callable[[QueueStatus], None]


class Lease:
    """A place in an ``EngineQueue``'s line, made by ``EngineQueue.lease``.

    ``with lease as engine:`` waits for its turn and holds the engine for the block. A lease is
    entered at most once; ``abandon()`` gives up a place that will not be entered (safe to call
    at any time; a held lease is released by leaving its block, not by abandoning it).
    """

    def __init__(self, queue: EngineQueue, label: str, cancel: CancelToken | None) -> None:
        self._queue = queue
        self.label = label
        self.cancel = cancel
        self.entered = False
        self.finished = False

    def __enter__(self) -> ChatEngine:
        if self.entered:
            raise RuntimeError("a lease is entered once; take a new one for the next turn")
        self.entered = True
        return self._queue._wait_for_turn(self)

    def __exit__(self, *_exc: object) -> None:
        self._queue._release(self)

    def abandon(self) -> None:
        """Leave the line without being served (no-op once entered or finished)."""
        if not self.entered:
            self._queue._withdraw(self)


class EngineQueue:
    """A FIFO line in front of one ``ChatEngine``: one holder at a time, at most ``max_waiting``
    callers waiting behind it.

    Thread-safe. Status callbacks run on the thread that changed the status, with the queue's
    lock held: they must return quickly (post a signal, set a flag) and may read ``status``.
    """

    def __init__(self, engine: ChatEngine, max_waiting: int = 8) -> None:
        if max_waiting < 0:
            raise ValueError(f"max_waiting must be 0 or more, not {max_waiting}")
        self.engine = engine
        self.max_waiting = max_waiting
        self._condition = threading.Condition(threading.RLock())
        self._line: deque[Lease] = deque()
        self._holder: Lease | None = None
        self._held_since = 0.0
        self._recent_turn_s: deque[float] = deque(maxlen=_RECENT_TURNS)
        self._subscribers: list[StatusCallback] = []

    # -- observing ------------------------------------------------------------------------------

    @property
    def status(self) -> QueueStatus:
        with self._condition:
            holder = self._holder
            return QueueStatus(holder is not None, len(self._line),
                               holder.label if holder is not None else None)

    def subscribe(self, callback: StatusCallback) -> Callable[[], None]:
        """Call ``callback(status)`` on every change from now on; returns the unsubscribe function."""
        with self._condition:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._condition:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _changed(self) -> None:
        status = self.status
        for callback in list(self._subscribers):
            callback(status)

    # -- taking turns ---------------------------------------------------------------------------

    def lease(self, cancel: CancelToken | None = None, label: str = "") -> Lease:
        """Reserve the next place in line; enter the returned ``Lease`` to wait for the engine.

        ``cancel`` set while waiting gives up the place (the ``with`` raises ``JobCancelled``).
        Raises ``QueueFullError`` at once when ``max_waiting`` callers already wait behind a
        holder.
        """
        with self._condition:
            occupied = len(self._line) + (self._holder is not None)
            if occupied > self.max_waiting:
                raise QueueFullError(
                    f"the model is busy and {len(self._line)} requests are already waiting; "
                    "try again shortly", self._retry_after_s())
            lease = Lease(self, label, cancel)
            self._line.append(lease)
            self._changed()
            return lease

    def submit(self, start: Callable[[ChatEngine], ChatStream], *,
               cancel: CancelToken | None = None, label: str = "") -> QueuedStream:
        """Reserve a place now (``QueueFullError`` when full) for the turn ``start(engine)``.

        ``start`` is called once the engine is this caller's, typically
        ``lambda engine: engine.stream_chat(conversation, settings, cancel)``; pass the same
        ``cancel`` here so that stopping also gives up a place still waiting.
        """
        return QueuedStream(self.lease(cancel, label), start)

    def _wait_for_turn(self, lease: Lease) -> ChatEngine:
        with self._condition:
            while not (self._holder is None and self._line and self._line[0] is lease):
                if lease.finished:
                    raise RuntimeError("this lease was abandoned; take a new one")
                if lease.cancel is not None and lease.cancel.cancelled:
                    self._withdraw(lease)
                    raise JobCancelled("waiting for the model")
                self._condition.wait(_CANCEL_POLL_S if lease.cancel is not None else None)
            self._line.popleft()
            self._holder = lease
            self._held_since = time.monotonic()
            self._changed()
            return self.engine

    def _release(self, lease: Lease) -> None:
        with self._condition:
            if self._holder is not lease:
                return
            self._recent_turn_s.append(time.monotonic() - self._held_since)
            self._holder = None
            lease.finished = True
            self._condition.notify_all()
            self._changed()

    def _withdraw(self, lease: Lease) -> None:
        with self._condition:
            lease.finished = True
            if lease in self._line:
                self._line.remove(lease)
                self._condition.notify_all()
                self._changed()

    def _retry_after_s(self) -> int:
        """Whole seconds until a place is likely to free: the mean of the recent turns."""
        if not self._recent_turn_s:
            return 1
        return max(1, math.ceil(sum(self._recent_turn_s) / len(self._recent_turn_s)))


class QueuedStream:
    """A turn waiting in an ``EngineQueue``: iterate it (in one thread) to wait for the engine and
    stream ``TokenChunk``s; then read ``result``. ``close()`` gives up the place or stops the
    turn, whichever applies; iteration raises ``JobCancelled`` when cancelled while waiting and
    whatever the engine's stream raises."""

    def __init__(self, lease: Lease, start: Callable[[ChatEngine], ChatStream]) -> None:
        self._lease = lease
        self._stream: ChatStream | None = None
        self._chunks = self._run(start)

    def _run(self, start: Callable[[ChatEngine], ChatStream]) -> Generator[TokenChunk, None, None]:
        with self._lease as engine:
            self._stream = start(engine)
            yield from self._stream

    def __iter__(self) -> Iterator[TokenChunk]:
        return self._chunks

    @property
    def result(self) -> TurnResult:
        """The finished turn; RuntimeError before the stream has been iterated to its end."""
        if self._stream is None:
            raise RuntimeError("the turn has not started: iterate the stream to its end first")
        return self._stream.result

    def close(self) -> None:
        """Give up the place, or abandon the turn in progress (frees the engine)."""
        self._chunks.close()
        self._lease.abandon()

"""The engine queue: one loaded model shared first come, first served, with a bounded line.

Real llama.cpp on the tiny GGUF; each test holds the engine with a lease of its own where it needs
others to wait, so the order of events is decided by the test, not by timing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine, ChatStream
from app.core.engine.turn_queue import EngineQueue, QueueFullError, QueueStatus
from app.core.templates.chat_template import ChatMessage
from foundation.jobs import CancelToken, JobCancelled

QUESTION = [ChatMessage("user", "hello there")]
SHORT = GenerationSettings(temperature=0.0, seed=1, max_new_tokens=4, system_prompt=None)
WAIT_S = 30  # generous bounds for events that happen in milliseconds; never slept through


@pytest.fixture(scope="module")
def engine(tiny_gguf_factory: Callable[..., Path]) -> Iterator[ChatEngine]:
    with ChatEngine(tiny_gguf_factory("bf16"),
                    EngineConfig(n_ctx=256, n_threads=1, n_gpu_layers=0)) as loaded:
        yield loaded


def short_turn(engine: ChatEngine) -> ChatStream:
    return engine.stream_chat(QUESTION, SHORT)


def wait_for(queue: EngineQueue, condition: Callable[[QueueStatus], bool]) -> None:
    """Block until the queue's status satisfies ``condition`` (observed, not polled)."""
    reached = threading.Event()
    unsubscribe = queue.subscribe(lambda status: reached.set() if condition(status) else None)
    try:
        if not condition(queue.status):
            assert reached.wait(WAIT_S), f"queue never reached the state; now {queue.status}"
    finally:
        unsubscribe()


def test_callers_get_the_engine_in_the_order_they_asked(engine: ChatEngine) -> None:
    queue = EngineQueue(engine, max_waiting=4)
    served: list[str] = []
    holder = queue.lease(label="holder")
    with holder:
        leases = [queue.lease(label=name) for name in ("first", "second", "third")]

        def take_turn(lease_index: int) -> None:
            with leases[lease_index] as leased:
                served.append(leases[lease_index].label)
                leased.chat(QUESTION, SHORT)

        # started in reverse: the order of the places counts, not which thread runs first
        threads = [threading.Thread(target=take_turn, args=(index,)) for index in (2, 1, 0)]
        for thread in threads:
            thread.start()
        assert queue.status == QueueStatus(busy=True, waiting=3, holder="holder")
    for thread in threads:
        thread.join(WAIT_S)
    assert served == ["first", "second", "third"]
    assert queue.status == QueueStatus(busy=False, waiting=0, holder=None)


def test_a_full_line_is_refused_at_once_with_a_retry_estimate(engine: ChatEngine) -> None:
    queue = EngineQueue(engine, max_waiting=1)
    with queue.lease(label="holder"):
        waiting = queue.lease(label="waiting")
        with pytest.raises(QueueFullError, match="1 requests are already waiting") as refused:
            queue.lease(label="one too many")
        assert refused.value.retry_after_s >= 1
        waiting.abandon()
        queue.lease(label="now there is room").abandon()


def test_cancelling_a_waiting_caller_gives_up_its_place(engine: ChatEngine) -> None:
    queue = EngineQueue(engine, max_waiting=2)
    cancel = CancelToken()
    outcome: list[BaseException] = []
    with queue.lease(label="holder"):
        waiting = queue.lease(cancel, label="impatient")

        def wait() -> None:
            try:
                with waiting:
                    pass
            except JobCancelled as error:
                outcome.append(error)

        thread = threading.Thread(target=wait)
        thread.start()
        cancel.cancel()
        wait_for(queue, lambda status: status.waiting == 0)
        thread.join(WAIT_S)
        assert len(outcome) == 1
        assert queue.status == QueueStatus(busy=True, waiting=0, holder="holder")


def test_a_queued_stream_streams_then_frees_the_engine(engine: ChatEngine) -> None:
    queue = EngineQueue(engine)
    seen: list[QueueStatus] = []
    queue.subscribe(seen.append)

    stream = queue.submit(short_turn, label="chat")
    chunks = list(stream)

    assert chunks and chunks[-1].token is None
    assert stream.result.metrics.completion_tokens == len(chunks) - 1
    assert QueueStatus(busy=True, waiting=0, holder="chat") in seen
    assert seen[-1] == QueueStatus(busy=False, waiting=0, holder=None)


def test_closing_a_stream_midway_frees_the_engine_for_the_next(engine: ChatEngine) -> None:
    queue = EngineQueue(engine)
    stream = queue.submit(lambda leased: leased.stream_chat(
        QUESTION, GenerationSettings(temperature=0.0, max_new_tokens=64, system_prompt=None)))
    next(iter(stream))
    assert queue.status.busy

    stream.close()

    assert queue.status == QueueStatus(busy=False, waiting=0, holder=None)
    assert list(queue.submit(short_turn))


def test_a_stream_never_started_gives_its_place_back_when_closed(engine: ChatEngine) -> None:
    queue = EngineQueue(engine, max_waiting=0)
    stream = queue.submit(short_turn)
    with pytest.raises(QueueFullError):
        queue.submit(short_turn)

    stream.close()

    assert queue.status == QueueStatus(busy=False, waiting=0, holder=None)
    assert list(queue.submit(short_turn))  # room again, and the engine answers


def test_a_lease_is_entered_once(engine: ChatEngine) -> None:
    queue = EngineQueue(engine)
    lease = queue.lease()
    with lease:
        pass
    with pytest.raises(RuntimeError, match="entered once"), lease:
        pass

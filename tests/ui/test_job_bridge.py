"""The bridge from core jobs to Qt: the work runs off the GUI thread, everything it reports
arrives on the GUI thread in order, cancelling reaches it, and quitting never waits forever."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtWidgets import QWidget

from app.ui.job_bridge import BackgroundJob, JobContext, JobSlot
from foundation.jobs import JobCancelled, Progress
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose  # also prepares Qt for offscreen use


class LoopUntilCancelled:
    """Job work that loops until its job is cancelled, then raises ``JobCancelled``: ``started``
    is set when it begins, ``cleaned_up`` once it has left (however it left)."""

    def __init__(self) -> None:
        self.started, self.cleaned_up = threading.Event(), threading.Event()

    def __call__(self, context: JobContext) -> None:
        self.started.set()
        try:
            while not context.cancel.wait(0.01):
                pass
            context.cancel.raise_if_cancelled("looping")
        finally:
            self.cleaned_up.set()



def test_items_progress_and_the_result_arrive_on_the_gui_thread_in_order(qapp: Any) -> None:
    gui_thread = threading.get_ident()
    seen: list[tuple[str, object, bool]] = []

    def work(context: JobContext) -> str:
        assert threading.get_ident() != gui_thread
        for index in range(50):
            context.emit(index)
        context.progress(Progress("counting", 50, 50, "items"))
        return "done"

    def note(kind: str) -> Any:
        return lambda value: seen.append((kind, value, threading.get_ident() == gui_thread))

    job = BackgroundJob(None, work, "count")
    job.on_item(note("item")).on_progress(note("progress")).on_success(note("success")).start()
    wait_until(lambda: not job.running, 10, "the job to end")
    assert [value for kind, value, _ in seen if kind == "item"] == list(range(50))
    assert [kind for kind, _, _ in seen][-2:] == ["progress", "success"]
    assert seen[-1][1] == "done"
    assert all(on_gui for _, _, on_gui in seen)


def test_a_failing_job_reports_its_exception(qapp: Any) -> None:
    failures: list[BaseException] = []

    def work(_context: JobContext) -> None:
        raise ValueError("broken input")

    job = BackgroundJob(None, work, "fail").on_failure(failures.append).start()
    wait_until(lambda: failures, 10, "the failure")
    assert isinstance(failures[0], ValueError) and not job.running


def test_cancel_reaches_the_work_through_its_token(qapp: Any) -> None:
    failures: list[BaseException] = []
    work = LoopUntilCancelled()
    job = BackgroundJob(None, work, "cancel").on_failure(failures.append).start()
    work.started.wait(5)
    job.cancel()
    wait_until(lambda: failures, 10, "the cancellation")
    assert isinstance(failures[0], JobCancelled)


def test_waiting_for_a_finished_job_returns_even_when_its_result_was_never_delivered(
        qapp: Any) -> None:
    job = BackgroundJob(None, lambda _context: 42, "quiet").start()
    assert job.wait(5000), "the thread ended by itself without the GUI's help"
    BackgroundJob.cancel_and_wait_all()


def test_a_job_starts_only_once(qapp: Any) -> None:
    job = BackgroundJob(None, lambda _context: None, "once").start()
    with pytest.raises(RuntimeError, match="already started"):
        job.start()
    wait_until(lambda: not job.running, 10)


def test_stop_returns_after_the_work_has_cleaned_up(qapp: Any) -> None:
    work = LoopUntilCancelled()
    job = BackgroundJob(None, work, "stop").start()
    assert work.started.wait(10)
    job.stop()
    assert work.cleaned_up.is_set()
    job.stop()  # a second stop, or one after the end, does nothing


def test_a_flood_of_progress_reaches_the_gui_thinned_with_its_last_report(qapp: Any) -> None:
    delivered: list[Progress] = []

    def work(context: JobContext) -> None:
        for done in range(1, 20_001):  # a download reporting per network chunk
            context.progress(Progress("download", done, 20_000, "bytes"))

    job = BackgroundJob(None, work, "flood").on_progress(delivered.append).start()
    wait_until(lambda: not job.running, 30, "the job to end")
    assert delivered[0].done == 1 and delivered[-1].done == 20_000  # first and last arrive
    assert len(delivered) < 200


def test_a_delivered_job_lets_go_of_its_work_and_leaves_its_owner(qapp: Any) -> None:
    """A window runs a job per reply, per library listing, per download: a finished job must not
    stay behind, nor hold its function (and what that captured)."""
    owner = QObject()

    class Captured:
        """Stands for what a job's function holds: a conversation, a loaded file."""

    references, job_references, results = [], [], []
    for index in range(20):
        captured = Captured()
        references.append(weakref.ref(captured))
        job = BackgroundJob(owner, lambda _context, held=captured: id(held), f"job {index}")
        job.on_success(results.append).start()
        job_references.append(weakref.ref(job))
        del captured
        wait_until(lambda job=job: not job.running, 10, "the job to end")
    wait_until(lambda: len(results) == 20, 10, "every result")
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    assert [reference() for reference in job_references[:-1]] == [None] * 19  # the last is kept
    assert [reference() for reference in references] == [None] * 20
    # A caller that kept its job can still ask about it and stop it.
    assert not job.running and job.wait(100)
    job.cancel()
    job.stop()
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_a_job_whose_owner_is_deleted_while_it_runs_is_abandoned_and_stops_counting(
        qapp: Any) -> None:
    """A dialog closed (and deleted) while its job runs: the job is cancelled, nothing reaches
    the deleted owner, and once its thread has ended the job is no longer in flight."""
    owner = QWidget()
    started = threading.Event()
    saw_cancel: list[bool] = []
    heard: list[object] = []

    def work(context: JobContext) -> str:
        started.set()
        saw_cancel.append(context.cancel.wait(10))
        return "late result"

    job = BackgroundJob(owner, work, "owner deleted mid-job")
    job.on_success(heard.append).on_failure(heard.append).start()
    assert started.wait(10) and job.name in BackgroundJob.names_in_flight()
    dispose(owner)
    assert job.wait(15_000), "the work ended"
    wait_until(lambda: job.name not in BackgroundJob.names_in_flight(), 10,
               "the job to stop counting once its thread ended")
    assert saw_cancel == [True] and heard == [] and not job.running


# -- the job slot: one current job, superseded ones never heard from ----------------------------


class Heard:
    """What reached the owner of a slot, as (job name, kind of report, value)."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, str, object]] = []

    def job(self, name: str, work: Any) -> BackgroundJob:
        job = BackgroundJob(None, work, name)
        for kind, register in (("item", job.on_item), ("progress", job.on_progress),
                               ("success", job.on_success), ("failure", job.on_failure)):
            register(lambda value, kind=kind: self.reports.append((name, kind, value)))
        job.finished.connect(lambda: self.reports.append((name, "finished", None)))
        return job

    def names(self) -> set[str]:
        return {name for name, _kind, _value in self.reports}


def test_a_job_superseded_on_its_slot_never_reaches_the_owner_and_the_new_one_does(
        qapp: Any) -> None:
    heard, slot = Heard(), JobSlot()
    go_on = threading.Event()

    def old_work(context: JobContext) -> str:
        go_on.wait(10)  # ignores the cancel, as work past its last safe point does
        context.emit("old item")
        context.progress(Progress("reading", 1, 1, "items"))
        return "old result"

    def new_work(context: JobContext) -> str:
        context.emit("new item")
        return "new result"

    old = slot.start(heard.job("old", old_work))
    new = slot.start(heard.job("new", new_work))
    assert old.cancel_token.cancelled and slot.job is new
    go_on.set()
    wait_until(lambda: not old.running and not new.running, 10, "both jobs to end")
    assert heard.names() == {"new"}
    assert [kind for _name, kind, _value in heard.reports] == ["item", "success", "finished"]


def test_a_result_already_waiting_in_the_event_loop_is_dropped_when_its_job_is_superseded(
        qapp: Any) -> None:
    heard, slot = Heard(), JobSlot()
    old = slot.start(heard.job("old", lambda _context: "old result"))
    assert old.wait(5000)  # the result is queued; the event loop has not delivered it
    new = slot.start(heard.job("new", lambda _context: "new result"))
    wait_until(lambda: not old.running and not new.running, 10, "both jobs to end")
    assert heard.reports == [("new", "success", "new result"), ("new", "finished", None)]


def test_cancelling_the_slots_job_still_reports_how_it_ended(qapp: Any) -> None:
    heard, slot, work = Heard(), JobSlot(), LoopUntilCancelled()
    slot.start(heard.job("loop", work))
    assert work.started.wait(10) and slot.running
    slot.cancel()
    wait_until(lambda: not slot.running, 10, "the cancellation")
    kinds = [(kind, type(value)) for _name, kind, value in heard.reports]
    assert kinds == [("failure", JobCancelled), ("finished", type(None))]


def test_abandoning_waits_for_the_clean_up_and_nothing_is_reported(qapp: Any) -> None:
    heard, slot, work = Heard(), JobSlot(), LoopUntilCancelled()
    job = slot.start(heard.job("loop", work))
    assert work.started.wait(10)
    assert slot.abandon(wait=True)
    assert work.cleaned_up.is_set() and slot.job is None and not slot.running
    wait_until(lambda: not job.running, 10, "the abandoned job's end to be delivered")
    assert heard.reports == []
    assert not slot.abandon(wait=True)  # nothing left to abandon

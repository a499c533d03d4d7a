"""The one bridge between core jobs and Qt: run a job off the GUI thread, get Qt signals back.

Modelled on Anki's ``aqt.operations``: a widget builds a ``BackgroundJob`` around a plain function,
says what should happen on success, failure, progress and streamed items, and starts it. No widget
creates threads. The function runs on its own ``QThread`` (a worker object moved onto it, as Qt's
examples do) and receives a ``JobContext``: ``context.cancel`` (a ``foundation.jobs.CancelToken``),
``context.progress`` (a ``foundation.jobs.ProgressCallback``) and ``context.emit`` for items such as
streamed tokens. Callbacks always run on the GUI thread, in the order the job produced them::

    BackgroundJob(self, lambda context: ChatEngine(path, config), "load model")
        .on_success(self._engine_loaded).on_failure(self._show_error).start()

A job's failure is any exception; ``JobCancelled`` reaches ``on_failure`` like the others. A job
whose owner (its first argument) is deleted while it runs is abandoned: cancelled, and nothing
more is delivered from it.

A widget that runs one job of a kind at a time (a checkpoint reading, a catalog refresh, a build)
holds it in a ``JobSlot``: starting a job on the slot abandons the one before it (cancelled, and
nothing it reports later is delivered), so no widget checks whether a late report is still
wanted::

    self._reading = JobSlot(self)
    ...
    self._reading.start(BackgroundJob(self, read, "read checkpoint").on_success(self._read))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from foundation.jobs import CancelToken, Progress

PROGRESS_INTERVAL_S = 0.05  # 20 progress reports a second at most reach the GUI thread


class JobContext:
    """What a job function gets: the cancel token and the ways to report back (any thread)."""

    def __init__(self, worker: _Worker, cancel: CancelToken) -> None:
        self._worker = worker
        self.cancel = cancel
        self._last_progress: tuple[float, str] = (float("-inf"), "")  # (when sent, stage)

    def progress(self, progress: Progress) -> None:
        """Report progress; delivered to ``on_progress`` on the GUI thread. A job may report per
        network chunk (thousands a second): reports closer than ``PROGRESS_INTERVAL_S`` are
        dropped, except a stage's first and a job's last, as only the latest is drawn."""
        now = time.monotonic()
        sent_at, stage = self._last_progress
        complete = progress.total > 0 and progress.done >= progress.total
        if progress.stage == stage and not complete and now - sent_at < PROGRESS_INTERVAL_S:
            return
        self._last_progress = (now, progress.stage)
        self._worker.progressed.emit(progress)

    def emit(self, item: object) -> None:
        """Hand an item (a streamed token, a log line) to ``on_item`` on the GUI thread."""
        self._worker.item.emit(item)


class _Worker(QObject):
    """Runs the job function on the worker thread and reports through queued signals."""

    progressed = Signal(object)
    item = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Callable[[JobContext], Any], cancel: CancelToken) -> None:
        super().__init__()
        self._work = work
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            result = self._work(JobContext(self, self._cancel))
        except BaseException as error:  # a job's failure of any kind goes to on_failure
            self.failed.emit(error)
        else:
            self.succeeded.emit(result)


class BackgroundJob(QObject):
    """One run of a function off the GUI thread (see the module docstring).

    ``owner`` is the object the job reports to (None: nobody in particular). Register callbacks
    before ``start``; each returns the job for chaining. ``finished`` is emitted after
    ``on_success``/``on_failure`` ran, when the thread has stopped. Then the job lets go of its
    function, callbacks, worker and thread, and Qt deletes it (``deleteLater``): an owner running a
    job per reply does not keep them all. A reference kept to a finished job still answers
    ``running``, ``wait``, ``cancel`` and ``stop``; its Qt signals are gone. When ``owner`` is
    deleted first, the job is abandoned (``abandon``) and let go of the same way once its thread
    has ended.
    """

    finished = Signal()
    _running_jobs: ClassVar[set[BackgroundJob]] = set()  # keeps jobs alive while their thread runs

    def __init__(self, owner: QObject | None, work: Callable[[JobContext], Any],
                 name: str = "job") -> None:
        # Not the owner's Qt child: deleting the owner would delete the job under its running
        # thread, and the job would never get its outcome, so it would never be released.
        super().__init__()
        if owner is not None:
            owner.destroyed.connect(self.abandon)
        self.name = name
        self.cancel_token = CancelToken()
        self._work: Callable[[JobContext], Any] | None = work
        self._success: list[Callable[[Any], None]] = []
        self._failure: list[Callable[[BaseException], None]] = []
        self._progress: list[Callable[[Progress], None]] = []
        self._items: list[Callable[[Any], None]] = []
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._started = False
        self._done = False
        self._abandoned = False

    def on_success(self, callback: Callable[[Any], None]) -> BackgroundJob:
        self._success.append(callback)
        return self

    def on_failure(self, callback: Callable[[BaseException], None]) -> BackgroundJob:
        self._failure.append(callback)
        return self

    def on_progress(self, callback: Callable[[Progress], None]) -> BackgroundJob:
        self._progress.append(callback)
        return self

    def on_item(self, callback: Callable[[Any], None]) -> BackgroundJob:
        self._items.append(callback)
        return self

    @property
    def running(self) -> bool:
        return self._started and not self._done

    def start(self) -> BackgroundJob:
        """Start the function on a new worker thread; returns at once. RuntimeError if started
        twice."""
        if self._started:
            raise RuntimeError(f"the {self.name} job was already started")
        self._started = True
        assert self._work is not None  # released only after a run
        thread = QThread()
        thread.setObjectName(f"job: {self.name}")
        worker = _Worker(self._work, self.cancel_token)
        worker.moveToThread(thread)
        worker.progressed.connect(self._deliver_progress)
        worker.item.connect(self._deliver_item)
        worker.succeeded.connect(self._deliver_success)
        worker.failed.connect(self._deliver_failure)
        # The thread ends as soon as the function returns, even if the GUI never delivers the
        # result (on quit), so waiting for it cannot hang.
        worker.succeeded.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        BackgroundJob._running_jobs.add(self)
        thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point (its function decides where)."""
        self.cancel_token.cancel()

    @Slot()
    def abandon(self) -> None:
        """Cancel the job and deliver nothing more from it: no item, progress, success, failure
        or ``finished``, even those already waiting in the event loop. Its thread still runs to
        its end (``wait`` for it) and the job is released as any other."""
        self._abandoned = True
        self.cancel()

    def stop(self) -> None:
        """Cancel the job if it is running and wait until its thread has ended (its clean-up,
        such as removing partial files, done)."""
        if self.running:
            self.cancel()
            self.wait()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the worker thread has ended (for shutdown); True when it has."""
        if self._thread is None:
            return True
        return self._thread.wait() if timeout_ms < 0 else self._thread.wait(timeout_ms)

    @classmethod
    def names_in_flight(cls) -> list[str]:
        """The names of the jobs in flight, sorted: a job counts from ``start`` until its outcome
        has been delivered (or dropped, for an abandoned job) on the GUI thread. Empty when no
        job runs or has an outcome waiting for the GUI thread. GUI thread only."""
        return sorted(job.name for job in cls._running_jobs)

    @classmethod
    def cancel_and_wait_all(cls) -> None:
        """Cancel every running job and wait for their threads (on quit: Qt aborts the process
        when a thread object is destroyed while its thread still runs)."""
        for job in list(cls._running_jobs):
            job.cancel()
        for job in list(cls._running_jobs):
            job.wait()
            cls._running_jobs.discard(job)

    @Slot(object)
    def _deliver_progress(self, progress: Progress) -> None:
        self._tell(self._progress, progress)

    @Slot(object)
    def _deliver_item(self, item: object) -> None:
        self._tell(self._items, item)

    @Slot(object)
    def _deliver_success(self, result: object) -> None:
        self._finish(self._success, result)

    @Slot(object)
    def _deliver_failure(self, error: BaseException) -> None:
        self._finish(self._failure, error)

    def _finish(self, callbacks: list[Callable[[Any], None]], outcome: object) -> None:
        self._end()
        try:
            self._tell(callbacks, outcome)
            if not self._abandoned:
                self.finished.emit()
        finally:
            self._release()

    def _tell(self, callbacks: list[Callable[[Any], None]], value: object) -> None:
        """Call each of ``callbacks`` with ``value``, unless the job was abandoned."""
        if not self._abandoned:
            for callback in callbacks:
                callback(value)

    def _end(self) -> None:
        self._done = True
        assert self._thread is not None
        self._thread.quit()
        self._thread.wait()
        BackgroundJob._running_jobs.discard(self)

    def _release(self) -> None:
        # The thread has ended (``_end``): the worker and thread objects can go from here, and
        # the job itself once control is back in the event loop.
        self._work = None
        self._worker = None
        self._thread = None
        for callbacks in (self._success, self._failure, self._progress, self._items):
            callbacks.clear()
        self.deleteLater()


class JobSlot(QObject):
    """Holds the one current job of a kind for its owner (see the module docstring).

    ``start(job)`` starts ``job`` as the current one and abandons the job it replaces
    (``BackgroundJob.abandon``): a superseded job's late reports never reach the owner, while
    the current job's all do. ``cancel`` and ``stop`` act on the current job, whose outcome is
    still delivered (a cancelled job's ``JobCancelled`` reaches ``on_failure``); ``abandon`` lets
    the current job go without a word. GUI thread only.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: BackgroundJob | None = None

    @property
    def job(self) -> BackgroundJob | None:
        """The current job: the last one started and not abandoned (it may have ended)."""
        return self._job

    @property
    def running(self) -> bool:
        """True while the current job runs (until its outcome is delivered)."""
        return self._job is not None and self._job.running

    def start(self, job: BackgroundJob) -> BackgroundJob:
        """Abandon the current job, if any, and start ``job`` (callbacks registered) in its
        place; returns ``job``."""
        self.abandon()
        self._job = job.start()
        return job

    def cancel(self) -> None:
        """Ask the current job to stop; it still reports how it ended."""
        if self._job is not None:
            self._job.cancel()

    def stop(self) -> None:
        """Cancel the current job and wait until its thread has ended (its clean-up done); its
        outcome is still delivered through the event loop."""
        if self._job is not None:
            self._job.stop()

    def abandon(self, wait: bool = False) -> bool:
        """Let the current job go: cancelled, and nothing more from it is delivered; with
        ``wait``, return only once its thread has ended (its clean-up done). True when a running
        job was abandoned."""
        job, self._job = self._job, None
        if job is None or not job.running:
            return False
        job.abandon()
        if wait:
            job.wait()
        return True

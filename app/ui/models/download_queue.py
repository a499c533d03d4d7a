"""The app's downloads: started from the model manager, running in the background whatever window
is open, paused, resumed, cancelled, and resumed at the next start when the app was closed.

Each download is a ``DownloadItem`` whose ``changed`` signal carries its state, bytes, speed and
time left (measured, ``foundation.job_rate``). The work is ``app.core.hub.download``'s job run through
the one job bridge. Pausing stops the transfer and keeps the partial file; cancelling deletes it;
closing the app stops it like a pause, and ``resume_pending`` on the next start continues every
download that was running (``app.core.hub.pending_downloads`` remembers them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.hub.client import HubConfig
from app.core.hub.download import DownloadPlan, discard_partials, plan_download, run_download
from app.core.hub.pending_downloads import DownloadRequest, PendingDownloads
from app.core.installation.paths import app_paths
from app.core.library.model_library import Library, ModelEntry
from app.ui.job_bridge import BackgroundJob, JobContext
from foundation.job_rate import RateMeter
from foundation.jobs import JobCancelled, Progress

QUEUED, RUNNING, PAUSED, FAILED, DONE, CANCELLED = (
    "queued", "running", "paused", "failed", "done", "cancelled")


class DownloadItem(QObject):
    """One download and where it stands. GUI thread only."""

    changed = Signal(object)  # self

    def __init__(self, request: DownloadRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.state = QUEUED
        self.done_bytes = 0
        self.total_bytes = 0
        self.error = ""
        self.entry: ModelEntry | None = None
        self.plan: DownloadPlan | None = None
        self.rate = RateMeter(window_s=8.0)
        self.job: BackgroundJob | None = None
        self._cancel_requested = False

    @property
    def name(self) -> str:
        if self.plan is not None:
            return self.plan.name
        return self.request.filename or (f"{self.request.repo_id} {self.request.quant.upper()}"
                                         if self.request.quant else self.request.repo_id)

    @property
    def fraction(self) -> float | None:
        return self.done_bytes / self.total_bytes if self.total_bytes else None

    def bytes_per_second(self) -> float | None:
        return self.rate.rate()

    def seconds_left(self) -> float | None:
        return self.rate.seconds_left()


class DownloadQueue(QObject):
    """All downloads of the app (see the module docstring).

    ``library_setting`` returns the library-location setting, ``hub_config`` the hub to use;
    both are asked when a download starts, so changed settings apply to the next one.
    """

    item_added = Signal(object)
    model_added = Signal(object)  # a ModelEntry, when a download finished

    def __init__(self, library_setting: Callable[[], str], hub_config: Callable[[], HubConfig],
                 pending: PendingDownloads | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library_setting = library_setting
        self._hub_config = hub_config
        self.pending = pending or PendingDownloads()
        self.items: list[DownloadItem] = []

    def find(self, request: DownloadRequest) -> DownloadItem | None:
        return next((item for item in self.items if item.request.key == request.key), None)

    def start(self, request: DownloadRequest) -> DownloadItem:
        """Start (or resume) downloading ``request``; a running one of the same request is
        returned as it is. A finished one runs again: its model may have been removed since
        (when it is still in the library, the download ends at once with it)."""
        item = self.find(request)
        if item is None:
            item = DownloadItem(request, self)
            self.items.append(item)
            self.item_added.emit(item)
        if item.state == RUNNING:
            return item
        self.pending.remember(request)
        self._run(item)
        return item

    def pause(self, item: DownloadItem) -> None:
        """Stop the transfer, keeping what arrived for a later resume."""
        if item.job is not None and item.job.running:
            self.pending.set_paused(item.request, True)
            item.job.cancel()

    def resume(self, item: DownloadItem) -> None:
        self.start(item.request)

    def cancel(self, item: DownloadItem) -> None:
        """Stop and delete what arrived; the download is forgotten."""
        self.pending.forget(item.request)
        item._cancel_requested = True
        if item.job is not None and item.job.running:
            item.job.cancel()
        else:
            self._discard(item)

    def resume_pending(self) -> list[DownloadItem]:
        """Show every remembered download and continue those that were not paused (on start)."""
        resumed = []
        for pending in self.pending.items():
            if self.find(pending.request) is not None:
                continue
            if pending.paused:
                item = DownloadItem(pending.request, self)
                item.state = PAUSED
                self.items.append(item)
                self.item_added.emit(item)
            else:
                resumed.append(self.start(pending.request))
        return resumed

    # -- the job --------------------------------------------------------------------------------

    def _run(self, item: DownloadItem) -> None:
        setting, config, request = self._library_setting(), self._hub_config(), item.request
        item.state, item.error, item._cancel_requested = RUNNING, "", False
        item.rate.reset()

        def work(context: JobContext) -> ModelEntry:
            with Library.open_default(setting or None) as library:
                plan = plan_download(library, config, repo_id=request.repo_id,
                                     quant=request.quant, filename=request.filename,
                                     build_quant=request.build_quant,
                                     cache_file=app_paths().catalog_cache_file)
                context.emit(plan)
                return run_download(plan, library, config, on_progress=context.progress,
                                    cancel=context.cancel)

        job = BackgroundJob(self, work, f"download {request.repo_id}")
        job.on_item(lambda plan: self._planned(item, plan))
        job.on_progress(lambda progress: self._progressed(item, progress))
        job.on_success(lambda entry: self._succeeded(item, entry))
        job.on_failure(lambda error: self._failed(item, error))
        item.job = job
        job.start()
        item.changed.emit(item)

    def _planned(self, item: DownloadItem, plan: DownloadPlan) -> None:
        item.plan = plan
        item.total_bytes = plan.total_bytes
        item.done_bytes = plan.resumable_bytes
        item.changed.emit(item)

    def _progressed(self, item: DownloadItem, progress: Progress) -> None:
        item.done_bytes, item.total_bytes = progress.done, progress.total or item.total_bytes
        item.rate.observe(progress.done, progress.total)
        item.changed.emit(item)

    def _succeeded(self, item: DownloadItem, entry: ModelEntry) -> None:
        item.state, item.entry, item.job = DONE, entry, None
        item.done_bytes = item.total_bytes
        self.pending.forget(item.request)
        item.changed.emit(item)
        self.model_added.emit(entry)

    def _failed(self, item: DownloadItem, error: BaseException) -> None:
        item.job = None
        if item._cancel_requested:
            self._discard(item)
            return
        if isinstance(error, JobCancelled):
            item.state = PAUSED
        else:
            item.state, item.error = FAILED, str(error) or type(error).__name__
        item.changed.emit(item)

    def _discard(self, item: DownloadItem) -> None:
        if item.plan is not None:
            discard_partials(item.plan)
        item.state = CANCELLED
        item.changed.emit(item)

    def stop_all(self) -> None:
        """Stop every running download keeping partials and the pending list (on quit: they
        resume at the next start)."""
        for item in self.items:
            if item.job is not None and item.job.running:
                item.job.cancel()
        for item in self.items:
            if item.job is not None:
                item.job.wait()

    def describe(self) -> list[dict[str, Any]]:
        """The downloads' states, for tests and diagnostics."""
        return [{"name": item.name, "state": item.state, "done": item.done_bytes,
                 "total": item.total_bytes, "error": item.error} for item in self.items]

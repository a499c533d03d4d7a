"""The model manager, offscreen, on real files and the stand-in hub: the library list (import by
dialog path and by drag and drop, verify, remove, measured quality), "Get models" (hub sizes, fit
badges, the recommendation, downloads with progress, pause, resume, cancel, and resume at the next
start) and "Build" (from a library checkpoint, the disk needed shown, cancel mid-build)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.hub.client import HubConfig
from app.core.hub.pending_downloads import DownloadRequest, PendingDownloads
from app.core.library.model_library import Library, ModelStatus
from app.core.local_build.build_job import plan_build
from app.ui.formats import size_text
from app.ui.models.build_tab import BuildTab
from app.ui.models.download_queue import CANCELLED, DONE, PAUSED, RUNNING, DownloadItem, DownloadQueue
from app.ui.models.model_manager import ModelManager
from quant.evaluate import sidecar_path
from tests.support.app_setup_support import CHECKPOINT_REPO, GGUF_REPO, files_under
from tests.support.local_hub import LocalHub
from tests.support.qt_wait import wait_until


@pytest.fixture
def queue_factory(app_home: Path) -> Iterator[Callable[..., DownloadQueue]]:
    made: list[DownloadQueue] = []

    def make(hub: LocalHub | None) -> DownloadQueue:
        config = HubConfig(endpoint=hub.endpoint) if hub is not None else HubConfig(offline=True)
        queue = DownloadQueue(lambda: "", lambda: config, PendingDownloads())
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.stop_all()


@pytest.fixture
def manager_factory(qtbot: object, queue_factory: Callable[..., DownloadQueue]
                    ) -> Callable[..., ModelManager]:
    def make(hub: LocalHub | None = None, queue: DownloadQueue | None = None) -> ModelManager:
        queue = queue or queue_factory(hub)
        config = HubConfig(endpoint=hub.endpoint) if hub is not None else HubConfig(offline=True)
        manager = ModelManager(queue, lambda: "", lambda: config, lambda: 2048)
        qtbot.addWidget(manager)  # type: ignore[attr-defined]
        manager.show()
        return manager

    return make


def slow_download_under_way(queue: DownloadQueue, hub: LocalHub, quant: str) -> DownloadItem:
    """Start downloading ``quant`` of the GGUF repository from ``hub``, slowed down (until the
    test lifts it with ``hub.throttle(None)``), and return once its first bytes have arrived."""
    hub.throttle(150_000)
    item = queue.start(DownloadRequest(GGUF_REPO, quant=quant))
    wait_until(lambda: item.done_bytes > 0)
    return item


def iq3_s_build_under_way(manager: ModelManager) -> BuildTab:
    """Start building IQ3_S from the library's checkpoint on ``manager``'s Build tab; returns the
    tab once the build is computing its importance matrix."""
    tab = manager.build_tab
    wait_until(lambda: "iq3_s" in tab.table.row_names())
    tab.choose(["iq3_s"])
    assert tab.start_build()
    wait_until(lambda: "importance matrix" in tab.progress.detail_label.text(), 60)
    return tab


def library_models(app_home: Path) -> list:
    with Library(app_home / "library") as library:
        return library.models()


def column(manager: ModelManager, index: int) -> list[str]:
    table = manager.library_tab.table
    return [table.item(row, index).text() for row in range(table.rowCount())]


# -- the library --------------------------------------------------------------------------------


def test_imports_are_listed_with_quant_size_source_and_state(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        tiny_gguf_factory: Callable[..., Path], tiny_checkpoint: Path, app_home: Path) -> None:
    manager = manager_factory()
    tab = manager.library_tab
    assert tab.import_paths([tiny_gguf_factory("q8_0")])
    wait_until(lambda: tab.table.rowCount() == 1 and not tab.busy)
    assert tab.import_paths([tiny_checkpoint])
    wait_until(lambda: tab.table.rowCount() == 2 and not tab.busy)
    assert column(manager, 1) == ["Q8_0", "BF16"]
    assert all("KB" in size or "MB" in size for size in column(manager, 2))
    assert all(source.startswith("imported from /") for source in column(manager, 3))
    assert column(manager, 4) == ["verified", "verified"]
    assert "near-lossless" in column(manager, 5)[0]


def test_files_dropped_on_the_list_are_imported(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        tiny_gguf_factory: Callable[..., Path], app_home: Path) -> None:
    manager = manager_factory()
    tab = manager.library_tab
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(tiny_gguf_factory("q8_0"))),
                  QUrl.fromLocalFile(str(app_home / "notes.txt"))])
    event = QDropEvent(QPointF(QPoint(20, 20)), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    tab.dropEvent(event)
    wait_until(lambda: tab.table.rowCount() == 1 and not tab.busy)
    assert [m.quant_label for m in library_models(app_home)] == ["Q8_0"]


def test_verify_finds_a_damaged_file_and_remove_deletes_it(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        tiny_gguf_factory: Callable[..., Path], app_home: Path) -> None:
    manager = manager_factory()
    tab = manager.library_tab
    tab.import_paths([tiny_gguf_factory("q8_0")])
    wait_until(lambda: tab.table.rowCount() == 1 and not tab.busy)
    entry = library_models(app_home)[0]
    with entry.path.open("r+b") as handle:  # same size, other bytes
        handle.seek(entry.size_bytes - 10)
        handle.write(b"0123456789")
    assert tab.verify(entry.id)
    wait_until(lambda: not tab.busy and column(manager, 4) == ["damaged"])
    assert library_models(app_home)[0].status is ModelStatus.CORRUPT
    assert "no longer match" in tab.progress.detail_label.text()
    assert tab.remove(entry.id)
    wait_until(lambda: not tab.busy and tab.table.rowCount() == 0)
    assert not entry.path.exists()


def test_a_measured_quality_is_shown_instead_of_the_estimate(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        tiny_gguf_factory: Callable[..., Path], app_home: Path) -> None:
    with Library(app_home / "library") as library:
        entry = library.import_path(tiny_gguf_factory("q8_0"))
    sidecar_path(entry.path).write_text(json.dumps({"kld_mean": 0.0123}))
    manager = manager_factory()
    wait_until(lambda: manager.library_tab.table.rowCount() == 1)
    assert "measured KLD 0.0123" in column(manager, 5)[0]


def test_use_this_model_asks_the_window_to_load_it(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        tiny_gguf_factory: Callable[..., Path], app_home: Path) -> None:
    with Library(app_home / "library") as library:
        entry = library.import_path(tiny_gguf_factory("q8_0"))
    manager = manager_factory()
    tab = manager.library_tab
    wait_until(lambda: tab.table.rowCount() == 1)
    asked: list[str] = []
    manager.use_requested.connect(asked.append)
    tab.table.selectRow(0)
    tab.use_button.click()
    assert asked == [entry.id]


# -- getting models -----------------------------------------------------------------------------


def test_the_catalog_shows_hub_sizes_fit_and_the_recommendation(
        qtbot: object, fin_r1_hub: LocalHub, manager_factory: Callable[..., ModelManager]) -> None:
    manager = manager_factory(fin_r1_hub)
    manager.tabs.setCurrentWidget(manager.get_tab)
    table = manager.get_tab.table
    wait_until(lambda: table.row_names() == ["f16", "q8_0", "q4_k_m"]
               and "≈" not in table.item(0, 1).text())
    assert table.recommended is not None
    recommended_row = table.row_names().index(table.recommended.name)
    assert "recommended" in table.item(recommended_row, 0).text()
    assert [quant.name for quant in table.chosen()] == [table.recommended.name]
    assert all(table.item(row, 2).text() in ("fits in RAM", "fits in GPU memory")
               for row in range(table.rowCount()))


def test_a_download_shows_progress_and_lands_in_the_library(
        qtbot: object, fin_r1_hub: LocalHub, manager_factory: Callable[..., ModelManager],
        app_home: Path) -> None:
    manager = manager_factory(fin_r1_hub)
    tab = manager.get_tab
    manager.tabs.setCurrentWidget(tab)
    wait_until(lambda: "q8_0" in tab.table.row_names())
    tab.table.choose(["q8_0"])
    fin_r1_hub.throttle(400_000)
    item = tab.download_chosen()
    assert item is not None
    row = tab.rows()[0]
    wait_until(lambda: item.state == RUNNING and 0 < item.done_bytes < item.total_bytes)
    wait_until(lambda: "/s" in row.detail_label.text() and "left" in row.detail_label.text(),
               20)
    fin_r1_hub.throttle(None)
    wait_until(lambda: item.state == DONE)
    assert "in the library" in row.detail_label.text()
    wait_until(lambda: manager.library_tab.table.rowCount() == 1)
    assert PendingDownloads().items() == []


def test_pause_keeps_the_partial_resume_finishes_cancel_deletes(
        qtbot: object, fin_r1_hub: LocalHub, queue_factory: Callable[..., DownloadQueue],
        app_home: Path) -> None:
    queue = queue_factory(fin_r1_hub)
    item = slow_download_under_way(queue, fin_r1_hub, "f16")
    queue.pause(item)
    wait_until(lambda: item.state == PAUSED)
    partials = files_under(app_home / "library" / "downloads")
    assert any(path.name.endswith(".part") for path in partials)
    assert PendingDownloads().items()[0].paused
    fin_r1_hub.throttle(None)
    queue.resume(item)
    wait_until(lambda: item.state == DONE)
    assert [m.quant_label for m in library_models(app_home)] == ["F16"]

    other = slow_download_under_way(queue, fin_r1_hub, "q8_0")
    queue.cancel(other)
    wait_until(lambda: other.state == CANCELLED)
    assert not [p for p in files_under(app_home / "library" / "downloads")
                if p.suffix in (".part", ".json")]
    assert PendingDownloads().items() == []


def test_a_download_interrupted_by_closing_the_app_resumes_at_the_next_start(
        qtbot: object, fin_r1_hub: LocalHub, queue_factory: Callable[..., DownloadQueue],
        app_home: Path) -> None:
    first_run = queue_factory(fin_r1_hub)
    slow_download_under_way(first_run, fin_r1_hub, "f16")
    first_run.stop_all()  # the app closes
    assert [pending.request.quant for pending in PendingDownloads().items()] == ["f16"]
    fin_r1_hub.clear_log()
    fin_r1_hub.throttle(None)
    next_run = queue_factory(fin_r1_hub)
    (resumed,) = next_run.resume_pending()
    wait_until(lambda: resumed.state == DONE)
    ranges = [record.range for record in fin_r1_hub.content_gets("Fin-R1.F16.gguf")
              if record.server == "cdn"]
    assert ranges and all(r is not None and r.startswith("bytes=") and r != "bytes=0-"
                          for r in ranges)
    assert [m.quant_label for m in library_models(app_home)] == ["F16"]


def test_the_original_checkpoint_can_be_downloaded_for_building(
        qtbot: object, fin_r1_hub: LocalHub, manager_factory: Callable[..., ModelManager],
        app_home: Path) -> None:
    manager = manager_factory(fin_r1_hub)
    item = manager.get_tab.download_checkpoint()
    wait_until(lambda: item.state == DONE)
    assert [m.source["repo"] for m in library_models(app_home)] == [CHECKPOINT_REPO]
    wait_until(lambda: manager.build_tab.source_box.count() == 1)


# -- building -----------------------------------------------------------------------------------


@pytest.fixture
def checkpoint_in_library(app_home: Path, tiny_checkpoint: Path) -> Path:
    with Library(app_home / "library") as library:
        return library.import_path(tiny_checkpoint).path


def test_a_build_from_a_library_checkpoint_adds_the_checked_types(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        checkpoint_in_library: Path, app_home: Path) -> None:
    manager = manager_factory()
    tab = manager.build_tab
    manager.tabs.setCurrentWidget(tab)
    wait_until(lambda: "q8_0" in tab.table.row_names())
    tab.choose(["q8_0", "q4_k_m"])
    assert not tab.imatrix_box.isChecked()
    assert "Needs" in tab.disk_label.text() and "free" in tab.disk_label.text()
    built: list[object] = []
    tab.built.connect(built.append)
    assert tab.start_build()
    wait_until(lambda: built, 120)
    labels = sorted(model.quant_label for model in library_models(app_home))
    assert labels == ["BF16", "Q4_K_M", "Q8_0"]
    wait_until(lambda: manager.library_tab.table.rowCount() == 3)
    assert files_under(app_home / "library" / "downloads") == []


def test_the_disk_shown_is_what_the_build_will_require(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        checkpoint_in_library: Path, app_home: Path) -> None:
    tab = manager_factory().build_tab
    wait_until(lambda: "iq3_s" in tab.table.row_names())
    tab.choose(["iq3_s"])
    assert tab.imatrix_box.isChecked()
    assert tab._plan is not None
    with Library(app_home / "library") as library:
        plan = plan_build(library, tab._plan.checkpoint_dir, ["iq3_s"], imatrix=True)
    assert f"Needs {size_text(plan.needed_disk_bytes)} of free disk" in tab.disk_label.text()


def test_choosing_a_low_bit_type_turns_the_importance_matrix_on(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        checkpoint_in_library: Path) -> None:
    tab = manager_factory().build_tab
    wait_until(lambda: "iq3_s" in tab.table.row_names())
    tab.choose(["iq3_s"])
    assert tab.imatrix_box.isChecked()
    tab.choose(["q8_0"])
    assert not tab.imatrix_box.isChecked()


def test_cancelling_a_build_leaves_no_temporary_file(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        checkpoint_in_library: Path, app_home: Path) -> None:
    tab = iq3_s_build_under_way(manager_factory())
    tab.progress.cancel_button.click()
    wait_until(lambda: not tab.busy and "Cancelled" in tab.progress.detail_label.text())
    assert files_under(app_home / "library" / "downloads") == []
    assert [m.kind.value for m in library_models(app_home)] == ["checkpoint"]


def test_closing_the_manager_cancels_its_build(
        qtbot: object, manager_factory: Callable[..., ModelManager],
        checkpoint_in_library: Path, app_home: Path) -> None:
    manager = manager_factory()
    iq3_s_build_under_way(manager)
    manager.reject()
    assert files_under(app_home / "library" / "downloads") == []
    shutil.rmtree(app_home / "library" / "downloads", ignore_errors=True)

"""The wizard and the model manager driven offscreen on real files and the stand-in hub through
the awkward paths: offline mode, failed jobs, retries, going back and forth while jobs end."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.hub.client import HubConfig
from app.core.hub.pending_downloads import DownloadRequest, PendingDownloads
from app.core.library.model_library import Library
from app.ui.models.download_queue import DONE, FAILED, DownloadQueue
from app.ui.models.get_models_tab import DownloadRow
from app.ui.models.model_manager import ModelManager
from app.ui.models.setup_wizard import MACHINE, PROGRESS, QUANT, SOURCE, SetupWizard, Source
from tests.support.app_setup_support import files_under
from tests.support.local_hub import LocalHub
from tests.support.qt_wait import wait_until
from tests.support.ui_support import wait_until_jobs_idle


@pytest.fixture
def queues(app_home: Path) -> Iterator[list[DownloadQueue]]:
    made: list[DownloadQueue] = []
    yield made
    for queue in made:
        queue.stop_all()


def make_queue(queues: list[DownloadQueue], config: HubConfig) -> DownloadQueue:
    queue = DownloadQueue(lambda: "", lambda: config, PendingDownloads())
    queues.append(queue)
    return queue


def make_wizard(qtbot: object, config: HubConfig) -> SetupWizard:
    wizard = SetupWizard(lambda: "", lambda: config, lambda: 2048, "en", offline_files=[])
    qtbot.addWidget(wizard)  # type: ignore[attr-defined]
    wizard.show()
    wizard.next()
    assert wizard.currentId() == MACHINE
    wait_until(wizard.machine_page.isComplete)
    wizard.next()
    assert wizard.currentId() == SOURCE
    return wizard


def library_models(app_home: Path) -> list:
    with Library(app_home / "library") as library:
        return library.models()


# -- the wizard ---------------------------------------------------------------------------------


def test_in_offline_mode_the_quant_page_asks_the_hub_nothing(qtbot: object, fin_r1_hub: LocalHub,
                                                             app_home: Path) -> None:
    wizard = make_wizard(qtbot, HubConfig(endpoint=fin_r1_hub.endpoint, offline=True))
    wizard.source_page.choose(Source.DOWNLOAD_GGUF)
    wizard.next()
    assert wizard.currentId() == QUANT
    wait_until(lambda: wizard.quant_page.table.rowCount() > 0)
    wait_until_jobs_idle()  # the page's catalog refresh has ended: any request it made is logged
    assert [record.path for record in fin_r1_hub.log] == []


def test_a_checkpoint_folder_fixed_after_an_error_is_read_again(
        qtbot: object, tiny_checkpoint: Path, tmp_path: Path, app_home: Path) -> None:
    folder = tmp_path / "my-checkpoint"
    folder.mkdir()
    wizard = make_wizard(qtbot, HubConfig(offline=True))
    wizard.source_page.choose(Source.IMPORT, folder)
    wizard.next()
    page = wizard.quant_page
    wait_until(lambda: "config.json" in page.note.text())
    wizard.back()
    shutil.copytree(tiny_checkpoint, folder, dirs_exist_ok=True)
    wizard.next()
    assert wizard.currentId() == QUANT
    wait_until(lambda: "q4_k_m" in page.table.row_names(), 30)
    assert page.isComplete()


def test_a_type_the_hub_turns_out_not_to_have_falls_back_to_the_recommended_one(
        qtbot: object, fin_r1_hub: LocalHub, app_home: Path) -> None:
    wizard = make_wizard(qtbot, HubConfig(endpoint=fin_r1_hub.endpoint))
    table = wizard.quant_page.table
    with fin_r1_hub.answers_held():  # the hub answers nothing until the person has chosen
        wizard.source_page.choose(Source.DOWNLOAD_GGUF)
        wizard.next()
        wait_until(lambda: "q6_k" in table.row_names() and table.item(0, 0) is not None)
        table.choose(["q6_k"])  # in the shipped catalog, not on this hub
    wait_until(lambda: table.row_names() == ["f16", "q8_0", "q4_k_m"])
    assert table.recommended is not None
    assert [quant.name for quant in table.chosen()] == [table.recommended.name]
    assert wizard.quant_page.isComplete()


def test_a_job_that_ends_as_back_is_pressed_does_not_move_the_wizard_on(
        qtbot: object, tiny_gguf_factory: Callable[..., Path], app_home: Path) -> None:
    wizard = make_wizard(qtbot, HubConfig(offline=True))
    wizard.source_page.choose(Source.IMPORT, tiny_gguf_factory("q8_0"))
    wizard.next()
    page, job = wizard.progress_page, wizard.progress_page.job
    assert wizard.currentId() == PROGRESS and job is not None
    job.wait()  # the import has ended; its result waits in the event loop
    wizard.back()
    wait_until(lambda: not job.running, 10, "the import's late result to be delivered")
    assert wizard.currentId() == SOURCE
    assert not page.running


def test_back_and_next_at_once_leaves_the_new_job_stoppable(
        qtbot: object, fin_r1_hub: LocalHub, app_home: Path) -> None:
    fin_r1_hub.throttle(100_000)  # the tiny file takes many seconds
    wizard = make_wizard(qtbot, HubConfig(endpoint=fin_r1_hub.endpoint))
    wizard.source_page.choose(Source.DOWNLOAD_GGUF)
    wizard.next()
    wait_until(lambda: "f16" in wizard.quant_page.table.row_names()
             and wizard.quant_page.table.item(0, 0) is not None)
    wizard.quant_page.table.choose(["f16"])
    wizard.next()
    page = wizard.progress_page
    wait_until(lambda: page.progress.bar.value() > 0)
    first = page.job
    assert first is not None
    wizard.back()  # the first download's "cancelled" report now waits in the event loop
    wizard.next()
    wait_until(lambda: not first.running, 10, "the first download's report to be delivered")
    assert page.running and page.job is not first
    wizard.reject()
    assert not page.running
    assert files_under(app_home / "library" / "downloads") == []


# -- the model manager --------------------------------------------------------------------------


def test_a_download_that_failed_before_its_size_was_known_stops_the_busy_bar(
        qtbot: object, fin_r1_hub: LocalHub, queues: list[DownloadQueue], app_home: Path) -> None:
    queue = make_queue(queues, HubConfig(endpoint=fin_r1_hub.endpoint))
    item = queue.start(DownloadRequest("nobody/no-such-model", quant="q4_k_m"))
    row = DownloadRow(item, queue)
    qtbot.addWidget(row)  # type: ignore[attr-defined]
    assert row.bar.maximum() == 0  # busy while the hub is asked
    wait_until(lambda: item.state == FAILED)
    assert row.bar.maximum() > 0


def test_a_model_removed_from_the_library_can_be_downloaded_again(
        qtbot: object, fin_r1_hub: LocalHub, queues: list[DownloadQueue], app_home: Path) -> None:
    config = HubConfig(endpoint=fin_r1_hub.endpoint)
    queue = make_queue(queues, config)
    manager = ModelManager(queue, lambda: "", lambda: config, lambda: 2048)
    qtbot.addWidget(manager)  # type: ignore[attr-defined]
    manager.show()
    tab = manager.get_tab
    manager.tabs.setCurrentWidget(tab)
    wait_until(lambda: "q8_0" in tab.table.row_names())
    tab.table.choose(["q8_0"])
    item = tab.download_chosen()
    assert item is not None
    wait_until(lambda: item.state == DONE)
    (model,) = library_models(app_home)
    assert manager.library_tab.remove(model.id)
    wait_until(lambda: not manager.library_tab.busy and library_models(app_home) == [])
    again = tab.download_chosen()
    assert again is not None
    wait_until(lambda: again.state == DONE and library_models(app_home) != [])
    assert [m.quant_label for m in library_models(app_home)] == ["Q8_0"]


def test_a_type_chosen_while_the_catalog_refreshes_stays_chosen(
        qtbot: object, fin_r1_hub: LocalHub, queues: list[DownloadQueue], app_home: Path) -> None:
    config = HubConfig(endpoint=fin_r1_hub.endpoint)
    manager = ModelManager(make_queue(queues, config), lambda: "", lambda: config, lambda: 2048)
    qtbot.addWidget(manager)  # type: ignore[attr-defined]
    tab, table = manager.get_tab, manager.get_tab.table
    with fin_r1_hub.answers_held():  # the hub answers nothing until the person has chosen
        manager.show()
        manager.tabs.setCurrentWidget(tab)
        wait_until(lambda: "q8_0" in table.row_names() and "≈" in table.item(0, 1).text())
        assert table.recommended is not None and table.recommended.name != "q8_0"
        table.choose(["q8_0"])
    wait_until(lambda: table.row_names() == ["f16", "q8_0", "q4_k_m"]
             and "≈" not in table.item(0, 1).text())
    assert [quant.name for quant in table.chosen()] == ["q8_0"]

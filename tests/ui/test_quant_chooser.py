"""The quant chooser shared by the wizard, "Get models" and "Build", offscreen, on the app's own
catalog, the stand-in hub and a real checkpoint folder: what it shows for a repository, a
checkpoint and Fin-R1's build, a catalog refresh keeping the person's pick, and a newer request
always winning over an older one that ends late."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.hub.catalog import Catalog
from app.core.hub.client import HubConfig
from app.core.local_build.build_job import BuildPlan
from app.ui.models import machine_info
from app.ui.models.quant_chooser import BUILD_CHOICES, QuantChooser
from app.ui.models.quant_table import SPEED_COLUMN
from tests.support.local_hub import LocalHub
from tests.support.qt_wait import wait_until

HUB_TYPES = ["f16", "q8_0", "q4_k_m"]  # what the stand-in hub's GGUF repository holds


@pytest.fixture
def make_chooser(qtbot: object, app_home: Path) -> Callable[..., QuantChooser]:
    def make(**options: object) -> QuantChooser:
        chooser = QuantChooser(lambda: 2048, **options)  # type: ignore[arg-type]
        qtbot.addWidget(chooser)  # type: ignore[attr-defined]
        return chooser

    return make


def sizes(chooser: QuantChooser) -> list[str]:
    table = chooser.table
    return [table.item(row, 1).text() for row in range(table.rowCount())]


def shown(chooser: QuantChooser, names: list[str] | tuple[str, ...]) -> bool:
    """The table lists exactly ``names``, its items made."""
    table = chooser.table
    return table.row_names() == list(names) and table.rowCount() == len(names) \
        and table.item(0, 0) is not None


def chosen(chooser: QuantChooser) -> list[str]:
    return [quant.name for quant in chooser.table.chosen()]


def known_machine(chooser: QuantChooser) -> None:
    """Show Fin-R1's build once and wait for it: the machine's facts are known from then on."""
    chooser.show_build()
    wait_until(lambda: shown(chooser, BUILD_CHOICES))


def test_a_repository_shows_estimates_then_the_hubs_sizes_with_the_recommendation_chosen(
        fin_r1_hub: LocalHub, make_chooser: Callable[..., QuantChooser]) -> None:
    chooser = make_chooser()
    repo_id = chooser.catalog.default_gguf_repo
    chooser.show_repo(repo_id)
    wait_until(lambda: chooser.table.rowCount() > len(HUB_TYPES))  # the shipped catalog
    assert all(size.startswith("≈") for size in sizes(chooser))
    refreshed: list[Catalog] = []
    chooser.catalog_refreshed.connect(refreshed.append)
    chooser.refresh_catalog(HubConfig(endpoint=fin_r1_hub.endpoint), [repo_id])
    wait_until(lambda: refreshed)
    assert refreshed == [chooser.catalog] and shown(chooser, HUB_TYPES)
    assert not any(size.startswith("≈") for size in sizes(chooser))
    table = chooser.table
    assert table.recommended is not None and chosen(chooser) == [table.recommended.name]
    assert not table.isColumnHidden(SPEED_COLUMN)
    assert all("tok/s" in table.item(row, SPEED_COLUMN).text() for row in range(len(HUB_TYPES)))


@pytest.mark.parametrize(("picked", "kept"), [("q8_0", True), ("q6_k", False)])
def test_a_type_picked_while_the_catalog_refreshes_stays_chosen_if_the_hub_has_it(
        fin_r1_hub: LocalHub, make_chooser: Callable[..., QuantChooser],
        picked: str, kept: bool) -> None:
    chooser = make_chooser()
    repo_id = chooser.catalog.default_gguf_repo
    chooser.show_repo(repo_id)
    wait_until(lambda: picked in chooser.table.row_names() and chooser.table.rowCount())
    with fin_r1_hub.answers_held():  # the hub answers nothing until the person has picked
        chooser.refresh_catalog(HubConfig(endpoint=fin_r1_hub.endpoint), [repo_id])
        chooser.table.choose([picked])
        assert chosen(chooser) == [picked]
    wait_until(lambda: shown(chooser, HUB_TYPES))
    recommended = chooser.table.recommended
    assert recommended is not None and recommended.name != picked
    assert chosen(chooser) == ([picked] if kept else [recommended.name])


def test_a_checkpoint_is_read_and_the_types_a_build_makes_are_shown_with_its_own_sizes(
        tiny_checkpoint: Path, make_chooser: Callable[..., QuantChooser]) -> None:
    chooser = make_chooser()
    plans: list[BuildPlan] = []
    chooser.checkpoint_read.connect(plans.append)
    chooser.read_checkpoint(tiny_checkpoint, "")
    wait_until(lambda: shown(chooser, BUILD_CHOICES))
    assert [plan.checkpoint_dir for plan in plans] == [tiny_checkpoint]
    assert all(size.endswith(("KB", "MB")) for size in sizes(chooser))  # not Fin-R1's GBs
    assert not chooser.table.isColumnHidden(SPEED_COLUMN)


def test_a_build_chooser_checks_several_types_and_can_leave_the_speed_out(
        tiny_checkpoint: Path, make_chooser: Callable[..., QuantChooser]) -> None:
    chooser = make_chooser(multiple=True, predict_speed=False)
    chooser.read_checkpoint(tiny_checkpoint, "")
    wait_until(lambda: shown(chooser, BUILD_CHOICES))
    assert chooser.table.isColumnHidden(SPEED_COLUMN)
    chooser.table.choose(["q8_0", "iq3_s"])
    assert chosen(chooser) == ["q8_0", "iq3_s"]


def test_a_folder_that_is_no_checkpoint_says_why_and_shows_no_types(
        tmp_path: Path, make_chooser: Callable[..., QuantChooser]) -> None:
    chooser = make_chooser()
    failures: list[str] = []
    chooser.reading_failed.connect(failures.append)
    chooser.read_checkpoint(tmp_path, "")
    wait_until(lambda: failures)
    assert "config.json" in failures[0]
    assert chooser.table.rowCount() == 0 and chooser.table.chosen() == []


def test_a_checkpoint_still_being_read_when_something_else_is_shown_never_appears(
        tiny_checkpoint: Path, make_chooser: Callable[..., QuantChooser]) -> None:
    chooser = make_chooser()
    known_machine(chooser)
    plans: list[BuildPlan] = []
    chooser.checkpoint_read.connect(plans.append)
    reading = chooser.read_checkpoint(tiny_checkpoint, "")
    chooser.show_repo(chooser.catalog.default_gguf_repo)  # before the reading can be delivered
    repo_types = chooser.table.row_names()
    assert repo_types and "iq3_xs" not in repo_types
    wait_until(lambda: not reading.running)  # its end was delivered (and dropped)
    assert plans == [] and chooser.table.row_names() == repo_types


def test_a_refresh_ending_after_the_chooser_was_cleared_shows_nothing(
        fin_r1_hub: LocalHub, make_chooser: Callable[..., QuantChooser]) -> None:
    chooser = make_chooser()
    repo_id = chooser.catalog.default_gguf_repo
    chooser.show_repo(repo_id)
    wait_until(lambda: chooser.table.rowCount())
    refreshed: list[Catalog] = []
    chooser.catalog_refreshed.connect(refreshed.append)
    with fin_r1_hub.answers_held():
        chooser.refresh_catalog(HubConfig(endpoint=fin_r1_hub.endpoint), [repo_id])
        chooser.clear()
    wait_until(lambda: refreshed)
    assert chooser.table.rowCount() == 0 and chooser.table.row_names() == []
    assert chooser.catalog.repo(repo_id).quant_types[0].name == HUB_TYPES[0]  # yet it is kept


def test_what_was_asked_before_the_machine_was_known_is_shown_when_it_is(
        make_chooser: Callable[..., QuantChooser],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine_info, "_cached", None)  # as at the app's start
    chooser = make_chooser()
    chooser.show_build()
    assert chooser.table.rowCount() == 0  # the machine is being looked at
    wait_until(lambda: shown(chooser, BUILD_CHOICES))
    assert all(size.startswith("≈") for size in sizes(chooser))  # Fin-R1's sizes, estimated

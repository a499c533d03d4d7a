"""The suite never writes into the real user data folder: every test runs with its own empty
``FINR1_HOME`` (tests/conftest.py ``own_finr1_home``), unless a wider fixture or the test itself
chose one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.installation.paths import HOME_ENV_VAR, app_paths


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home shared by this module's tests, as a module-scoped window fixture sets one."""
    folder = tmp_path_factory.mktemp("module_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV_VAR, str(folder))
        yield folder


@pytest.fixture(scope="session")
def home_of_a_session_fixture() -> Path:
    """The app's data folder as a session-scoped fixture (set up before any test's own) sees it.
    First asked for by the first test below, before any module fixture sets a home."""
    return app_paths().data_dir


def test_session_fixtures_run_under_a_temporary_home(
        home_of_a_session_fixture: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert home_of_a_session_fixture.is_relative_to(tmp_path_factory.getbasetemp())


def test_a_test_gets_its_own_empty_home_outside_the_user_data_folder(
        own_finr1_home: Path, session_finr1_home: Path) -> None:
    without_override = {name: value for name, value in os.environ.items() if name != HOME_ENV_VAR}
    user_folder = app_paths(without_override).data_dir
    assert app_paths().data_dir == own_finr1_home
    assert own_finr1_home not in (user_folder, session_finr1_home)
    assert not own_finr1_home.exists() or not any(own_finr1_home.iterdir())


def test_a_test_that_asks_for_no_fixture_has_a_temporary_home_too(
        tmp_path_factory: pytest.TempPathFactory, session_finr1_home: Path) -> None:
    home = app_paths().data_dir
    assert home.is_relative_to(tmp_path_factory.getbasetemp()) and home != session_finr1_home


def test_a_home_chosen_by_a_wider_fixture_is_kept(module_home: Path, own_finr1_home: Path) -> None:
    assert own_finr1_home == module_home == app_paths().data_dir


def test_a_home_the_test_sets_itself_wins(app_home: Path, own_finr1_home: Path) -> None:
    assert app_paths().data_dir == app_home != own_finr1_home

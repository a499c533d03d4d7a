"""Getting a first model into the library without any window: each source of the setup wizard
(a ready GGUF from the stand-in hub, the original checkpoint downloaded and built, a file or a
checkpoint folder imported), and a cancel that leaves nothing half-done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.hub.catalog import load_catalog
from app.core.hub.client import HubConfig
from app.core.library.first_model import Choice, Source, acquire
from app.core.library.model_library import Library, ModelKind, ModelStatus
from app.core.local_build.build_job import BuildPlan
from foundation.jobs import CancelToken, JobCancelled, Progress
from quant.formats import quant_type
from tests.support.app_setup_support import CHECKPOINT_REPO, GGUF_REPO, files_under
from tests.support.local_hub import LocalHub


def test_a_ready_gguf_is_downloaded_verified_and_its_listing_remembered(
        fin_r1_hub: LocalHub, library: Library, tmp_path: Path) -> None:
    cache_file = tmp_path / "catalog-cache.json"
    reports: list[Progress] = []
    builds: list[BuildPlan] = []
    entry = acquire(Choice(Source.DOWNLOAD_GGUF, None, None, "q8_0"), library,
                    HubConfig(endpoint=fin_r1_hub.endpoint), load_catalog(),
                    cache_file=cache_file, on_progress=reports.append, on_build=builds.append)
    assert entry.quant_label == "Q8_0" and entry.source["repo"] == GGUF_REPO
    assert [model.id for model in library.models()] == [entry.id]
    assert reports and reports[-1].done == reports[-1].total > 0
    assert builds == []
    assert load_catalog(cache_file).repo(GGUF_REPO).commit is not None  # listed by the hub


def test_the_original_is_downloaded_kept_and_the_chosen_type_built_from_it(
        fin_r1_hub: LocalHub, library: Library) -> None:
    builds: list[BuildPlan] = []
    entry = acquire(Choice(Source.DOWNLOAD_BUILD, None, None, "q8_0"), library,
                    HubConfig(endpoint=fin_r1_hub.endpoint), load_catalog(),
                    on_build=builds.append)
    checkpoint = next(model for model in library.models() if model.kind is ModelKind.CHECKPOINT)
    assert checkpoint.source["repo"] == CHECKPOINT_REPO
    assert [plan.quant_types for plan in builds] == [(quant_type("q8_0"),)]
    assert builds[0].checkpoint_dir == checkpoint.path
    assert entry.kind is ModelKind.GGUF and entry.quant_label == "Q8_0"
    assert entry.source["type"] == "build"
    assert all(model.status is ModelStatus.OK for model in library.models())
    assert files_under(library.downloads_dir) == []


def test_an_imported_gguf_file_is_used_as_it_is(tiny_gguf_factory: Callable[..., Path],
                                                library: Library) -> None:
    builds: list[BuildPlan] = []
    gguf = tiny_gguf_factory("q8_0")
    entry = acquire(Choice(Source.IMPORT, gguf, None, None), library, HubConfig(offline=True),
                    load_catalog(), on_build=builds.append)
    assert entry.source["type"] == "import" and entry.quant_label == "Q8_0"
    assert builds == [] and gguf.is_file()  # copied, not moved


def test_an_imported_checkpoint_folder_is_built_to_the_chosen_type(
        tiny_checkpoint: Path, library: Library) -> None:
    choice = Choice(Source.IMPORT, tiny_checkpoint, None, "q8_0")
    assert choice.builds
    entry = acquire(choice, library, HubConfig(offline=True), load_catalog())
    assert entry.quant_label == "Q8_0"
    assert sorted(model.kind.value for model in library.models()) == ["checkpoint", "gguf"]


def test_a_cancelled_download_leaves_no_partial_file(fin_r1_hub: LocalHub,
                                                     library: Library) -> None:
    fin_r1_hub.throttle(200_000)  # the tiny file takes seconds
    token = CancelToken()

    def cancel_when_bytes_arrive(progress: Progress) -> None:
        if progress.done > 0:
            token.cancel()

    with pytest.raises(JobCancelled):
        acquire(Choice(Source.DOWNLOAD_GGUF, None, GGUF_REPO, "f16"), library,
                HubConfig(endpoint=fin_r1_hub.endpoint), load_catalog(),
                on_progress=cancel_when_bytes_arrive, cancel=token)
    assert library.models() == []
    assert files_under(library.downloads_dir) == []


def test_an_import_without_a_path_is_refused(library: Library) -> None:
    with pytest.raises(ValueError, match="needs a path"):
        acquire(Choice(Source.IMPORT, None, None, None), library, HubConfig(offline=True),
                load_catalog())

"""Fit advice for a catalog repository and for a planned build: the one way every screen, the
download's recommendation and ``finr1 doctor`` turn a repository's files (or a build's expected
outputs) into advice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.hardware.fit import (
    FIN_R1_DIMS,
    ModelDims,
    advise,
    advise_for_build,
    advise_for_repo,
    table_weights_bytes,
)
from app.core.hardware.machine import MachineInfo
from app.core.hub.catalog import CatalogFile, CatalogRepo, RepoKind, load_catalog, remember_repo
from app.core.installation.paths import app_paths
from app.core.library.model_library import Library
from app.core.local_build.build_job import plan_build
from quant.formats import quant_type

GGUF_REPO = "mradermacher/Fin-R1-GGUF"


def machine(ram_gb: float) -> MachineInfo:
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",),
                       int(ram_gb * 1e9), int(ram_gb * 1e9), (), False, "0.3.36")


def hub_file(name: str, size: int) -> CatalogFile:
    return CatalogFile(f"Fin-R1.{name.upper()}.gguf", quant_type(name), size, "0" * 64,
                       from_hub=True)


def repo_of(*files: CatalogFile) -> CatalogRepo:
    return CatalogRepo(GGUF_REPO, RepoKind.GGUF, "test", files, "c" * 40)


# -- a repository -------------------------------------------------------------------------------


def test_the_hubs_sizes_replace_the_estimates_and_only_offered_types_are_recommended() -> None:
    repo = repo_of(hub_file("q8_0", 8_100_000_000), hub_file("q4_k_s", 4_400_000_000))
    advice = advise_for_repo(machine(16), repo, 4096)
    assert advice.n_ctx == 4096
    assert advice.row("q4_k_s").size_known
    assert advice.row("q4_k_s").estimate.weights_bytes == 4_400_000_000
    assert not advice.row("q4_k_m").size_known
    assert advice.recommended == quant_type("q4_k_s")  # q4_k_m would be, but is not offered


def test_the_shipped_catalogs_sizes_stay_estimates() -> None:
    repo = load_catalog().repo(GGUF_REPO)
    assert repo is not None and repo.quant_types
    advice = advise_for_repo(machine(16), repo)
    assert not any(row.size_known for row in advice.rows)
    assert advice.row("q8_0").estimate.weights_bytes == table_weights_bytes(quant_type("q8_0"))
    assert advice == advise(machine(16), available=repo.quant_types)


def test_a_types_size_is_that_of_the_file_a_download_of_it_fetches() -> None:
    # Two files of one type (a static and an importance-matrix Q4_K_M): the download takes the
    # one ``quant_file`` names, so the advice must weigh that one, not the last listed.
    static = hub_file("q4_k_m", 4_700_000_000)
    imatrix = CatalogFile("Fin-R1.i1-Q4_K_M.gguf", quant_type("q4_k_m"), 4_600_000_000,
                          "1" * 64, from_hub=True)
    repo = repo_of(static, imatrix)
    assert repo.quant_file("q4_k_m") == static
    advice = advise_for_repo(machine(16), repo)
    assert advice.row("q4_k_m").estimate.weights_bytes == static.size_bytes


def test_every_type_can_be_recommended_for_the_machine_with_the_repositorys_sizes() -> None:
    small = machine(4.6)  # IQ3_M fits, the Q4 types do not
    repo = repo_of(hub_file("q8_0", 8_100_000_000), hub_file("q4_k_m", 4_700_000_000))
    assert advise_for_repo(small, repo).recommended is None
    anywhere = advise_for_repo(small, repo, offered_only=False)
    assert anywhere.recommended == quant_type("iq3_m")
    assert anywhere.row("q4_k_m").estimate.weights_bytes == 4_700_000_000


def test_doctor_weighs_the_default_repositorys_remembered_sizes(
        app_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    remember_repo(app_paths().catalog_cache_file,
                  repo_of(hub_file("q8_0", 8_123_456_789), hub_file("q4_k_m", 4_687_654_321)))
    assert main(["doctor", "--json"]) == 0
    rows = {row["quant_type"]: row for row in json.loads(capsys.readouterr().out)["quants"]}
    assert rows["q4_k_m"]["size_known"] and rows["q4_k_m"]["weights_bytes"] == 4_687_654_321
    assert not rows["iq3_m"]["size_known"]


# -- a planned build ----------------------------------------------------------------------------


def test_build_advice_uses_the_checkpoints_shape_and_the_expected_output_sizes(
        tiny_checkpoint: Path, tmp_path: Path) -> None:
    offered = [quant_type(name) for name in ("bf16", "q8_0", "q4_k_m")]
    with Library(tmp_path / "library") as library:
        plan = plan_build(library, tiny_checkpoint, ["q4_k_m"])
    advice = advise_for_build(machine(16), plan, offered, 2048)
    dims = ModelDims.from_checkpoint(plan.conversion.shape, plan.conversion.parameter_count)
    assert dims != FIN_R1_DIMS
    for quant in offered:
        row = advice.row(quant.name)
        assert row.size_known and row.estimate.weights_bytes == plan.output_bytes(quant)
        assert row.estimate.kv_cache_bytes == 2048 * dims.kv_bytes_per_token
    assert advice.recommended in offered

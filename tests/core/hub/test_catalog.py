"""The hub catalog: where Fin-R1 lives and which file holds which quant type.

(Refreshing from a hub is tested against the stand-in hub in test_download.py; what a refresh
keeps of the shipped catalog's per-file knowledge, here.)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import CatalogError, QuantNotAvailableError
from app.core.hub.catalog import (
    RepoKind,
    fetch_repo_entry,
    is_checkpoint_file,
    load_catalog,
    quant_in_filename,
    quant_type_in_filename,
    remember_repo,
    repo_from_snapshot,
)
from app.core.hub.client import HubConfig, RemoteFile, RepoSnapshot
from app.core.hub.download import plan_download, run_download
from app.core.library.model_library import Library
from quant.formats import quant_type
from quant.gguf_check import validate_gguf
from quant.quantize import quantize_gguf
from tests.support.local_hub import LocalHub


def test_shipped_catalog_names_the_checkpoint_and_the_default_gguf_repository() -> None:
    catalog = load_catalog()
    assert catalog.checkpoint_repo == "SUFE-AIFLM-Lab/Fin-R1"
    assert catalog.default_gguf_repo == "mradermacher/Fin-R1-GGUF"
    checkpoint = catalog.repo("SUFE-AIFLM-Lab/Fin-R1")
    assert checkpoint is not None and checkpoint.kind is RepoKind.CHECKPOINT
    shards = [file for file in checkpoint.files if file.filename.endswith(".safetensors")]
    assert len(shards) == 4
    assert sum(file.size_bytes or 0 for file in shards) == pytest.approx(15.23e9, rel=0.001)


def test_each_gguf_repository_maps_quant_types_to_its_own_file_names() -> None:
    catalog = load_catalog()
    expected = {
        "mradermacher/Fin-R1-GGUF": "Fin-R1.Q4_K_M.gguf",
        "mradermacher/Fin-R1-i1-GGUF": "Fin-R1.i1-Q4_K_M.gguf",
    }
    for repo_id, filename in expected.items():
        repo = catalog.repo(repo_id)
        assert repo is not None and repo.kind is RepoKind.GGUF
        entry = repo.quant_file("q4_k_m")
        assert entry.filename == filename
        assert entry.size_bytes == round(quant_type("q4_k_m").fin_r1_gb * 1e9)
        assert entry.sha256 is None and not entry.from_hub


def test_every_shipped_file_name_states_the_quant_type_it_is_listed_under() -> None:
    for repo in load_catalog().repos:
        for file in repo.files:
            if repo.kind is RepoKind.GGUF:
                assert quant_type_in_filename(file.filename) == file.quant_type, file.filename


# Mungert/Fin-R1-GGUF's model card (the seed 004_6c75f609fe3f14d8.txt) lists its files and how
# each was made; "" is Q4_0, a type outside the quant table
MUNGERT_MODEL_CARD = {
    "Fin-R1-bf16.gguf": "BF16",
    "Fin-R1-f16.gguf": "F16",
    "Fin-R1-bf16-q8_0.gguf": "Q8_0 (output & embeddings BF16)",
    "Fin-R1-f16-q8_0.gguf": "Q8_0 (output & embeddings F16)",
    "Fin-R1-q8_0.gguf": "Q8_0",
    "Fin-R1-q6_k.gguf": "Q6_K (output & embeddings Q8_0)",
    "Fin-R1-q4_k.gguf": "Q4_K_M (output & embeddings Q8_0)",
    "Fin-R1-q4_k_s.gguf": "Q4_K_S",
    "Fin-R1-q4_0.gguf": "",
    "Fin-R1-iq3_xs.gguf": "IQ3_XS",
    "Fin-R1-iq3_m.gguf": "IQ3_M",
}


def test_mungerts_files_are_the_ones_its_model_card_lists_made_as_it_says() -> None:
    repo = load_catalog().repo("Mungert/Fin-R1-GGUF")
    assert repo is not None
    assert {file.filename: file.label for file in repo.files} == MUNGERT_MODEL_CARD
    assert "inferred" not in repo.title


def test_a_quant_types_file_without_a_mix_is_preferred() -> None:
    repo = load_catalog().repo("Mungert/Fin-R1-GGUF")
    assert repo is not None
    assert repo.quant_file("q8_0").filename == "Fin-R1-q8_0.gguf"
    assert repo.quant_file("q4_k_m").filename == "Fin-R1-q4_k.gguf"  # the only Q4_K_M there
    with pytest.raises(QuantNotAvailableError, match="no IQ3_S file"):
        repo.quant_file("iq3_s")


def test_a_mixs_estimated_size_counts_its_larger_output_and_embeddings() -> None:
    repo = load_catalog().repo("Mungert/Fin-R1-GGUF")
    assert repo is not None
    plain = repo.quant_file("q8_0").size_bytes
    mixed = next(file for file in repo.files if file.filename == "Fin-R1-bf16-q8_0.gguf")
    # two 152064 x 3584 matrices at 16 instead of 8.5 bits per weight
    assert mixed.size_bytes - plain == pytest.approx(2 * 152_064 * 3_584 * 7.5 / 8, rel=1e-6)


@pytest.mark.parametrize(("filename", "expected"), [
    ("Fin-R1.Q4_K_M.gguf", "q4_k_m"),
    ("Fin-R1-q4_k.gguf", "q4_k_m"),  # llama-quantize's alias
    ("Fin-R1.i1-IQ3_XS.gguf", "iq3_xs"),
    ("Fin-R1-q8_0.gguf", "q8_0"),
    ("fin-r1-q4_k_s.gguf", "q4_k_s"),
    ("Fin-R1.BF16.gguf", "bf16"),
    ("sub/dir/Fin-R1.Q6_K.gguf", "q6_k"),
])
def test_quant_type_is_read_from_each_uploaders_naming(filename: str, expected: str) -> None:
    assert quant_type_in_filename(filename) == quant_type(expected)


@pytest.mark.parametrize("filename", [
    "Fin-R1-q6_k_m.gguf",  # an uploader's own mix, not llama.cpp's Q6_K
    "Fin-R1.Q3_K_L.gguf",  # a type outside the table
    "README.md",
])
def test_names_that_do_not_state_a_known_type_map_to_none(filename: str) -> None:
    assert quant_type_in_filename(filename) is None


@pytest.mark.parametrize(("filename", "expected"), [
    ("Fin-R1-bf16-q8_0.gguf", ("Q8_0", "BF16", "BF16")),
    ("Fin-R1-f16-q8_0.gguf", ("Q8_0", "F16", "F16")),
    ("Fin-R1-q8_0.gguf", ("Q8_0", None, None)),
    ("Fin-R1.F16.gguf", ("F16", None, None)),
    ("Fin-R1-q4_k.gguf", ("Q4_K_M", None, None)),  # what its output is kept at, the name hides
])
def test_a_float_type_before_a_quant_type_names_the_output_and_embeddings_type(
        filename: str, expected: tuple[str, str | None, str | None]) -> None:
    quant, mix = quant_in_filename(filename)
    assert quant is not None
    assert (quant.label, mix.output and mix.output.label,
            mix.embeddings and mix.embeddings.label) == expected


def test_a_hub_listing_keeps_what_the_catalog_knows_of_a_files_mix(local_hub: LocalHub,
                                                                    tmp_path: Path) -> None:
    local_hub.add_repo("Mungert/Fin-R1-GGUF", {name: b"GGUF" for name in MUNGERT_MODEL_CARD})
    cache = tmp_path / "catalog-cache.json"
    listed = fetch_repo_entry(load_catalog(), "Mungert/Fin-R1-GGUF",
                              HubConfig(endpoint=local_hub.endpoint), cache_file=cache)
    assert all(file.from_hub for file in listed.files)
    assert {file.filename: file.label for file in listed.files} == MUNGERT_MODEL_CARD
    # and so does the listing remembered for offline starts
    remembered = load_catalog(cache).repo("Mungert/Fin-R1-GGUF")
    assert remembered is not None and remembered.commit == listed.commit
    assert {file.filename: file.label for file in remembered.files} == MUNGERT_MODEL_CARD


def test_a_downloaded_mix_has_the_type_and_mix_its_catalog_entry_names(
        local_hub: LocalHub, library: Library, tiny_bf16_gguf: Path, tmp_path: Path) -> None:
    # the two files made from the tiny model as the model card says they were made
    made = {
        "Fin-R1-q4_k.gguf": quantize_gguf(tiny_bf16_gguf, tmp_path / "a.gguf", "q4_k", threads=1,
                                          output_type="q8_0", embedding_type="q8_0"),
        "Fin-R1-bf16-q8_0.gguf": quantize_gguf(tiny_bf16_gguf, tmp_path / "b.gguf", "q8_0",
                                               threads=1, output_type="bf16",
                                               embedding_type="bf16"),
    }
    local_hub.add_repo("Mungert/Fin-R1-GGUF", {name: path.read_bytes() for name, path in made.items()})
    config = HubConfig(endpoint=local_hub.endpoint)
    for request in ({"quant": "q4_k_m"}, {"filename": "Fin-R1-bf16-q8_0.gguf"}):
        plan = plan_download(library, config, repo_id="Mungert/Fin-R1-GGUF", **request)
        listed = next(file for file in plan.repo.files if file.filename == plan.files[0].filename)
        entry = run_download(plan, library, config)
        header = validate_gguf(entry.path)
        kept = {tensor.name: tensor.ggml_type for tensor in header.tensors}
        assert listed.mix.output is not None and listed.mix.embeddings is not None
        assert (entry.quant_label, kept["output.weight"], kept["token_embd.weight"]) == (
            listed.quant_type.label, listed.mix.output.label, listed.mix.embeddings.label)


def test_a_missing_quant_type_is_refused_with_the_types_on_offer() -> None:
    repo = load_catalog().repo("ernanhughes/Fin-R1-Q8_0-GGUF")
    assert repo is not None
    with pytest.raises(QuantNotAvailableError, match=r"no Q4_K_M file \(it offers Q8_0\)"):
        repo.quant_file("q4_k_m")


def test_hub_listing_of_a_gguf_repository_keeps_single_file_ggufs_only() -> None:
    snapshot = RepoSnapshot("someone/Fin-R1-GGUF", "c" * 40, (
        RemoteFile("Fin-R1.Q8_0.gguf", 8_090_000_000, "a" * 64, "b" * 40),
        RemoteFile("Fin-R1.F16-00001-of-00002.gguf", 9_000_000_000, "d" * 64, None),
        RemoteFile("mmproj-Fin-R1-f16.gguf", 600_000_000, "e" * 64, None),
        RemoteFile("README.md", 2000, None, "f" * 40),
    ))
    repo = repo_from_snapshot(snapshot)
    assert repo.kind is RepoKind.GGUF and repo.commit == "c" * 40
    assert [file.filename for file in repo.files] == ["Fin-R1.Q8_0.gguf"]
    assert repo.files[0].sha256 == "a" * 64 and repo.files[0].from_hub


def test_hub_listing_of_a_checkpoint_takes_weights_config_and_tokenizer_only() -> None:
    names = ["config.json", "model-00001-of-00004.safetensors", "model.safetensors.index.json",
             "tokenizer.json", "merges.txt", "vocab.json", "README.md", ".gitattributes",
             "pytorch_model.bin", "original/consolidated.pth", "LICENSE"]
    snapshot = RepoSnapshot("org/model", "c" * 40,
                            tuple(RemoteFile(name, 10, None, "b" * 40) for name in names))
    repo = repo_from_snapshot(snapshot)
    assert repo.kind is RepoKind.CHECKPOINT
    assert sorted(file.filename for file in repo.files) == sorted(
        name for name in names if is_checkpoint_file(name))
    assert not {".gitattributes", "pytorch_model.bin", "original/consolidated.pth"} & {
        file.filename for file in repo.files}


def test_every_repository_is_described_in_english_and_chinese(tmp_path: Path) -> None:
    catalog = load_catalog()
    for repo in catalog.repos:
        assert repo.title and repo.title_zh, repo.repo_id
        assert repo.title_in("zh") == repo.title_zh and repo.title_in("en") == repo.title
    # a hub listing cached for offline starts keeps the shipped descriptions
    shipped = catalog.repo("mradermacher/Fin-R1-GGUF")
    assert shipped is not None
    cache = tmp_path / "catalog-cache.json"
    remember_repo(cache, replace(shipped, title="old", title_zh="", refreshed_at=1.0))
    cached = load_catalog(cache).repo("mradermacher/Fin-R1-GGUF")
    assert cached is not None and cached.refreshed_at == 1.0
    assert (cached.title, cached.title_zh) == (shipped.title, shipped.title_zh)


def test_an_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "catalog-cache.json"
    cache.write_text("{not json", encoding="utf-8")
    assert load_catalog(cache) == load_catalog()
    cache.write_text(json.dumps({"version": 99, "repos": {}}), encoding="utf-8")
    assert load_catalog(cache) == load_catalog()


def test_a_malformed_shipped_catalog_is_an_error_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "catalog.toml").write_text('default_gguf_repo = "x"\n', encoding="utf-8")
    monkeypatch.setenv("FINR1_RESOURCES", str(tmp_path))
    with pytest.raises(CatalogError, match=r"catalog\.toml is malformed"):
        load_catalog()

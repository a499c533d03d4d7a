"""The hub catalog: where Fin-R1 lives and which file holds which quant type.

(Refreshing from a hub is tested against the stand-in hub in test_download.py.)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.catalog import (
    RepoKind,
    is_checkpoint_file,
    load_catalog,
    quant_type_in_filename,
    remember_repo,
    repo_from_snapshot,
)
from app.core.errors import CatalogError, QuantNotAvailableError
from app.core.hub_client import RemoteFile, RepoSnapshot
from quant.formats import quant_type


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
        "Mungert/Fin-R1-GGUF": "Fin-R1-q4_k_m.gguf",
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


@pytest.mark.parametrize(("filename", "expected"), [
    ("Fin-R1.Q4_K_M.gguf", "q4_k_m"),
    ("Fin-R1.i1-IQ3_XS.gguf", "iq3_xs"),
    ("Fin-R1-q8_0.gguf", "q8_0"),
    ("fin-r1-q4_k_s.gguf", "q4_k_s"),
    ("Fin-R1.BF16.gguf", "bf16"),
    ("sub/dir/Fin-R1.Q6_K.gguf", "q6_k"),
])
def test_quant_type_is_read_from_each_uploaders_naming(filename: str, expected: str) -> None:
    assert quant_type_in_filename(filename) == quant_type(expected)


@pytest.mark.parametrize("filename", [
    "Fin-R1-q4_k.gguf",  # which K mix? not guessed
    "Fin-R1-q6_k_m.gguf",  # an uploader's own mix, not llama.cpp's Q6_K
    "Fin-R1.Q3_K_L.gguf",  # a type outside the table
    "README.md",
])
def test_names_that_do_not_state_a_known_type_map_to_none(filename: str) -> None:
    assert quant_type_in_filename(filename) is None


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

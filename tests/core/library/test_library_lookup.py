"""Finding a model in the library by its SHA-256 (what a download or an import asks before adding
bytes the library may already hold): the right one among many, never one whose file changed."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from app.core.library.model_library import ImportMode, Library, ModelStatus
from tests.support.small_gguf import write_small_gguf


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_ggufs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "incoming"
    folder.mkdir()
    return [write_small_gguf(folder / f"small-{seed}.gguf", seed) for seed in range(24)]


def test_the_model_with_the_hash_is_found_among_many(library: Library,
                                                     small_ggufs: list[Path]) -> None:
    entries = [library.import_path(path, ImportMode.LINK) for path in small_ggufs]
    for wanted in (entries[0], entries[11], entries[-1]):
        found = library.find_by_sha256(wanted.sha256.upper())
        assert found is not None and found.id == wanted.id
    assert library.find_by_sha256("0" * 64) is None


def test_a_model_whose_file_changed_is_not_found_but_an_intact_copy_is(
        library: Library, small_ggufs: list[Path], tmp_path: Path) -> None:
    for path in small_ggufs[1:]:
        library.import_path(path, ImportMode.LINK)
    original = small_ggufs[0]
    sha256 = sha256_of(original)
    copy = shutil.copy2(original, tmp_path / "copy.gguf")
    changed = library.import_path(original, ImportMode.LINK)
    os.utime(original, ns=(0, 1_000_000_000))  # same bytes, but no longer as verified
    assert library.get(changed.id).status is ModelStatus.CHANGED
    assert library.find_by_sha256(sha256) is None
    intact = library.import_path(copy, ImportMode.LINK)  # not taken for the changed one
    assert intact.id != changed.id
    found = library.find_by_sha256(sha256)
    assert found is not None and found.id == intact.id

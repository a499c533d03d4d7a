"""The offline model pack: which model files beside the app are offered for import."""

from __future__ import annotations

from pathlib import Path

from app.core.installation.paths import PORTABLE_MARKER
from app.core.library.model_pack import SOURCES_FILE, find_offline_model_files, model_pack_folders


def _gguf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + bytes(60))
    return path


def _checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(bytes(16))
    return folder


def _executable(folder: Path, name: str = "finr1-studio") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    executable = folder / name
    executable.write_bytes(b"\x7fELF")
    return executable


def test_portable_app_offers_models_beside_it_and_in_its_models_folder(tmp_path: Path) -> None:
    executable = _executable(tmp_path / "stick" / "app")
    (executable.parent / PORTABLE_MARKER).write_text("portable", encoding="utf-8")
    beside = _gguf(executable.parent / "fin-r1-q4_k_m.gguf")
    inside = _gguf(executable.parent / "models" / "fin-r1-q8_0.gguf")

    folders = model_pack_folders(executable, platform="linux", frozen=True, media_roots=[])

    assert find_offline_model_files(folders) == [beside, inside]


def test_only_real_ggufs_first_shards_and_checkpoint_folders_are_offered(tmp_path: Path) -> None:
    models = tmp_path / "models"
    whole = _gguf(models / "a.gguf")
    first_shard = _gguf(models / "b-00001-of-00002.gguf")
    _gguf(models / "b-00002-of-00002.gguf")
    (models / "not-a-model.gguf").write_bytes(b"<html>captive portal</html>")
    (models / "notes.txt").write_text("read me", encoding="utf-8")
    checkpoint = _checkpoint(models / "Fin-R1")
    (models / "empty-folder").mkdir()

    assert find_offline_model_files([models]) == [whole, first_shard, checkpoint]


def test_a_source_checkout_searches_only_removable_media(tmp_path: Path) -> None:
    executable = _executable(tmp_path / "venv" / "bin", "python")
    _gguf(executable.parent / "models" / "ignored.gguf")
    on_stick = _gguf(tmp_path / "media" / "analyst" / "USB" / "fin-r1.gguf")
    in_stick_models = _gguf(tmp_path / "media" / "analyst" / "USB" / "models" / "fin-r1-q8.gguf")

    folders = model_pack_folders(executable, platform="linux", frozen=False,
                                 media_roots=[tmp_path / "media" / "analyst"])

    assert find_offline_model_files(folders) == [on_stick, in_stick_models]


def test_an_installed_app_offers_its_models_folder(tmp_path: Path) -> None:
    executable = _executable(tmp_path / "opt" / "fin-r1-studio")
    dropped = _gguf(executable.parent / "models" / "fin-r1.gguf")

    folders = model_pack_folders(executable, platform="linux", frozen=True, media_roots=[])

    assert find_offline_model_files(folders) == [dropped]


def test_folders_the_installer_recorded_are_searched(tmp_path: Path) -> None:
    executable = _executable(tmp_path / "Program Files" / "Fin-R1 Studio", "finr1-studio.exe")
    installer_folder = tmp_path / "E" / "setup"
    (executable.parent / SOURCES_FILE).write_text(f"{installer_folder}\n\n", encoding="utf-8-sig")
    next_to_installer = _gguf(installer_folder / "fin-r1.gguf")

    folders = model_pack_folders(executable, platform="win32", frozen=True, media_roots=[])

    assert find_offline_model_files(folders) == [next_to_installer]


def test_on_macos_the_folder_holding_the_app_bundle_is_searched(tmp_path: Path) -> None:
    executable = _executable(tmp_path / "Volumes" / "Fin-R1 Studio" / "Fin-R1 Studio.app"
                             / "Contents" / "MacOS")
    beside_bundle = _gguf(tmp_path / "Volumes" / "Fin-R1 Studio" / "fin-r1.gguf")

    folders = model_pack_folders(executable, platform="darwin", frozen=True, media_roots=[])

    assert find_offline_model_files(folders) == [beside_bundle]


def test_a_file_reachable_twice_is_offered_once(tmp_path: Path) -> None:
    model = _gguf(tmp_path / "models" / "fin-r1.gguf")

    assert find_offline_model_files([tmp_path / "models", tmp_path / "models"]) == [model]


def test_missing_or_unreadable_folders_give_nothing_rather_than_an_error(tmp_path: Path) -> None:
    executable = tmp_path / "gone" / "finr1-studio"

    folders = model_pack_folders(executable, platform="linux", frozen=True,
                                 media_roots=[tmp_path / "no-media"])

    assert folders == []
    assert find_offline_model_files([tmp_path / "nowhere"]) == []

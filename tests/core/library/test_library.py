"""The model library: imports, the manifest, statuses, verify/remove, awkward disks and names,
two processes at once, and where app data lives."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.errors import (
    LibraryReadOnlyError,
    LibraryUnavailableError,
    ModelChangedError,
    ModelImportError,
    UnknownModelError,
)
from app.core.installation.paths import HOME_ENV_VAR, PORTABLE_MARKER, app_paths
from app.core.library.model_library import ImportMode, Library, ModelKind, ModelStatus, model_id_for
from foundation.atomic import PARTIAL_MARKER
from foundation.jobs import CancelToken, JobCancelled, Progress
from quant.gguf_check import validate_gguf
from tests.support.small_gguf import write_small_gguf

REPO_ROOT = Path(__file__).resolve().parents[3]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for_file(path: Path, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Wait until ``path`` exists; AssertionError (with the process's errors) when ``process``
    ends first or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the process ended before {path.name} appeared: "
                                 f"{process.communicate()[1]}")
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.01)


@pytest.fixture
def q8_gguf(tiny_gguf_factory: Callable[..., Path], tmp_path: Path) -> Path:
    """A private copy of the tiny Q8_0 GGUF that a test may move or change."""
    copy = tmp_path / "incoming" / "tiny-q8_0.gguf"
    copy.parent.mkdir()
    shutil.copy2(tiny_gguf_factory("q8_0"), copy)
    return copy


# -- importing ----------------------------------------------------------------------------------

def test_import_copies_a_gguf_reads_its_quant_type_and_records_its_hash(
        library: Library, q8_gguf: Path) -> None:
    events: list[Progress] = []
    entry = library.import_path(q8_gguf, ImportMode.COPY, on_progress=events.append)
    info = validate_gguf(q8_gguf)
    assert entry.status is ModelStatus.OK
    assert entry.kind is ModelKind.GGUF
    assert entry.quant_label == "Q8_0" and entry.quant_type is not None
    assert entry.sha256 == sha256_of(q8_gguf)
    assert entry.size_bytes == q8_gguf.stat().st_size
    assert (entry.architecture, entry.parameter_count) == ("qwen2", info.parameter_count)
    assert entry.path.parent.parent == library.root / "models"
    assert entry.path.read_bytes() == q8_gguf.read_bytes()
    assert q8_gguf.exists(), "copy mode keeps the original"
    assert entry.source == {"type": "import", "original_path": str(q8_gguf), "mode": "copy"}
    assert events[-1].done == events[-1].total == q8_gguf.stat().st_size


def test_import_move_takes_the_file_into_the_library(library: Library, q8_gguf: Path) -> None:
    expected = sha256_of(q8_gguf)
    entry = library.import_path(q8_gguf, ImportMode.MOVE)
    assert not q8_gguf.exists()
    assert entry.path.is_file() and entry.sha256 == expected


def test_linked_model_stays_in_place_and_removing_it_keeps_the_file(
        library: Library, q8_gguf: Path) -> None:
    entry = library.import_path(q8_gguf, ImportMode.LINK)
    assert entry.path == q8_gguf and not entry.owned
    assert not (library.root / "models").exists() or not any((library.root / "models").iterdir())
    library.remove(entry.id)
    assert q8_gguf.is_file()
    assert library.models() == []


def test_importing_the_same_file_twice_gives_one_model(library: Library, q8_gguf: Path) -> None:
    first = library.import_path(q8_gguf)
    second = library.import_path(q8_gguf)
    assert second.id == first.id
    assert [entry.id for entry in library.models()] == [first.id]
    assert len(list((library.root / "models").iterdir())) == 1


@pytest.mark.parametrize("content", [b"", b"not a model at all" * 100, b"GGUF\x03\x00\x00\x00"])
def test_a_file_that_is_not_a_valid_gguf_is_refused_and_leaves_nothing(
        library: Library, tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelImportError, match=r"bad\.gguf"):
        library.import_path(bad)
    assert library.models() == []
    assert not (library.root / "models").exists() or not any((library.root / "models").iterdir())


def test_a_truncated_gguf_is_refused(library: Library, q8_gguf: Path) -> None:
    os.truncate(q8_gguf, q8_gguf.stat().st_size // 2)
    with pytest.raises(ModelImportError, match="truncated"):
        library.import_path(q8_gguf)
    assert library.models() == []


def test_cancelled_import_leaves_nothing_behind(library: Library, tmp_path: Path) -> None:
    big = write_small_gguf(tmp_path / "big.gguf", 1)
    with open(big, "ab") as handle:  # padding after the last tensor keeps the GGUF valid
        handle.write(b"\0" * (9 << 20))
    token = CancelToken()

    def cancel_on_first_chunk(_progress: Progress) -> None:
        token.cancel()

    with pytest.raises(JobCancelled):
        library.import_path(big, on_progress=cancel_on_first_chunk, cancel=token)
    assert library.models() == []
    assert not any((library.root / "models").rglob("*"))


def test_a_cancelled_move_keeps_the_persons_file_where_it_was(
        library: Library, q8_gguf: Path, tiny_checkpoint_factory: Callable[..., Path],
        tmp_path: Path) -> None:
    big = write_small_gguf(q8_gguf.parent / "big.gguf", 1)
    with open(big, "ab") as handle:  # several hashing chunks, so the cancel lands mid-hash
        handle.write(b"\0" * (9 << 20))
    folder = shutil.copytree(tiny_checkpoint_factory(shards=2), tmp_path / "Fin-R1 checkpoint")
    for original in (big, folder):
        before = sorted(path.name for path in original.parent.iterdir())
        token = CancelToken()

        def cancel_on_first_report(_progress: Progress, token: CancelToken = token) -> None:
            token.cancel()

        with pytest.raises(JobCancelled):
            library.import_path(original, ImportMode.MOVE, on_progress=cancel_on_first_report,
                                cancel=token)
        assert original.exists(), f"{original.name} was lost by a cancelled move"
        assert sorted(path.name for path in original.parent.iterdir()) == before
    assert library.models() == []


def test_checkpoint_folder_is_imported_after_config_tokenizer_and_shards_are_checked(
        library: Library, tiny_checkpoint_factory: Callable[..., Path], tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_checkpoint_factory(shards=2), tmp_path / "Fin-R1 checkpoint")
    (folder / "pytorch_model.bin").write_bytes(b"pickled weights are never taken")
    entry = library.import_path(folder)
    assert entry.kind is ModelKind.CHECKPOINT and entry.status is ModelStatus.OK
    assert entry.architecture == "qwen2" and entry.quant_label == "BF16"
    names = {file.name for file in entry.files}
    assert {"config.json", "tokenizer.json", "tokenizer_config.json",
            "model.safetensors.index.json"} <= names
    assert sum(name.endswith(".safetensors") for name in names) == 2
    assert "pytorch_model.bin" not in names
    for file in entry.files:
        assert sha256_of(entry.path / file.name) == file.sha256


@pytest.mark.parametrize(("remove", "complaint"), [
    ("model-00002-of-00002.safetensors", "model-00002-of-00002.safetensors"),
    ("tokenizer.json", "tokenizer.json"),
    ("config.json", "config.json"),
])
def test_incomplete_checkpoint_folder_is_refused_naming_what_is_missing(
        library: Library, tiny_checkpoint_factory: Callable[..., Path], tmp_path: Path,
        remove: str, complaint: str) -> None:
    folder = shutil.copytree(tiny_checkpoint_factory(shards=2), tmp_path / "checkpoint")
    (folder / remove).unlink()
    with pytest.raises(ModelImportError, match=complaint.replace(".", r"\.")):
        library.import_path(folder)
    assert library.models() == []


def test_names_with_spaces_and_non_ascii_characters_are_kept(
        tmp_path: Path, tiny_gguf_factory: Callable[..., Path]) -> None:
    source = tmp_path / "来自 U 盘" / "Fin R1 金融 模型.gguf"
    source.parent.mkdir()
    shutil.copy2(tiny_gguf_factory("q8_0"), source)
    with Library(tmp_path / "模型 library") as library:
        entry = library.import_path(source)
        assert entry.name == "Fin R1 金融 模型.gguf"
        assert entry.path.name == "Fin R1 金融 模型.gguf" and entry.path.is_file()
        assert entry.id == "fin-r1"
        linked = library.import_path(write_small_gguf(tmp_path / "来自 U 盘" / "金融.gguf", 3),
                                     ImportMode.LINK)
        assert linked.id == "model" and linked.status is ModelStatus.OK
        assert [result.ok for result in library.verify()] == [True, True]


def test_model_ids_are_short_ascii_slugs() -> None:
    assert model_id_for("Fin-R1.Q4_K_M.gguf") == "fin-r1-q4_k_m"
    assert model_id_for("Fin-R1") == "fin-r1"
    assert model_id_for("财经.gguf") == "model"


# -- status, verify, remove ---------------------------------------------------------------------

def test_file_deleted_behind_its_back_is_missing_and_can_still_be_removed(
        library: Library, q8_gguf: Path) -> None:
    entry = library.import_path(q8_gguf)
    entry.path.unlink()
    missing = library.get(entry.id)
    assert missing.status is ModelStatus.MISSING and "missing" in (missing.problem or "")
    with pytest.raises(ModelChangedError, match="missing"):
        library.path_for_use(entry.id)
    assert library.verify(entry.id)[0].ok is False
    library.remove(entry.id)
    assert library.models() == []


def test_changed_file_is_flagged_and_refused_until_verified(library: Library,
                                                            q8_gguf: Path) -> None:
    entry = library.import_path(q8_gguf)
    assert library.path_for_use(entry.id) == entry.path
    data = bytearray(entry.path.read_bytes())
    data[-1] ^= 0xFF
    entry.path.write_bytes(bytes(data))
    assert library.get(entry.id).status is ModelStatus.CHANGED
    with pytest.raises(ModelChangedError, match="changed since it was verified"):
        library.path_for_use(entry.id)
    result = library.verify(entry.id)[0]
    assert not result.ok and result.entry.status is ModelStatus.CORRUPT
    with pytest.raises(ModelChangedError):
        library.path_for_use(entry.id)


def test_a_touched_but_identical_file_is_usable_again_after_verify(
        library: Library, q8_gguf: Path) -> None:
    entry = library.import_path(q8_gguf)
    os.utime(entry.path, ns=(0, 1_000_000_000))
    assert library.get(entry.id).status is ModelStatus.CHANGED
    result = library.verify(entry.id)[0]
    assert result.ok and result.entry.status is ModelStatus.OK
    assert library.path_for_use(entry.id) == entry.path


def test_removing_an_owned_model_deletes_its_files(library: Library, q8_gguf: Path) -> None:
    entry = library.import_path(q8_gguf)
    library.remove(entry.id)
    assert not entry.path.exists() and not entry.path.parent.exists()
    with pytest.raises(UnknownModelError, match=entry.id):
        library.get(entry.id)


_HALTS_MID_COPY = textwrap.dedent("""
    import sys
    import time
    from pathlib import Path
    from app.core.library.model_library import Library
    root, source, halted = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

    def halt_mid_copy(progress):
        if progress.stage == "copy" and progress.done < progress.total:
            halted.touch()
            time.sleep(120)  # the test kills the process here

    with Library(root) as library:
        library.import_path(source, on_progress=halt_mid_copy)
""")


def test_interrupted_add_shows_as_incomplete_and_remove_clears_it(
        library: Library, tmp_path: Path) -> None:
    big = write_small_gguf(tmp_path / "big.gguf", 1)
    with open(big, "ab") as handle:  # several copy chunks, so the kill lands mid-copy
        handle.write(b"\0" * (9 << 20))
    halted = tmp_path / "halted mid-copy"
    adder = subprocess.Popen([sys.executable, "-c", _HALTS_MID_COPY, str(library.root), str(big),
                              str(halted)], env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                             stderr=subprocess.PIPE, text=True)
    try:
        wait_for_file(halted, adder)
        [partial] = (library.root / "models").rglob(f"*{PARTIAL_MARKER}*")
        assert 0 < partial.stat().st_size < big.stat().st_size
    finally:
        adder.send_signal(signal.SIGKILL)  # nothing to do when it already ended
        adder.communicate(timeout=30)
    assert adder.returncode == -signal.SIGKILL
    (entry,) = library.models()
    assert entry.status is ModelStatus.INCOMPLETE
    library.remove(entry.id)
    assert library.models() == []
    assert not any((library.root / "models").iterdir())
    added_again = library.import_path(big)
    assert added_again.status is ModelStatus.OK and added_again.sha256 == sha256_of(big)


# -- disks --------------------------------------------------------------------------------------

def test_library_on_a_read_only_disk_lists_and_serves_but_refuses_changes(
        small_filesystem: Callable[[int], Path], q8_gguf: Path) -> None:
    disk = small_filesystem(16 << 20)
    with Library(disk / "library") as library:
        entry = library.import_path(q8_gguf)
    remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True,
                             text=True, check=False)
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
    with Library(disk / "library") as library:
        assert library.read_only
        assert [model.id for model in library.models()] == [entry.id]
        assert library.path_for_use(entry.id) == entry.path
        assert [result.ok for result in library.verify()] == [True]
        with pytest.raises(LibraryReadOnlyError, match="read-only"):
            library.import_path(q8_gguf)
        with pytest.raises(LibraryReadOnlyError):
            library.remove(entry.id)


def test_chosen_library_on_a_disk_that_is_not_connected_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path / "home"))
    unplugged = tmp_path / "media" / "usb-disk" / "Fin-R1 library"
    with pytest.raises(LibraryUnavailableError, match="cannot be reached"):
        Library.open_default(unplugged)
    assert not (tmp_path / "media").exists(), "nothing is created in place of the missing disk"


def test_library_not_yet_created_at_a_reachable_chosen_location_is_created(
        tmp_path: Path) -> None:
    with Library.open_default(tmp_path / "lib") as library:
        assert library.models() == [] and (tmp_path / "lib").is_dir()


def test_import_refuses_before_copying_when_the_disk_is_too_small(
        small_filesystem: Callable[[int], Path], q8_gguf: Path) -> None:
    from app.core.errors import NotEnoughDiskSpaceError

    disk = small_filesystem(1 << 20)
    with Library(disk / "library") as library:
        with pytest.raises(NotEnoughDiskSpaceError, match="not enough disk space"):
            library.import_path(q8_gguf)
        assert library.models() == []


# -- two processes ------------------------------------------------------------------------------

_IMPORTER = textwrap.dedent("""
    import json
    import sys
    import time
    from pathlib import Path
    from app.core.library.model_library import Library
    root, folder, barrier = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    with Library(root) as library:
        (barrier / f"ready {folder.name}").touch()
        deadline = time.monotonic() + 60
        while not (barrier / "go").exists():
            if time.monotonic() > deadline:
                sys.exit("the go signal never came")
            time.sleep(0.001)
        started = time.monotonic()
        for path in sorted(folder.glob("*.gguf")):
            library.import_path(path)
            library.models()
        print(json.dumps([started, time.monotonic()]))
""")


def test_two_processes_adding_models_at_once_both_succeed(tmp_path: Path) -> None:
    folders = []
    for process in range(2):
        folder = tmp_path / f"incoming-{process}"
        folder.mkdir()
        for index in range(8):
            write_small_gguf(folder / f"model {index}.gguf", seed=process * 100 + index)
        folders.append(folder)
    root = tmp_path / "shared library"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", _IMPORTER, str(root), str(folder),
                                 str(barrier)],
                                env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
               for folder in folders]
    try:
        for worker, folder in zip(workers, folders, strict=True):
            wait_for_file(barrier / f"ready {folder.name}", worker)
        (barrier / "go").touch()  # both start adding now
        spans = []
        for worker in workers:
            output, errors = worker.communicate(timeout=120)
            assert worker.returncode == 0, errors
            spans.append(json.loads(output))
    finally:
        for worker in workers:
            worker.kill()  # a no-op for one that ended; one that failed must not strand the other
            worker.communicate()
    assert max(start for start, _ in spans) < min(end for _, end in spans), "the adds did not overlap"
    with Library(root) as library:
        entries = library.models()
    assert len(entries) == 16
    assert len({entry.id for entry in entries}) == 16
    assert all(entry.status is ModelStatus.OK for entry in entries)
    assert all(sha256_of(entry.path) == entry.sha256 for entry in entries)
    assert {entry.id for entry in entries} >= {"model-0", "model-0-2"}


# -- where app data lives -----------------------------------------------------------------------

def test_finr1_home_holds_all_app_data(tmp_path: Path) -> None:
    paths = app_paths({HOME_ENV_VAR: str(tmp_path / "home")}, "linux", "/usr/bin/python3",
                      home=tmp_path)
    assert paths.mode == HOME_ENV_VAR
    assert paths.default_library_dir == tmp_path / "home" / "library"
    assert paths.settings_file.parent == paths.history_db.parent == tmp_path / "home"


def test_portable_mode_keeps_data_beside_the_executable(tmp_path: Path) -> None:
    (tmp_path / "FinR1Studio" / "bin").mkdir(parents=True)
    (tmp_path / "FinR1Studio" / PORTABLE_MARKER).write_text("")
    executable = tmp_path / "FinR1Studio" / "bin" / "python3"
    paths = app_paths({}, "linux", str(executable), home=tmp_path / "user")
    assert paths.mode == "portable"
    assert paths.data_dir == tmp_path / "FinR1Studio" / "finr1-data"


@pytest.mark.parametrize(("platform", "environ", "data", "config"), [
    ("linux", {}, ".local/share/fin-r1-studio", ".config/fin-r1-studio"),
    ("linux", {"XDG_DATA_HOME": "/xdg/data", "XDG_CONFIG_HOME": "/xdg/config"},
     "/xdg/data/fin-r1-studio", "/xdg/config/fin-r1-studio"),
    ("darwin", {}, "Library/Application Support/Fin-R1 Studio",
     "Library/Application Support/Fin-R1 Studio"),
    ("win32", {"LOCALAPPDATA": "/Users/a/AppData/Local", "APPDATA": "/Users/a/AppData/Roaming"},
     "/Users/a/AppData/Local/Fin-R1 Studio", "/Users/a/AppData/Roaming/Fin-R1 Studio"),
])
def test_platform_folders_follow_each_systems_convention(
        tmp_path: Path, platform: str, environ: dict[str, str], data: str, config: str) -> None:
    paths = app_paths(environ, platform, str(tmp_path / "bin" / "python"), home=tmp_path)
    assert paths.mode == "platform"
    assert paths.data_dir == tmp_path / data
    assert paths.config_dir == tmp_path / config


def test_library_location_setting_overrides_the_data_folder(tmp_path: Path) -> None:
    paths = app_paths({HOME_ENV_VAR: str(tmp_path)}, "linux", "/usr/bin/python3")
    assert paths.library_dir("/mnt/big disk/models") == Path("/mnt/big disk/models")
    assert paths.library_dir("  ") == paths.default_library_dir


def test_list_json_of_the_cli_describes_each_model(
        tmp_path: Path, q8_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    library_dir = tmp_path / "cli library"
    assert main(["models", "--library", str(library_dir), "import", str(q8_gguf), "--link"]) == 0
    capsys.readouterr()
    assert main(["models", "--library", str(library_dir), "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["quant_type"] == "Q8_0" and listed["status"] == "ok"
    assert listed["sha256"] == sha256_of(q8_gguf) and listed["owned"] is False
    assert main(["models", "--library", str(library_dir), "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    assert main(["models", "--library", str(library_dir), "remove", listed["id"]]) == 0
    assert q8_gguf.is_file()


def test_cli_uses_the_saved_library_location_and_a_flag_overrides_it(
        tmp_path: Path, q8_gguf: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main
    from app.core.installation.settings import AppSettings, save_settings

    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path / "home"))
    save_settings(AppSettings(library_dir=str(tmp_path / "bigger disk")))
    assert main(["models", "import", str(q8_gguf), "--link"]) == 0
    capsys.readouterr()
    assert main(["models", "list", "--json"]) == 0
    assert [model["id"] for model in json.loads(capsys.readouterr().out)] == ["tiny-q8_0"]
    assert (tmp_path / "bigger disk" / "manifest.sqlite3").is_file()
    assert main(["models", "--library", str(tmp_path / "other"), "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

"""Outputs that name a folder or a place that cannot be written fail before any work, as one line
(``finr1: error: …``, status 2), never as a traceback after minutes of work."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.cli import main as cli_main
from foundation.errors import OutputPathError
from foundation.output_path import check_output_file


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Callable[[dict[str, bytes]], Path]]:
    """``read_only_folder({name: bytes})``: a folder holding those files that this process
    cannot write in: a read-only tmpfs when running as root (whom permissions do not stop),
    else a folder without write permission."""
    mounts: list[Path] = []
    folders: list[Path] = []

    def make(files: dict[str, bytes]) -> Path:
        folder = tmp_path / f"read-only-{len(mounts) + len(folders)}"
        folder.mkdir()
        if os.geteuid() != 0:
            for name, content in files.items():
                (folder / name).write_bytes(content)
            folder.chmod(0o555)
            folders.append(folder)
            return folder
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)],
                                 capture_output=True, text=True, check=False)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        mounts.append(folder)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        return folder

    yield make
    for folder in folders:
        folder.chmod(0o755)
    for mount_point in mounts:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    status = cli_main(list(arguments))
    return status, capsys.readouterr().err


def assert_one_line_error(status: int, err: str, *phrases: str) -> None:
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("finr1: error: ")
    for phrase in phrases:
        assert phrase in lines[-1]


# -- the check -----------------------------------------------------------------------------------

def test_a_folder_is_no_output_file(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match=r"is a folder; give the output a file name, e\.g\."):
        check_output_file(tmp_path)


def test_an_output_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_file(tmp_path / "plain-file" / "deeper" / "out.gguf")


def test_an_output_in_folders_still_to_be_made_is_fine_and_nothing_is_made(
        tmp_path: Path) -> None:
    target = tmp_path / "new" / "folders" / "out.gguf"
    assert check_output_file(target) == target
    assert not (tmp_path / "new").exists()


def test_a_read_only_place_is_refused(
        read_only_folder: Callable[[dict[str, bytes]], Path]) -> None:
    folder = read_only_folder({})
    with pytest.raises(OutputPathError, match="read-only or not yours to write in"):
        check_output_file(folder / "sub" / "out.gguf")


# -- the commands ----------------------------------------------------------------------------------

def test_convert_to_an_existing_folder_is_one_line(
        tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    status, err = run_cli(capsys, "convert", str(tiny_checkpoint), "-o", str(folder))
    assert_one_line_error(status, err, "is a folder", str(folder / "model.gguf"))
    assert list(folder.iterdir()) == []


def test_convert_into_a_read_only_folder_is_one_line(
        tiny_checkpoint: Path, read_only_folder: Callable[[dict[str, bytes]], Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = read_only_folder({})
    status, err = run_cli(capsys, "convert", str(tiny_checkpoint), "-o", str(folder / "x.gguf"))
    assert_one_line_error(status, err, "read-only")


def test_imatrix_to_a_folder_fails_before_evaluating_anything(
        tiny_bf16_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_cli(capsys, "imatrix", str(tiny_bf16_gguf), "-o", str(tmp_path),
                          "--chunks", "1", "--threads", "1")
    assert_one_line_error(status, err, "is a folder", "importance matrix")
    assert "%" not in err  # no progress bar: it stopped before the work


def evaluate_in_read_only_folder(
        tiny_bf16_gguf: Path, read_only_folder: Callable[[dict[str, bytes]], Path],
        capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    """``finr1 evaluate`` of a copy of the tiny model kept in a read-only folder, against the
    model itself, on one chunk with no decode timing; returns the status and stderr."""
    folder = read_only_folder({"model.gguf": tiny_bf16_gguf.read_bytes()})
    return run_cli(capsys, "evaluate", "--reference", str(tiny_bf16_gguf),
                   str(folder / "model.gguf"), "--chunks", "1", "--threads", "1",
                   "--decode-tokens", "0", *options)


def test_evaluate_beside_models_in_a_read_only_folder_fails_before_evaluating(
        tiny_bf16_gguf: Path, read_only_folder: Callable[[dict[str, bytes]], Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    status, err = evaluate_in_read_only_folder(tiny_bf16_gguf, read_only_folder, capsys)
    assert_one_line_error(status, err, "read-only", "--no-save")
    assert "%" not in err


def test_evaluate_with_no_save_does_not_need_a_writable_folder(
        tiny_bf16_gguf: Path, read_only_folder: Callable[[dict[str, bytes]], Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    status, _err = evaluate_in_read_only_folder(tiny_bf16_gguf, read_only_folder, capsys,
                                                "--no-save", "--ctx", "64")
    assert status == 0


def test_export_to_a_folder_is_one_line(tmp_path: Path, app_home: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_cli(capsys, "export", "1", "--format", "pdf", "-o", str(tmp_path))
    assert_one_line_error(status, err, "is a folder", "conversation.pdf")

"""Outputs appear under their final name only when complete; killed writers' leftovers are cleaned."""

from __future__ import annotations

import subprocess
import sys

import pytest

from foundation.atomic import atomic_output, partial_path_for, remove_stale_partials


def test_output_appears_only_on_success(tmp_path):
    final = tmp_path / "model.gguf"
    with atomic_output(final) as temp:
        temp.write_bytes(b"complete")
        assert not final.exists()
    assert final.read_bytes() == b"complete"
    assert [path.name for path in tmp_path.iterdir()] == ["model.gguf"]


def test_failure_keeps_the_previous_file_and_leaves_no_partial(tmp_path):
    final = tmp_path / "model.gguf"
    final.write_bytes(b"previous")
    with pytest.raises(RuntimeError), atomic_output(final) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert final.read_bytes() == b"previous"
    assert [path.name for path in tmp_path.iterdir()] == ["model.gguf"]


def test_partial_of_a_killed_writer_is_removed_and_a_live_ones_kept(tmp_path):
    final = tmp_path / "model q4 模型.gguf"
    dead_writer = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                 capture_output=True, text=True, check=True)
    dead_partial = partial_path_for(final).with_name(
        f".{final.name}.partial-{dead_writer.stdout.strip()}-abcdef")
    dead_partial.write_bytes(b"left by a killed process")
    live_partial = partial_path_for(final)  # this process's, still alive
    live_partial.write_bytes(b"being written")
    unrelated = tmp_path / ".other.gguf.partial-1-abc"
    unrelated.write_bytes(b"not ours")

    assert remove_stale_partials(final) == [dead_partial]
    assert live_partial.exists() and unrelated.exists() and not dead_partial.exists()


def test_on_a_read_only_disk_the_writers_own_error_is_raised(small_filesystem) -> None:
    """Even the unlink of a missing partial fails with EROFS there; that cleanup must not replace
    the error that made the write stop."""
    disk = small_filesystem(1 << 20)
    if subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("cannot remount a tmpfs read-only here")
    with pytest.raises(ValueError, match="the writer's own error"), \
            atomic_output(disk / "model.gguf"):
        raise ValueError("the writer's own error")

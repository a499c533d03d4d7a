"""Sizes as people read them, and the free-space check before long writes (foundation.disk_space)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.disk_space import human_bytes, require_free_space
from foundation.errors import DiskFullError, NotEnoughDiskSpaceError, raise_if_disk_full


@pytest.mark.parametrize(("count", "text"), [
    (0, "0 B"), (512, "512 B"), (999, "999 B"), (1000, "1.00 KB"), (98_362_432, "98.4 MB"),
    (4_680_000_000, "4.68 GB"), (2_000_000_000, "2.00 GB"), (15_240_000_000, "15.2 GB"),
    (50_000_000, "50.0 MB"), (123_456_789, "123 MB"), (999_600_000, "1.00 GB"),
    (9_996_000, "10.0 MB"), (99_960_000, "100 MB"), (3_200_000_000_000, "3.20 TB"),
    (1_500_000_000_000_000, "1500 TB"),
])
def test_a_size_reads_with_three_significant_digits_in_decimal_units(count: int, text: str) -> None:
    assert human_bytes(count) == text


def test_room_for_the_write_plus_a_reserve_passes(tmp_path: Path) -> None:
    require_free_space(tmp_path / "not-yet" / "model.gguf", 1, "the model")


def test_too_little_room_is_refused_saying_what_needs_how_much_and_what_to_do(
        tmp_path: Path) -> None:
    with pytest.raises(NotEnoughDiskSpaceError) as refused:
        require_free_space(tmp_path, 10**18, "the converted model", remedy="pick another folder")
    message = str(refused.value)
    assert "the converted model needs 1000000 TB" in message and "pick another folder" in message
    assert isinstance(refused.value, DiskFullError)  # code catching a full disk catches this too


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's always-full device")
def test_a_write_to_a_full_disk_becomes_a_disk_full_error_saying_what_to_do() -> None:
    with pytest.raises(OSError) as failed, open("/dev/full", "wb", buffering=0) as full_disk:
        full_disk.write(b"x")
    with pytest.raises(DiskFullError, match="free some space") as raised:
        raise_if_disk_full(failed.value, "the disk is full; free some space")
    assert raised.value.__cause__ is failed.value


def test_other_os_errors_are_left_for_the_caller_to_raise(tmp_path: Path) -> None:
    with pytest.raises(OSError) as failed:
        (tmp_path / "no-such-folder" / "file").write_bytes(b"x")
    raise_if_disk_full(failed.value, "unused")  # returns: a missing folder is no full disk

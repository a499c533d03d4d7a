"""Building quants from a checkpoint folder into the library as one job: real conversion, real
importance matrix, real libllama quantization of the tiny Qwen2; progress across stages, cancel in
the middle of each stage, the disk-space check, and ``finr1 build``."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.errors import NotEnoughDiskSpaceError
from app.core.library.model_library import Library, ModelStatus
from app.core.local_build.build_job import (
    WORK_DIR_PREFIX,
    plan_build,
    remove_stale_work_dirs,
    run_build,
)
from foundation.jobs import CancelToken, JobCancelled, Progress
from quant.errors import ImatrixRequiredError
from quant.gguf_check import validate_gguf
from quant.quantize import IMATRIX_FILE_KEY
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.llm_support import THREADS


def leftovers(library: Library) -> list[Path]:
    """Everything in the download area (where builds work) after a build."""
    area = library.downloads_dir
    return sorted(area.rglob("*")) if area.exists() else []


def test_a_build_adds_each_type_verified_with_its_provenance_and_leaves_no_work_files(
        library: Library, tiny_checkpoint: Path) -> None:
    plan = plan_build(library, tiny_checkpoint, ["q4_k_m", "q8_0"], imatrix=False)
    result = run_build(plan, library, threads=THREADS)
    assert [entry.quant_label for entry in result.entries] == ["Q8_0", "Q4_K_M"]
    for entry in result.entries:
        assert entry.status is ModelStatus.OK
        assert entry.source["type"] == "build"
        assert entry.source["checkpoint"] == str(tiny_checkpoint.resolve())
        assert entry.path.name == f"checkpoint.{entry.quant_label}.gguf"
        assert validate_gguf(entry.path).file_type_label == entry.quant_label
    assert leftovers(library) == []


def test_progress_runs_through_the_plans_stages_in_order_and_ends_whole(
        library: Library, tiny_checkpoint: Path) -> None:
    plan = plan_build(library, tiny_checkpoint, ["q4_k_s"], imatrix_chunks=2)
    reports: list[Progress] = []
    run_build(plan, library, on_progress=reports.append, threads=THREADS)
    seen = list(dict.fromkeys(report.stage for report in reports))
    assert seen == [stage.name for stage in plan.stages]
    assert seen == ["convert", "imatrix", "quantize q4_k_s", "verify q4_k_s"]
    overall = [plan.overall_fraction(report) for report in reports]
    assert all(later >= earlier for earlier, later in itertools.pairwise(overall))
    assert overall[-1] == pytest.approx(1.0)


def test_low_bit_types_get_an_importance_matrix_by_default(library: Library,
                                                            tiny_checkpoint: Path) -> None:
    assert plan_build(library, tiny_checkpoint, ["q4_k_s"]).imatrix
    assert plan_build(library, tiny_checkpoint, ["iq3_s"]).imatrix
    assert not plan_build(library, tiny_checkpoint, ["q4_k_m", "q8_0"]).imatrix
    plan = plan_build(library, tiny_checkpoint, ["iq3_xs"], imatrix_chunks=2)
    entry = run_build(plan, library, threads=THREADS).entries[0]
    assert IMATRIX_FILE_KEY in validate_gguf(entry.path).metadata
    assert entry.source["imatrix_dataset"]


def test_a_type_that_needs_a_matrix_is_refused_without_one_before_any_work(
        library: Library, tiny_checkpoint: Path) -> None:
    with pytest.raises(ImatrixRequiredError, match="IQ3_XS"):
        plan_build(library, tiny_checkpoint, ["iq3_xs"], imatrix=False)


@pytest.mark.parametrize("name", ["q2_k", "f32", "nonsense"])
def test_types_outside_the_buildable_set_are_refused(library: Library, tiny_checkpoint: Path,
                                                     name: str) -> None:
    with pytest.raises(ValueError):
        plan_build(library, tiny_checkpoint, [name])


@pytest.mark.parametrize("stage", ["convert", "imatrix", "quantize iq3_s", "verify iq3_s"])
def test_a_cancel_in_the_middle_of_each_stage_leaves_nothing(
        library: Library, tiny_checkpoint: Path, stage: str) -> None:
    plan = plan_build(library, tiny_checkpoint, ["iq3_s"], imatrix_chunks=3)
    token = CancelToken()

    def cancel_inside(progress: Progress) -> None:
        if progress.stage == stage and progress.done > 0:
            token.cancel()

    with pytest.raises(JobCancelled):
        run_build(plan, library, on_progress=cancel_inside, cancel=token, threads=THREADS)
    assert library.models() == []
    assert leftovers(library) == []


def test_too_little_disk_is_refused_up_front_with_the_amount_needed(
        tiny_checkpoint: Path, small_filesystem: Callable[[int], Path]) -> None:
    disk = small_filesystem(2 << 20)
    with Library(disk / "library") as library:
        plan = plan_build(library, tiny_checkpoint, ["q8_0"])
        with pytest.raises(NotEnoughDiskSpaceError, match="MB") as raised:
            run_build(plan, library)
        assert "building Q8_0" in str(raised.value)
        assert library.models() == []
        assert leftovers(library) == []


def test_a_killed_builds_work_folder_is_removed_by_the_next_build(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f"{WORK_DIR_PREFIX}{dead.stdout.strip()}-abc"
    stale.mkdir()
    (stale / "Fin-R1.BF16.gguf").write_bytes(b"half")
    running = tmp_path / f"{WORK_DIR_PREFIX}{os.getpid()}-def"
    running.mkdir()
    assert remove_stale_work_dirs(tmp_path) == [stale]
    assert running.is_dir() and not stale.exists()


def test_the_cli_builds_into_the_given_library(tmp_path: Path, tiny_checkpoint: Path) -> None:
    library_dir = tmp_path / "library"
    completed = subprocess.run(
        finr1_command("build", str(tiny_checkpoint), "--type", "q8_0", "--library",
                      str(library_dir), "--name", "Tiny", "--threads", str(THREADS)),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={"FINR1_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    model_id, label, path = completed.stdout.strip().split("\t")
    assert label == "Q8_0" and Path(path).name == "Tiny.Q8_0.gguf"
    assert "needs" in completed.stderr
    with Library(library_dir) as library:
        assert library.get(model_id).status is ModelStatus.OK

"""Building quants: BF16 built together with another type, and model names
that would put files outside the build's work folder."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from app.core.errors import InvalidModelNameError
from app.core.library.model_library import Library, ModelStatus
from app.core.local_build.build_job import plan_build, run_build
from foundation.jobs import Progress
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.llm_support import THREADS


def test_bf16_built_with_a_quant_adds_both_in_the_plans_order(
        library: Library, tiny_checkpoint: Path) -> None:
    plan = plan_build(library, tiny_checkpoint, ["q8_0", "bf16"], imatrix=False)
    result = run_build(plan, library, threads=THREADS)
    assert [entry.quant_label for entry in result.entries] == ["BF16", "Q8_0"]
    assert all(entry.status is ModelStatus.OK for entry in result.entries)


def test_bf16_built_with_a_quant_reports_progress_through_the_plans_stages_in_order(
        library: Library, tiny_checkpoint: Path) -> None:
    plan = plan_build(library, tiny_checkpoint, ["bf16", "q8_0"], imatrix=False)
    reports: list[Progress] = []
    run_build(plan, library, on_progress=reports.append, threads=THREADS)
    assert list(dict.fromkeys(report.stage for report in reports)) == [
        stage.name for stage in plan.stages]
    overall = [plan.overall_fraction(report) for report in reports]
    assert all(later >= earlier for earlier, later in itertools.pairwise(overall))


@pytest.mark.parametrize("name", ["../Tiny", "sub/Tiny", "sub\\Tiny", ".."])
def test_a_model_name_that_is_not_a_plain_file_name_is_refused_before_any_work(
        library: Library, tiny_checkpoint: Path, name: str) -> None:
    with pytest.raises(InvalidModelNameError, match="choose one without"):
        plan_build(library, tiny_checkpoint, ["q8_0"], model_name=name)


def test_the_cli_refuses_a_model_name_with_a_folder_in_it_and_writes_nothing(
        tmp_path: Path, tiny_checkpoint: Path) -> None:
    library_dir = tmp_path / "library"
    completed = subprocess.run(
        finr1_command("build", str(tiny_checkpoint), "--type", "q8_0", "--library",
                      str(library_dir), "--name", "../Tiny", "--threads", str(THREADS)),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={"FINR1_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 2
    assert completed.stderr.startswith("finr1: error: the model name '../Tiny'")
    assert list(library_dir.rglob("*.gguf")) == []

"""``finr1-studio --self-test --n-gpu-layers N --device NAME``: the installer check asks for the GPU
layers and device it wants (lavapipe, all layers) and reads from the self-test's own model-load
line where llama.cpp put them, or why the CPU runs the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.main import build_parser
from tests.ui.test_self_test import run_self_test


def model_load_line(stdout: str) -> str:
    return next((line for line in stdout.splitlines() if "model load" in line), "")


def test_a_gpu_layer_count_that_is_not_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["--self-test", "--model", "m.gguf", "--n-gpu-layers", "lots"])

    assert stopped.value.code == 2
    assert "GPU layers must be 'auto', 0 (CPU only), -1 (all)" in capsys.readouterr().err


def test_all_layers_asked_for_where_no_gpu_is_usable_runs_on_the_cpu_and_says_why(
        tmp_path: Path, tiny_bf16_gguf: Path) -> None:
    done = run_self_test(tmp_path, "--model", str(tiny_bf16_gguf), "--scenario", "calculation",
                         "--max-tokens", "8", "--n-gpu-layers", "-1",
                         steered_to_text=tiny_bf16_gguf)

    line = model_load_line(done.stdout)
    if "GPU:" in line:
        pytest.skip("llama.cpp has a usable GPU here: this checks the fallback to the CPU")
    assert done.returncode == 0, done.stdout + done.stderr
    assert line.startswith("self-test: ok   model load:") and " CPU · " in line
    assert "; warning: " in line and "the model runs on the CPU" in line


def test_a_device_llama_cpp_does_not_list_fails_the_model_load_naming_it(
        tmp_path: Path, tiny_bf16_gguf: Path) -> None:
    done = run_self_test(tmp_path, "--model", str(tiny_bf16_gguf), "--device", "NoSuchGPU7",
                         "--timeout", "120")

    assert done.returncode == 1
    assert model_load_line(done.stdout).startswith("self-test: FAIL model load")
    assert "no device called 'NoSuchGPU7'" in done.stdout

"""Machine detection, memory estimates (held against real loaded models) and the fit advice."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import llama_cpp
import pytest

from app.core.hardware.fit import (
    FIN_R1_DIMS,
    FitLevel,
    ModelDims,
    advise,
    estimate_memory,
    table_weights_bytes,
)
from app.core.hardware.machine import (
    GpuInfo,
    MachineInfo,
    detect_machine,
    instruction_set_level,
    memory_bytes,
    parse_llama_system_info,
    parse_nvidia_smi,
    physical_cores,
)
from quant.formats import quant_type
from quant.gguf_check import validate_gguf

REPO_ROOT = Path(__file__).resolve().parents[3]
GIB = 1 << 30
KIB = 1 << 10


def machine(ram_gb: float, *, gpu_gb: float | None = None, offload: bool = True,
            unified: bool = False) -> MachineInfo:
    gpus = ()
    if gpu_gb is not None:
        gpus = (GpuInfo("Test GPU", "apple" if unified else "nvidia", int(gpu_gb * 1e9),
                        None if unified else int(gpu_gb * 1e9), "test", unified),)
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",),
                       int(ram_gb * 1e9), int(ram_gb * 1e9), gpus, offload, "0.3.36")


# -- probes -------------------------------------------------------------------------------------

def test_this_machine_is_described_consistently_with_the_os() -> None:
    found = detect_machine()
    assert found.ram_total_bytes == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < (found.ram_available_bytes or 0) <= found.ram_total_bytes
    assert found.logical_cores == os.cpu_count()
    assert 1 <= found.usable_cores <= found.logical_cores
    assert found.gpu_offload_supported == bool(llama_cpp.llama_supports_gpu_offload())
    assert found.llama_cpp_version == llama_cpp.__version__
    flags = Path("/proc/cpuinfo").read_text().split()
    if "avx2" in flags:
        assert found.instruction_set in ("AVX2", "AVX-512")
    assert found.llama_cpu_features, "llama.cpp's build features are read"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_and_cores_are_what_linux_itself_reports() -> None:
    meminfo = {key: int(value.split()[0]) * KIB for key, value in
               (line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())}
    total, available = memory_bytes()
    assert total == meminfo["MemTotal"]
    # "available" is MemAvailable (free + droppable caches), not MemFree; it moves between reads.
    assert available == pytest.approx(meminfo["MemAvailable"], rel=0.1)
    cores = {tuple(re.findall(r"^(?:physical id|core id)\s*:\s*(\d+)", cpu, re.MULTILINE))
             for cpu in Path("/proc/cpuinfo").read_text().strip().split("\n\n")}
    if () not in cores:  # x86 lists each logical CPU's package and core
        assert physical_cores() == len(cores)
    assert detect_machine(probe_gpus=False).usable_cores == len(os.sched_getaffinity(0))


def test_nvidia_smi_lines_become_gpus_and_junk_is_skipped() -> None:
    output = "NVIDIA GeForce RTX 4090, 24564, 23012\nnot a gpu line\nA100, 81920, 81000\n"
    gpus = parse_nvidia_smi(output)
    assert [(gpu.name, gpu.total_bytes // (1 << 20)) for gpu in gpus] == [
        ("NVIDIA GeForce RTX 4090", 24564), ("A100", 81920)]
    assert gpus[0].free_bytes == 23012 << 20


def test_llama_system_info_lists_the_features_the_build_uses() -> None:
    info = parse_llama_system_info("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 0 | AVX512 = 0 | ")
    assert info == {"SSE3": True, "AVX": True, "AVX2": False, "AVX512": False}


@pytest.mark.parametrize(("flags", "level"), [
    ({"sse4_2", "avx", "avx2", "avx512f"}, "AVX-512"),
    ({"sse4_2", "avx", "avx2"}, "AVX2"),
    ({"sse4_2", "avx"}, "AVX"),
    ({"asimd"}, "NEON"),
    (set(), None),
])
def test_instruction_set_level_is_the_widest_present(flags: set[str], level: str | None) -> None:
    assert instruction_set_level(flags) == level


# -- memory estimate ----------------------------------------------------------------------------

def test_fin_r1_kv_cache_is_56_kib_per_token() -> None:
    assert FIN_R1_DIMS.kv_bytes_per_token == 56 * KIB
    assert estimate_memory(FIN_R1_DIMS, 0, 32768).kv_cache_bytes == pytest.approx(1.75 * GIB)


def test_fin_r1_q4_k_m_at_8k_needs_about_five_and_a_half_gigabytes() -> None:
    estimate = estimate_memory(FIN_R1_DIMS, table_weights_bytes(quant_type("q4_k_m")), 8192)
    assert estimate.weights_bytes == pytest.approx(4.68e9, rel=0.01)
    assert 5.0e9 < estimate.ram_bytes < 5.6e9  # the brief's rule of thumb: about 5.2 GB
    assert estimate.vram_bytes > estimate.ram_bytes


def test_dims_read_from_a_gguf_match_its_architecture(smollm2_gguf: Path) -> None:
    dims = ModelDims.from_gguf(validate_gguf(smollm2_gguf))
    assert dims is not None
    assert (dims.layer_count, dims.head_count_kv, dims.key_length, dims.vocab_size) == \
        (30, 3, 64, 49152)


def _measured_growth(model: Path, n_ctx: int, n_batch: int) -> int:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "support" / "rss_probe.py"), str(model), str(n_ctx),
         str(n_batch)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["rss_growth"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize(("model", "n_ctx", "n_batch"), [
    ("smollm2", 2048, 512),
    ("smollm2", 8192, 512),
    ("smollm2", 2048, 128),
    ("tiny-bf16", 4096, 512),
    ("tiny-q8_0", 16384, 512),
    ("tiny-f32", 8192, 128),
])
def test_memory_estimate_is_within_15_percent_of_a_loaded_model(
        model: str, n_ctx: int, n_batch: int, smollm2_gguf: Path,
        tiny_gguf_factory: Callable[..., Path]) -> None:
    path = smollm2_gguf if model == "smollm2" else tiny_gguf_factory(model.split("-")[1])
    info = validate_gguf(path)
    dims = ModelDims.from_gguf(info)
    assert dims is not None
    estimate = estimate_memory(dims, info.size_bytes, n_ctx, n_batch).ram_bytes
    measured = _measured_growth(path, n_ctx, n_batch)
    assert estimate == pytest.approx(measured, rel=0.15), (
        f"estimate {estimate / 2**20:.1f} MiB, measured {measured / 2**20:.1f} MiB")


# -- fit and recommendation ---------------------------------------------------------------------

def test_a_large_gpu_gets_the_best_quality_that_fits_in_its_memory() -> None:
    advice = advise(machine(64, gpu_gb=12))
    assert advice.recommended == quant_type("q8_0")
    assert advice.row("q8_0").level is FitLevel.GPU
    assert advice.row("bf16").level is FitLevel.RAM


def test_an_8_gb_gpu_gets_the_largest_type_its_memory_holds() -> None:
    advice = advise(machine(32, gpu_gb=8))
    assert advice.recommended == quant_type("q6_k")
    assert advice.row("q8_0").level is FitLevel.RAM


def test_a_gpu_this_llama_cpp_cannot_use_does_not_count() -> None:
    advice = advise(machine(32, gpu_gb=24, offload=False))
    assert all(row.level is not FitLevel.GPU for row in advice.rows)
    assert advice.recommended == quant_type("q4_k_m")
    assert "cannot use it" in advice.reason


def test_a_cpu_machine_gets_q4_k_m_and_a_small_one_a_smaller_type() -> None:
    assert advise(machine(16)).recommended == quant_type("q4_k_m")
    small = advise(machine(5))
    assert small.row("q4_k_m").level is FitLevel.NONE
    assert small.recommended in (quant_type("iq3_m"), quant_type("iq3_s"), quant_type("iq3_xs"))


def test_nothing_is_recommended_when_nothing_fits() -> None:
    advice = advise(machine(2))
    assert advice.recommended is None
    assert all(row.level is FitLevel.NONE for row in advice.rows)
    assert "no quant type fits" in advice.reason


def test_a_longer_context_can_push_a_type_out_of_memory() -> None:
    assert advise(machine(6), n_ctx=4096).row("q4_k_m").level is FitLevel.RAM
    assert advise(machine(6), n_ctx=32768).row("q4_k_m").level is FitLevel.NONE


def test_unified_memory_is_capped_by_the_gpu_share_and_available_ram() -> None:
    mac = machine(10, gpu_gb=7.5, unified=True)  # Metal may use about 3/4 of 10 GB
    advice = advise(mac)
    assert advice.row("q4_k_m").level is FitLevel.GPU
    assert advice.row("q6_k").level is FitLevel.RAM
    tight = dataclasses.replace(mac, ram_available_bytes=int(5.5e9))
    assert advise(tight).row("q4_k_m").level is FitLevel.RAM


def test_recommendation_is_limited_to_the_types_on_offer() -> None:
    offered = [quant_type("q8_0"), quant_type("q4_k_s")]
    assert advise(machine(16), available=offered).recommended == quant_type("q4_k_s")


def test_real_file_sizes_replace_the_table_estimate() -> None:
    advice = advise(machine(16), file_sizes={"q4_k_m": 4_000_000_000})
    assert advice.row("q4_k_m").size_known
    assert advice.row("q4_k_m").estimate.weights_bytes == 4_000_000_000
    assert not advice.row("q8_0").size_known


def test_doctor_prints_the_machine_and_the_advice_as_json(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import main

    monkeypatch.setenv("FINR1_HOME", str(tmp_path))
    assert main(["doctor", "--json", "--context", "4096"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["context"] == 4096
    assert report["machine"]["ram_total_bytes"] > 0
    assert {row["quant_type"] for row in report["quants"]} >= {"q8_0", "q4_k_m", "iq3_xs"}
    assert report["recommended"] in {row["quant_type"] for row in report["quants"]}
    assert report["paths"]["data_dir"] == str(tmp_path)
    assert main(["doctor"]) == 0
    assert "Recommended" in capsys.readouterr().out

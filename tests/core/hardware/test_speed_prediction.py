"""Answer time predicted before a download: tokens/s = effective bandwidth ÷ bytes read per token,
the bytes from the quant table or a GGUF's tensors, the bandwidth from a short probe of this
machine, a GPU's reported bandwidth, or a measured decode (``app.core.hardware.speed_prediction``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.core.engine.config import F16_CACHE, KvCacheTypes
from app.core.hardware.fit import FIN_R1_DIMS, advise, kv_cache_bytes_per_token, table_weights_bytes
from app.core.hardware.llama_memory import ModelDims
from app.core.hardware.machine import GpuInfo, MachineInfo, memory_bandwidth
from app.core.hardware.speed_prediction import (
    CPU_IQ_WEIGHTS_PER_S_PER_THREAD,
    CPU_WEIGHTS_PER_S_PER_THREAD,
    GPU_BANDWIDTH_UNKNOWN,
    GPU_DECODE_EFFICIENCY,
    GPU_TOO_SMALL,
    MIN_MEASURED_TOKENS,
    TYPICAL_ANSWER_TOKENS,
    BandwidthProbe,
    SpeedBasis,
    average_context_tokens,
    compute_tokens_per_s,
    describe,
    gguf_decode_bytes,
    gguf_token_weights,
    measured_decode,
    predict,
    predict_quant_speeds,
    probe_memory_bandwidth,
    quant_decode_bytes,
)
from quant.formats import FIN_R1_EMBEDDING_PARAMETERS, ggml_bits_per_weight, quant_type
from quant.gguf_check import validate_gguf

GB = 10**9


def machine_with(ram_gb: float = 64, gpus: tuple[GpuInfo, ...] = (),
                 offload: bool = False) -> MachineInfo:
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",), 128 * GB,
                       int(ram_gb * GB), gpus, offload, "0.3.36")


def gpu(total_gb: float, bandwidth: float | None) -> GpuInfo:
    return GpuInfo("Test GPU", "nvidia", int(total_gb * GB), int(total_gb * GB), "nvml",
                   memory_bandwidth_bytes_per_s=bandwidth)


PROBED = BandwidthProbe(bytes_per_s=20 * GB, threads=4, seconds=0.4)


def test_the_rate_is_the_bandwidth_over_the_bytes_read_per_token() -> None:
    predicted = predict(bytes_per_token=4 * GB, bytes_per_s=20 * GB)
    assert predicted.tokens_per_s == pytest.approx(5.0)
    assert predicted.answer_s == pytest.approx(TYPICAL_ANSWER_TOKENS / 5.0)
    with pytest.raises(ValueError):
        predict(bytes_per_token=4 * GB, bytes_per_s=0)


def test_a_quants_bytes_per_token_come_from_the_quant_table() -> None:
    q4_k_m = quant_type("q4_k_m")
    weights = table_weights_bytes(q4_k_m)
    embedding = FIN_R1_EMBEDDING_PARAMETERS * ggml_bits_per_weight(q4_k_m.embedding_tensor_type) / 8
    kv = 56 * 1024 * average_context_tokens()
    assert quant_decode_bytes(q4_k_m, weights) == pytest.approx(weights - embedding + kv, abs=1)
    # a real file size off the table's keeps the embedding's share; a tiny one stays positive
    assert 0 < quant_decode_bytes(q4_k_m, 10**6) < 10**6 + kv
    # the file is larger than what a token reads: the embedding matrix is looked up, not read
    assert quant_decode_bytes(q4_k_m, weights) < weights


def test_smaller_quants_and_caches_are_predicted_faster() -> None:
    advice = advise(machine_with(64))
    speeds = predict_quant_speeds(advice, SpeedBasis.from_probe(PROBED, machine_with(64)))
    rates = [speeds[name].cpu.tokens_per_s for name in ("bf16", "q8_0", "q4_k_m", "iq3_xs")]
    assert rates == sorted(rates)
    q8_cache = predict_quant_speeds(advice, SpeedBasis.from_probe(PROBED, machine_with(64)),
                                    kv_types=KvCacheTypes("q8_0", "q8_0"))
    assert q8_cache["q4_k_m"].bytes_per_token < speeds["q4_k_m"].bytes_per_token


def test_on_few_threads_the_arithmetic_caps_the_denser_packings() -> None:
    # memory so fast that only the arithmetic limits: the compute ceiling decides
    weights = FIN_R1_DIMS.parameter_count - FIN_R1_DIMS.vocab_size * FIN_R1_DIMS.embedding_length
    rates = {}
    for threads in (1, 2):
        probe = BandwidthProbe(bytes_per_s=500 * GB, threads=threads, seconds=0.4)
        speeds = predict_quant_speeds(advise(machine_with(64)),
                                      SpeedBasis.from_probe(probe, machine_with(64)))
        rates[threads] = {name: speeds[name].cpu.tokens_per_s for name in ("q4_k_m", "iq3_xs")}
    assert rates[1]["q4_k_m"] == pytest.approx(CPU_WEIGHTS_PER_S_PER_THREAD / weights)
    assert rates[1]["iq3_xs"] == pytest.approx(CPU_IQ_WEIGHTS_PER_S_PER_THREAD / weights)
    # IQ3 reads fewer bytes but unpacks slower: on a CPU it is the slower of the two
    assert rates[1]["iq3_xs"] < rates[1]["q4_k_m"]
    assert rates[2]["iq3_xs"] == pytest.approx(2 * rates[1]["iq3_xs"])
    # where memory is slow, the bandwidth still decides
    slow = BandwidthProbe(bytes_per_s=2 * GB, threads=8, seconds=0.4)
    speeds = predict_quant_speeds(advise(machine_with(64)),
                                  SpeedBasis.from_probe(slow, machine_with(64)))
    assert speeds["iq3_xs"].cpu.tokens_per_s > speeds["q4_k_m"].cpu.tokens_per_s


def test_a_ggufs_token_weights_are_its_matrices_but_a_separate_embedding(
        tiny_gguf_factory: Callable[..., Path]) -> None:
    info = validate_gguf(tiny_gguf_factory("q8_0"))
    counts = gguf_token_weights(info)
    matrices = [t for t in info.tensors if len(t.shape) >= 2 and t.name != "token_embd.weight"]
    assert sum(counts.values()) == sum(t.element_count for t in matrices)
    assert compute_tokens_per_s(counts, 2) == pytest.approx(2 * compute_tokens_per_s(counts, 1))
    with pytest.raises(ValueError):
        compute_tokens_per_s(counts, 0)


@pytest.mark.parametrize("tied", [False, True])
def test_a_gguf_reads_its_embedding_only_when_its_output_reuses_it(
        tiny_gguf_factory: Callable[..., Path], tied: bool) -> None:
    info = validate_gguf(tiny_gguf_factory("bf16", tie_word_embeddings=tied))
    tensors = {tensor.name: tensor.nbytes for tensor in info.tensors}
    assert ("output.weight" in tensors) is not tied
    skipped = 0 if tied else tensors["token_embd.weight"]
    assert gguf_decode_bytes(info, F16_CACHE, context_tokens=0) == sum(tensors.values()) - skipped
    dims = ModelDims.from_gguf(info)
    assert dims is not None
    kv = gguf_decode_bytes(info, F16_CACHE, context_tokens=100) - gguf_decode_bytes(
        info, F16_CACHE, context_tokens=0)
    assert kv == 100 * kv_cache_bytes_per_token(dims, F16_CACHE)


def test_the_probe_measures_a_positive_bandwidth_within_its_time_budget() -> None:
    for threads in (1, 2):
        started = time.perf_counter()
        probe = probe_memory_bandwidth(threads, budget_s=0.2)
        # the budget bounds it (two passes at least); the margin is for a loaded machine
        assert time.perf_counter() - started < 0.2 + 1.5
        assert probe.bytes_per_s > 100e6  # any memory reads faster than 100 MB/s
        assert probe.threads == threads
    with pytest.raises(ValueError):
        probe_memory_bandwidth(0)


def test_a_gpu_is_predicted_from_its_reported_bandwidth_when_the_model_fits_in_it() -> None:
    machine = machine_with(64, (gpu(12, 1e12),), offload=True)
    basis = SpeedBasis.from_probe(PROBED, machine)
    assert basis.gpu_bytes_per_s == pytest.approx(1e12 * GPU_DECODE_EFFICIENCY)
    speeds = predict_quant_speeds(advise(machine), basis)
    q4 = speeds["q4_k_m"]
    assert q4.gpu is not None
    assert q4.gpu.tokens_per_s == pytest.approx(basis.gpu_bytes_per_s / q4.bytes_per_token)
    assert "GPU ≈" in describe(q4)
    assert speeds["bf16"].gpu is None and speeds["bf16"].gpu_note == GPU_TOO_SMALL  # 15 GB


def test_a_gpu_whose_bandwidth_is_unknown_is_not_predicted() -> None:
    machine = machine_with(64, (gpu(24, None),), offload=True)
    speeds = predict_quant_speeds(advise(machine), SpeedBasis.from_probe(PROBED, machine))
    assert speeds["q4_k_m"].gpu is None and speeds["q4_k_m"].gpu_note == GPU_BANDWIDTH_UNKNOWN
    assert "GPU: not predicted" in describe(speeds["q4_k_m"])
    no_gpu = machine_with(64)
    plain = predict_quant_speeds(advise(no_gpu), SpeedBasis.from_probe(PROBED, no_gpu))
    assert "GPU" not in describe(plain["q4_k_m"])


def test_nvml_bus_width_and_memory_clock_give_the_peak_bandwidth() -> None:
    assert memory_bandwidth(5120, 2619) == pytest.approx(3.35e12, rel=0.01)  # H100 SXM
    assert memory_bandwidth(384, 10501) == pytest.approx(1.008e12, rel=0.01)  # RTX 4090
    assert memory_bandwidth(0, 2619) is None


def test_a_measured_decode_replaces_the_probe(smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    decode = measured_decode(info, F16_CACHE, 0, tokens_per_s=25.0, prompt_tokens=100,
                             completion_tokens=200)
    assert decode is not None and not decode.on_gpu
    basis = SpeedBasis.from_probe(PROBED, machine_with(64)).with_measured_decode(decode)
    assert basis.cpu_source == "measured"
    # the same model, predicted from its own measurement, runs at the measured rate
    assert predict(decode.bytes_per_token, basis.cpu_bytes_per_s).tokens_per_s == \
        pytest.approx(25.0)
    assert measured_decode(info, F16_CACHE, 0, 25.0, 100, MIN_MEASURED_TOKENS - 1) is None
    assert measured_decode(info, F16_CACHE, 5, 25.0, 100, 200) is None  # split CPU/GPU
    on_gpu = measured_decode(info, F16_CACHE, -1, 90.0, 100, 200)
    assert on_gpu is not None and on_gpu.on_gpu


def test_doctor_json_carries_a_prediction_for_each_quant(
        capsys: pytest.CaptureFixture[str], app_home: Path) -> None:
    assert cli_main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["speed_basis"]["effective_bytes_per_s"] > 0
    for row in report["quants"]:
        assert row["predicted_tokens_per_s"] > 0, row["quant_type"]
        assert row["predicted_answer_s"] == pytest.approx(
            TYPICAL_ANSWER_TOKENS / row["predicted_tokens_per_s"])
        assert "predicted_gpu_tokens_per_s" in row
    assert cli_main(["doctor"]) == 0
    assert "a typical answer (~1,200 tokens with its reasoning) in ≈" in capsys.readouterr().out


def test_doctor_counts_the_settings_cache_types(capsys: pytest.CaptureFixture[str],
                                                app_home: Path) -> None:
    from app.core.installation.settings import AppSettings, save_settings

    assert cli_main(["doctor", "--json"]) == 0
    f16 = {row["quant_type"]: row for row in json.loads(capsys.readouterr().out)["quants"]}
    save_settings(AppSettings(cache_type_k="q8_0", cache_type_v="q8_0"))
    assert cli_main(["doctor", "--json"]) == 0
    q8 = {row["quant_type"]: row for row in json.loads(capsys.readouterr().out)["quants"]}
    assert q8["q4_k_m"]["kv_cache_bytes"] == pytest.approx(
        f16["q4_k_m"]["kv_cache_bytes"] * 8.5 / 16)
    assert q8["q4_k_m"]["bytes_per_token"] < f16["q4_k_m"]["bytes_per_token"]


def test_a_basis_without_a_usable_gpu_ignores_a_gpu_llama_cpp_cannot_use() -> None:
    machine = machine_with(64, (gpu(24, 1e12),), offload=False)
    basis = SpeedBasis.from_probe(PROBED, machine)
    assert not basis.gpu_usable and basis.gpu_bytes_per_s is None
    assert "GPU" not in describe(predict_quant_speeds(advise(machine), basis)["q4_k_m"])

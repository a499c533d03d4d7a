"""K/V cache types (f16, q8_0, q4_0) and flash attention: passed to llama.cpp's context, counted by
the memory fit and the context choice, offered as settings and ``finr1 chat`` flags."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.core.engine.config import EngineConfig, GenerationSettings, KvCacheTypes
from app.core.engine.llama_runtime import LlamaRuntime
from app.core.engine.local_engine import ChatEngine
from app.core.hardware.fit import FIN_R1_DIMS, choose_context, estimate_memory
from app.core.hardware.llama_memory import ModelDims
from app.core.hardware.machine import MachineInfo
from app.core.installation.settings import AppSettings, load_settings, save_settings
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from foundation.llama_log import LLAMA_LOG
from quant.gguf_check import validate_gguf
from tests.support.llm_support import THREADS

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from bench.kv_cache import kv_cache_report

MIB = 1 << 20
KIB = 1 << 10
N_CTX = 4096
# llama.cpp prints the cache's size in MiB with two decimals
PRINTED = 0.006 * MIB


def reported_kv(model: Path, cache_type_k: str, cache_type_v: str,
                flash_attn: bool | None = None) -> dict[str, object]:
    log = io.StringIO()
    with LLAMA_LOG.sending_to(None, echo=log):
        runtime = LlamaRuntime(model, n_ctx=N_CTX, n_threads=THREADS, n_gpu_layers=0,
                               n_batch=64, flash_attn=flash_attn, use_mmap=True,
                               cache_type_k=cache_type_k, cache_type_v=cache_type_v)
    runtime.close()
    report = kv_cache_report(log.getvalue())
    assert report is not None, "llama.cpp did not report its KV cache"
    return report


@pytest.mark.parametrize("cache_type", ["q8_0", "q4_0"])
def test_a_quantized_cache_takes_the_memory_llama_cpp_reports_and_the_fit_counts(
        tiny_bf16_gguf: Path, cache_type: str) -> None:
    f16 = reported_kv(tiny_bf16_gguf, "f16", "f16")
    quantized = reported_kv(tiny_bf16_gguf, cache_type, cache_type)
    assert (quantized["k_type"], quantized["v_type"]) == (cache_type, cache_type)
    bits = {"q8_0": 8.5, "q4_0": 4.5}[cache_type]
    assert quantized["bytes"] == pytest.approx(f16["bytes"] * bits / 16, abs=PRINTED)
    dims = ModelDims.from_gguf(validate_gguf(tiny_bf16_gguf))
    assert dims is not None
    for report, kv_types in ((f16, KvCacheTypes()), (quantized, KvCacheTypes(cache_type,
                                                                              cache_type))):
        estimate = estimate_memory(dims, 0, N_CTX, kv_types=kv_types).kv_cache_bytes
        assert estimate == pytest.approx(report["bytes"], abs=PRINTED)


def test_the_k_and_v_types_are_set_apart(tiny_bf16_gguf: Path) -> None:
    report = reported_kv(tiny_bf16_gguf, "q8_0", "f16")
    assert (report["k_type"], report["v_type"]) == ("q8_0", "f16")
    assert report["k_bytes"] < report["v_bytes"]


def test_a_quantized_v_cache_without_flash_attention_is_refused_before_loading() -> None:
    with pytest.raises(InvalidSettingError, match="needs flash attention"):
        EngineConfig(cache_type_v="q8_0", flash_attn=False)
    EngineConfig(cache_type_k="q8_0", flash_attn=False)  # a quantized K cache works without it
    with pytest.raises(InvalidSettingError, match="f16, q8_0, q4_0"):
        EngineConfig(cache_type_k="q5_1")


def test_llama_cpp_turns_flash_attention_on_for_a_quantized_v_cache_left_on_auto(
        tiny_bf16_gguf: Path) -> None:
    log = io.StringIO()
    with LLAMA_LOG.sending_to(None, echo=log):
        LlamaRuntime(tiny_bf16_gguf, n_ctx=256, n_threads=THREADS, n_gpu_layers=0, n_batch=64,
                     flash_attn=None, use_mmap=True, cache_type_k="f16",
                     cache_type_v="q8_0").close()
    assert "flash_attn            = enabled" in log.getvalue()


def test_chat_with_a_q8_0_cache_answers(smollm2_gguf: Path,
                                        steer: Callable[..., object]) -> None:
    config = EngineConfig(n_ctx=512, n_threads=THREADS, cache_type_k="q8_0", cache_type_v="q8_0")
    steer(smollm2_gguf, may_end=False)
    with ChatEngine(smollm2_gguf, config) as engine:
        result = engine.chat([ChatMessage("user", "Name three kinds of bank account.")],
                             GenerationSettings(max_new_tokens=8, seed=1))
    assert result.finish_reason == "length"
    assert result.metrics.completion_tokens == 8
    assert result.text.strip()


def machine_with(ram_available_bytes: int) -> MachineInfo:
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",), 64 << 30,
                       ram_available_bytes, (), False, "0.3.36")


def test_the_fit_counts_the_cache_in_its_types() -> None:
    f16 = estimate_memory(FIN_R1_DIMS, 0, 32768).kv_cache_bytes
    q8 = estimate_memory(FIN_R1_DIMS, 0, 32768, kv_types=KvCacheTypes("q8_0", "q8_0"))
    assert f16 == 32768 * 56 * KIB
    assert q8.kv_cache_bytes == 32768 * 29.75 * KIB


def test_a_context_that_fits_only_with_a_q8_0_cache_is_chosen_with_it(
        smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    trained = info.context_length
    dims = ModelDims.from_gguf(info)
    assert trained and dims
    q8 = KvCacheTypes("q8_0", "q8_0")
    needs_f16 = estimate_memory(dims, 0, trained)
    needs_q8 = estimate_memory(dims, 0, trained, kv_types=q8)
    # enough free memory for the q8_0 cache of the trained length, not for the f16 one
    machine = machine_with((needs_f16.kv_cache_bytes + needs_q8.kv_cache_bytes) // 2
                           + needs_f16.runtime_bytes)
    with pytest.raises(InvalidSettingError, match="lower the context size"):
        choose_context(info, trained, machine)
    assert choose_context(info, trained, machine, kv_types=q8).n_ctx == trained


def test_finr1_chat_takes_the_cache_types_and_refuses_a_quantized_v_without_flash_attention(
        smollm2_gguf: Path, steer: Callable[..., object], capsys: pytest.CaptureFixture[str],
        app_home: Path) -> None:
    steer(smollm2_gguf, may_end=False)
    fast = ["--threads", "1", "--seed", "1", "--max-tokens", "3", "--json", "--ctx", "512"]
    assert cli_main(["chat", str(smollm2_gguf), "Hello", *fast, "--cache-type-k", "q8_0",
                     "--cache-type-v", "q4_0", "--flash-attn", "auto", "--verbose"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["metrics"]["completion_tokens"] == 3
    report = kv_cache_report(printed.err)  # llama.cpp's log, shown with --verbose
    assert report is not None and (report["k_type"], report["v_type"]) == ("q8_0", "q4_0")
    assert cli_main(["chat", str(smollm2_gguf), "Hello", *fast, "--cache-type-v", "q8_0",
                     "--flash-attn", "off"]) == 2
    error = capsys.readouterr().err
    assert "needs flash attention" in error and "Traceback" not in error


def test_the_cache_types_and_flash_attention_are_settings(app_home: Path) -> None:
    chosen = AppSettings(cache_type_k="q8_0", cache_type_v="q8_0", flash_attn="on")
    save_settings(chosen)
    loaded = load_settings()
    assert loaded == chosen
    config = loaded.engine_config()
    assert (config.cache_type_k, config.cache_type_v, config.flash_attn) == ("q8_0", "q8_0", True)
    assert AppSettings().needs_reload(chosen)
    with pytest.raises(InvalidSettingError):
        AppSettings(cache_type_v="q4_0", flash_attn="off")
    with pytest.raises(InvalidSettingError):
        AppSettings(flash_attn="sometimes")

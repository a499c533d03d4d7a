"""The context a model is loaded with: capped at the length it was trained for unless asked, and
refused, as one line, when its cache would not fit in free memory (``finr1 chat --ctx``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.core.hardware.fit import DEFAULT_CONTEXT, choose_context
from app.core.hardware.llama_memory import ModelDims
from app.core.hardware.machine import GpuInfo, MachineInfo, detect_machine
from foundation.errors import InvalidSettingError
from quant.gguf_check import validate_gguf

GB = 10**9
FAST = ["--threads", "1", "--seed", "1", "--max-tokens", "2", "--json"]


def machine_with(ram_available_bytes: int | None, gpus: tuple[GpuInfo, ...] = (),
                 offload: bool = False) -> MachineInfo:
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",),
                       64 * GB, ram_available_bytes, gpus, offload, "0.3.36")


ROOMY = machine_with(64 * GB)


def test_the_default_context_is_capped_at_the_trained_length_quietly(
        tiny_bf16_gguf: Path) -> None:
    info = validate_gguf(tiny_bf16_gguf)
    assert info.context_length is not None and info.context_length < DEFAULT_CONTEXT
    choice = choose_context(info, None, ROOMY)
    assert choice.n_ctx == info.context_length
    assert choice.notes == ()


def test_a_requested_context_beyond_the_trained_length_is_capped_with_a_note(
        smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    trained = info.context_length
    assert trained is not None
    choice = choose_context(info, 2_000_000_000, ROOMY)
    assert choice.n_ctx == trained
    assert len(choice.notes) == 1
    assert f"capped at {trained} tokens" in choice.notes[0]
    assert "--ctx-beyond-trained" in choice.notes[0]


def test_beyond_trained_keeps_the_request_when_memory_allows(smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    assert info.context_length is not None
    wanted = info.context_length * 2
    assert choose_context(info, wanted, ROOMY, beyond_trained=True).n_ctx == wanted


def test_a_context_whose_cache_does_not_fit_in_free_memory_is_refused(
        smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    dims = ModelDims.from_gguf(info)
    assert dims is not None
    with pytest.raises(InvalidSettingError, match=r"more than the .* free; lower the context "
                                                  r"size \(about \d+ tokens fit now\)"):
        choose_context(info, 2_000_000_000, ROOMY, beyond_trained=True)
    # the largest context it names does fit
    small = machine_with(1 * GB)
    with pytest.raises(InvalidSettingError) as refused:
        choose_context(info, 1_000_000, small, beyond_trained=True)
    fitting = int(str(refused.value).split("about ")[-1].split(" tokens")[0])
    assert 0 < fitting < 1_000_000
    assert choose_context(info, fitting, small, beyond_trained=True).n_ctx == fitting


def test_gpu_memory_counts_when_layers_may_go_there(smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    gpu = GpuInfo("GPU", "nvidia", 80 * GB, 80 * GB, "test")
    machine = machine_with(1 * GB, (gpu,), offload=True)
    assert choose_context(info, 400_000, machine, beyond_trained=True).n_ctx == 400_000
    with pytest.raises(InvalidSettingError):
        choose_context(info, 400_000, machine, beyond_trained=True, use_gpu=False)


def test_a_model_that_does_not_fit_beside_its_context_runs_with_a_note(
        smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    dims = ModelDims.from_gguf(info)
    assert dims is not None
    # room for the cache and buffers of 256 tokens, not for the weights too
    from app.core.hardware.fit import estimate_memory

    estimate = estimate_memory(dims, info.size_bytes, 256)
    machine = machine_with(estimate.kv_cache_bytes + estimate.runtime_bytes + 1)
    choice = choose_context(info, 256, machine)
    assert choice.n_ctx == 256
    assert any("run slowly" in note for note in choice.notes)


def test_unknown_free_memory_is_not_guessed(smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    assert choose_context(info, 1_000_000, machine_with(None), beyond_trained=True).n_ctx \
        == 1_000_000


# -- finr1 chat --ctx ------------------------------------------------------------------------------

def test_chat_with_a_huge_context_runs_at_the_trained_length_and_says_so(
        tiny_bf16_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trained = validate_gguf(tiny_bf16_gguf).context_length
    status = cli_main(["chat", str(tiny_bf16_gguf), "Hi", "--ctx", "2000000000", *FAST])
    err = capsys.readouterr().err
    assert status == 0
    assert f"finr1: warning: the context is capped at {trained} tokens" in err


def test_chat_beyond_the_trained_length_past_free_memory_is_one_line(
        tiny_bf16_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["chat", str(tiny_bf16_gguf), "Hi", "--ctx", "2000000000",
                       "--ctx-beyond-trained", *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("finr1: error: a context of 2000000000 tokens needs about")
    assert detect_machine(probe_gpus=False).ram_available_bytes is not None


def test_chat_refuses_a_context_below_the_minimum_as_a_usage_error(
        tiny_bf16_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["chat", str(tiny_bf16_gguf), "Hi", "--ctx", "8"])
    assert exited.value.code == 2
    assert "must be at least 64" in capsys.readouterr().err

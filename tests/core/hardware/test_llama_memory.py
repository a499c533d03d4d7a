"""One rule for the GPU memory llama.cpp can give a model's layers, and one reading of a GGUF's
shape, shared by the auto GPU layers (app.core.hardware.gpu_layers), the fit advice
(app.core.hardware.fit) and the window
header (app.core.engine.model_summary). GPUs are synthetic facts; models are real GGUF files."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.engine.local_engine import EngineInfo
from app.core.engine.model_summary import summarize_model
from app.core.hardware.fit import FitLevel, ModelDims, advise
from app.core.hardware.gpu_layers import layers_that_fit, plan_offload
from app.core.hardware.llama_memory import (
    GPU_HEADROOM_BYTES,
    GGUFShape,
    gpu_reserve_bytes,
    read_gguf_shape,
    usable_gpu_bytes,
)
from app.core.hardware.machine import GpuInfo, MachineInfo
from quant.gguf_check import GGUFInfo, validate_gguf
from tests.support.tiny_checkpoint import HEAD_DIM, HIDDEN_SIZE, INTERMEDIATE_SIZE, NUM_KV_HEADS, NUM_LAYERS

GIB = 1 << 30
MIB = 1 << 20
N_CTX = 4096
N_BATCH = 512


def nvidia(free: int, name: str = "Test GPU") -> GpuInfo:
    """A discrete GPU with ``free`` bytes free and 1 GiB more in all (other programs hold it)."""
    return GpuInfo(name, "nvidia", free + GIB, free, "test")


def apple(total: int) -> GpuInfo:
    return GpuInfo("Test Apple GPU", "apple", total, None, "apple", unified_memory=True)


def machine(gpus: tuple[GpuInfo, ...], *, offload: bool = True,
            ram_available: int = 64 * 10**9) -> MachineInfo:
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",), 64 * 10**9,
                       ram_available, gpus, offload, "0.3.36")


# -- the rule -----------------------------------------------------------------------------------

def test_one_gpu_gives_its_free_memory_less_its_reserve() -> None:
    assert usable_gpu_bytes((nvidia(20 * GIB),), GIB, None) == 19 * GIB


def test_two_gpus_share_layers_by_free_memory_so_the_smaller_one_runs_out_first() -> None:
    # 24 and 8 GiB free share layers 3:1; the 8 GiB one, keeping 1 GiB, holds 7 GiB of them.
    usable = usable_gpu_bytes((nvidia(24 * GIB), nvidia(8 * GIB)), GIB, None)
    assert usable == 28 * GIB
    assert 24 * GIB - GIB < usable < 32 * GIB - 2 * GIB  # more than the best GPU, less than both


def test_two_equal_gpus_give_their_sum_less_both_reserves() -> None:
    assert usable_gpu_bytes((nvidia(8 * GIB), nvidia(8 * GIB)), GIB, None) == 14 * GIB


def test_a_gpu_that_cannot_hold_its_reserve_leaves_no_room_and_neither_does_no_gpu() -> None:
    assert usable_gpu_bytes((nvidia(24 * GIB), nvidia(GIB // 2)), GIB, None) == 0
    assert usable_gpu_bytes((), GIB, None) == 0


def test_unified_memory_gives_the_metal_share_capped_by_the_available_ram() -> None:
    assert usable_gpu_bytes((apple(12 * GIB),), GIB, 64 * GIB) == 11 * GIB
    assert usable_gpu_bytes((apple(12 * GIB),), GIB, 5 * GIB) == 4 * GIB


def test_each_gpu_reserves_a_compute_buffer_of_one_batch_of_logits_plus_headroom() -> None:
    dims = ModelDims(28, 4, 128, 128, 3584, 18944, 152064, 7_615_616_512)  # Fin-R1
    assert gpu_reserve_bytes(dims, 512) == 512 * 152064 * 4 + GPU_HEADROOM_BYTES


# -- one reading of a GGUF's shape --------------------------------------------------------------

def test_the_shape_of_a_converted_tiny_qwen2_gguf_is_its_checkpoints(tiny_bf16_gguf: Path) -> None:
    info = validate_gguf(tiny_bf16_gguf)
    shape = read_gguf_shape(info)
    assert shape is not None
    dims = shape.dims
    assert (dims.layer_count, dims.head_count_kv, dims.key_length, dims.value_length,
            dims.embedding_length, dims.feed_forward_length) == (
        NUM_LAYERS, NUM_KV_HEADS, HEAD_DIM, HEAD_DIM, HIDDEN_SIZE, INTERMEDIATE_SIZE)
    assert dims.kv_bytes_per_token == NUM_LAYERS * NUM_KV_HEADS * 2 * HEAD_DIM * 2
    assert shape.offloadable_layers == NUM_LAYERS + 1
    sizes = {tensor.name: tensor.nbytes for tensor in info.tensors}
    assert shape.layer_bytes == tuple(
        sum(size for name, size in sizes.items() if name.startswith(f"blk.{block}."))
        for block in range(NUM_LAYERS))
    assert shape.output_bytes == sizes["output.weight"] + sizes["output_norm.weight"]
    # Everything but the token embedding, which llama.cpp keeps on the CPU, can be offloaded.
    assert shape.offloadable_bytes + sizes["token_embd.weight"] == sum(sizes.values())


def test_a_tied_output_layer_is_the_embedding_matrix_copied_to_the_gpu(smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    shape = read_gguf_shape(info)
    sizes = {tensor.name: tensor.nbytes for tensor in info.tensors}
    assert shape is not None and "output.weight" not in sizes
    assert shape.output_bytes == sizes["token_embd.weight"] + sizes["output_norm.weight"]


def _header_device(info: GGUFInfo, machine_facts: MachineInfo) -> tuple[int, str]:
    """The auto GPU layers for ``machine_facts`` and what the header says about them."""
    plan = plan_offload("auto", info, N_CTX, N_BATCH,
                        offload_supported=machine_facts.gpu_offload_supported,
                        gpus=machine_facts.gpus,
                        ram_available_bytes=machine_facts.ram_available_bytes)
    engine_info = EngineInfo(info.path, info.name, info.architecture, False, "chatml", N_CTX, 1,
                             N_BATCH, plan)
    return plan.n_gpu_layers, summarize_model(engine_info, info).device


@pytest.mark.parametrize("model", ["tiny_bf16_gguf", "smollm2_gguf"])
def test_the_three_users_read_the_same_shape(model: str, request: pytest.FixtureRequest) -> None:
    info = validate_gguf(request.getfixturevalue(model))
    shape = read_gguf_shape(info)
    assert shape is not None
    assert ModelDims.from_gguf(info) == shape.dims
    layers, device = _header_device(info, machine((nvidia(64 * GIB),)))
    total = shape.offloadable_layers
    assert (layers, device) == (total, f"GPU · {total}/{total} layers")


# -- the three users agree with each other and with the rule ------------------------------------

@dataclasses.dataclass(frozen=True)
class Case:
    """A machine built from the model's own figures: ``reserve`` (one GPU's reserve) and ``need``
    (the file and its KV cache: what fit counts for running entirely on a GPU)."""

    build: Callable[[int, int], MachineInfo]
    layers: str  # "all", "some" or "none"


CASES = {
    "one GPU with room": Case(lambda reserve, need: machine((nvidia(reserve + need + MIB),)), "all"),
    "one GPU already full": Case(lambda reserve, need: machine((nvidia(reserve // 2),)), "none"),
    # Neither GPU alone holds the model, both together do: the best GPU alone is not the rule.
    "two GPUs, together": Case(lambda reserve, need: machine(
        (nvidia(reserve + need * 6 // 10, "big"), nvidia(reserve + need // 2, "small"))), "all"),
    # The sum less one reserve would hold it all; the small GPU's share does not fit it.
    "two GPUs, small one binds": Case(lambda reserve, need: machine(
        (nvidia(reserve + 2 * need, "big"), nvidia(reserve + need // 5, "small"))), "some"),
    "unified memory capped by RAM": Case(lambda reserve, need: machine(
        (apple(reserve + 2 * need),), ram_available=reserve + need // 2), "some"),
    "no GPU": Case(lambda reserve, need: machine((), offload=False), "none"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gpu_layers_fit_advice_and_header_agree_with_the_rule(case: Case,
                                                              tiny_bf16_gguf: Path) -> None:
    info = validate_gguf(tiny_bf16_gguf)
    shape = read_gguf_shape(info)
    assert shape is not None and info.quant_type is not None
    reserve = gpu_reserve_bytes(shape.dims, N_BATCH)
    kv_cache = N_CTX * shape.dims.kv_bytes_per_token
    facts = case.build(reserve, info.size_bytes + kv_cache)

    usable = usable_gpu_bytes(facts.gpus, reserve, facts.ram_available_bytes)
    layers, device = _header_device(info, facts)
    row = advise(facts, N_CTX, shape.dims, file_sizes={info.quant_type.name: info.size_bytes},
                 n_batch=N_BATCH).row(info.quant_type.name)

    total = shape.offloadable_layers
    expected = {"all": total, "none": 0}.get(case.layers)
    assert layers == expected if expected is not None else 0 < layers < total
    if facts.gpu_offload_supported:
        assert layers == layers_that_fit(shape, N_CTX, usable)
    assert (row.level is FitLevel.GPU) == (layers == total)
    assert (row.level is FitLevel.GPU) == (info.size_bytes + kv_cache <= usable)
    assert device == (f"GPU · {layers}/{total} layers" if layers else "CPU · 1 thread")


def test_layers_are_counted_from_the_output_layer_then_from_the_last_block() -> None:
    shape = GGUFShape(ModelDims(4, 1, 1, 1, 8, 8, 8, 1000), layer_bytes=(100, 100, 100, 200),
                      output_bytes=50)
    # 10 tokens of K and V: 10 × 1 head × (1 + 1) × 2 bytes = 40 bytes per block.
    assert layers_that_fit(shape, 10, 49) == 0
    assert layers_that_fit(shape, 10, 50) == 1
    assert layers_that_fit(shape, 10, 289) == 1  # the last block is the large one
    assert layers_that_fit(shape, 10, 290) == 2
    assert layers_that_fit(shape, 10, 570) == 4
    assert layers_that_fit(shape, 10, 710) == 5

"""Deciding how many layers of a model go to the GPU, and saying so when none can.

``plan_offload`` turns the requested GPU layers (``"auto"``, 0, -1 or a number) into the number
llama.cpp is given, with a note a person can read. It first asks the installed llama.cpp whether it
can offload at all: a CPU-only build runs everything on the CPU and, when layers were requested,
the plan carries a warning instead of pretending. ``"auto"`` counts how many layers fit in the GPU
memory that ``app.core.hardware.llama_memory`` says llama.cpp can give them, KV cache included; the GPUs and
their free memory are those llama.cpp's own registry lists (``app.core.hardware.backend_devices``), or the
one device chosen.

llama.cpp counts ``n_layer + 1`` offloadable layers and offloads the output layer first, then the
blocks from the last one backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp

from app.core.engine.config import AUTO, GpuLayers
from app.core.hardware.backend_devices import find_device, gpu_devices
from app.core.hardware.llama_memory import (
    GGUFShape,
    gpu_reserve_bytes,
    gpu_room_bytes,
    read_gguf_shape,
    usable_gpu_bytes,
)
from app.core.hardware.machine import GpuInfo, memory_bytes
from quant.gguf_check import GGUFInfo

GIB = 1 << 30

CPU_ONLY_BUILD_HINT = (
    "this llama.cpp build cannot use a GPU (llama-cpp-python was built for the CPU only), so the "
    "model runs on the CPU; for GPU speed reinstall it with GPU support, e.g. "
    'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
    "llama-cpp-python==0.3.36"
)


def gpu_offload_supported() -> bool:
    """True when the installed llama.cpp has a GPU back-end with a usable device (CUDA, Metal,
    Vulkan…)."""
    return bool(llama_cpp.llama_supports_gpu_offload())


def _no_gpu_reason() -> tuple[str, str]:
    """(note, hint) for a llama.cpp that offers no GPU: a CPU-only build, or GPU back-end
    modules shipped that found no usable device (no driver, or a broken one)."""
    from app.core.installation.llama_build import llama_lib_dir, shipped_modules

    try:
        gpu_modules = shipped_modules(llama_lib_dir())[1]
    except ImportError:
        gpu_modules = ()
    if not gpu_modules:
        return "CPU only: this llama.cpp build has no GPU support", CPU_ONLY_BUILD_HINT
    shipped = "/".join(name.capitalize() if name == "vulkan" else name.upper()
                       for name in gpu_modules)
    note = f"CPU only: llama.cpp's {shipped} back-end found no usable GPU"
    return note, (f"llama.cpp's {shipped} back-end found no usable GPU (is its driver installed "
                  "and working? `finr1 doctor` lists the devices), so the model runs on the CPU")


def layers_that_fit(shape: GGUFShape, n_ctx: int, usable_bytes: int) -> int:
    """How many of llama.cpp's ``n_layer + 1`` offloadable layers fit in ``usable_bytes``
    (``llama_memory.usable_gpu_bytes``: the GPUs' memory left once each keeps its reserve).

    The output layer counts first, then the blocks from the last one backwards, each with its
    KV cache for ``n_ctx`` tokens, in llama.cpp's order. Returns 0 when the output layer does not
    fit.
    """
    kv_per_layer = n_ctx * shape.dims.kv_bytes_per_token_per_layer
    used = shape.output_bytes
    if used > usable_bytes:
        return 0
    fitted = 1
    for layer_bytes in reversed(shape.layer_bytes):
        used += layer_bytes + kv_per_layer
        if used > usable_bytes:
            break
        fitted += 1
    return fitted


@dataclass(frozen=True)
class OffloadPlan:
    """What the engine asks llama.cpp for, and why.

    ``requested``: what the person asked for. ``n_gpu_layers``: given to llama.cpp (-1 = all).
    ``offload_supported``: the installed llama.cpp can use a GPU. ``free_vram_bytes``: the memory
    llama.cpp may take on all the GPUs it uses (``llama_memory.gpu_room_bytes``), None when not
    measured. ``note``: one line explaining the decision. ``warning``:
    set when the person asked for GPU layers and will not get them.
    """

    requested: GpuLayers
    n_gpu_layers: int
    offload_supported: bool
    free_vram_bytes: int | None
    note: str
    warning: str | None = None

    @property
    def uses_gpu(self) -> bool:
        return self.n_gpu_layers != 0


def plan_offload(requested: GpuLayers, info: GGUFInfo, n_ctx: int, n_batch: int, *,
                 offload_supported: bool | None = None, gpus: Sequence[GpuInfo] | None = None,
                 ram_available_bytes: int | None = None,
                 device: str | None = None) -> OffloadPlan:
    """Decide the GPU layers for the model ``info`` describes.

    ``offload_supported`` defaults to asking llama.cpp. ``gpus`` are the GPUs llama.cpp will use
    and ``ram_available_bytes`` the available RAM (it caps unified memory); when ``gpus`` is None
    both are measured (the GPUs through llama.cpp's registry: ``device``'s alone when one is
    chosen), only for ``"auto"`` on a build that can offload. ``device`` ``"CPU"`` means no
    layers on a GPU. ``InvalidSettingError`` for a ``device`` llama.cpp does not list; otherwise
    never raises: when no GPU is found or the layer sizes are unknown ``"auto"`` offloads
    everything, and the engine falls back to the CPU if loading then fails.
    """
    chosen = find_device(device) if device is not None else None  # an unknown name: refused
    supported = gpu_offload_supported() if offload_supported is None else offload_supported
    if not supported:
        note, hint = _no_gpu_reason()
        if requested == AUTO or requested == 0:
            return OffloadPlan(requested, 0, False, None, note)
        return OffloadPlan(requested, 0, False, None, "CPU only", warning=hint)
    if chosen is not None and not chosen.is_gpu:
        return OffloadPlan(requested, 0, True, None, f"CPU only (device {device} chosen)")
    if requested == 0:
        return OffloadPlan(requested, 0, True, None, "CPU only (as set)")
    if requested != AUTO:
        described = "all layers" if requested == -1 else f"{requested} layers"
        note = f"{described} on {device or 'the GPU'} (as set)"
        return OffloadPlan(requested, int(requested), True, None, note)
    if gpus is None:
        _ram_total, ram_available_bytes = memory_bytes()
        gpus = tuple(gpu.as_gpu_info() for gpu in gpu_devices(device))
    shape = read_gguf_shape(info)
    if not gpus or shape is None:
        why = "no GPU memory measured" if not gpus else "layer sizes unknown"
        note = f"all layers on the GPU ({why}; falls back to the CPU if they do not fit)"
        return OffloadPlan(requested, -1, True, None, note)
    free = sum(gpu_room_bytes(gpu, ram_available_bytes) for gpu in gpus)
    usable = usable_gpu_bytes(gpus, gpu_reserve_bytes(shape.dims, n_batch), ram_available_bytes)
    fitted = layers_that_fit(shape, n_ctx, usable)
    where = gpus[0].name if len(gpus) == 1 else f"{len(gpus)} GPUs"
    note = f"{fitted} of {shape.offloadable_layers} layers on {where} ({free / GIB:.1f} GiB free)"
    return OffloadPlan(requested, fitted, True, free, note)

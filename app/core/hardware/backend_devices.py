"""The devices llama.cpp itself can run a model on, as its back-end registry lists them, and what
it reported after loading one.

``list_devices()`` asks ggml's registry (``ggml_backend_dev_*``, read from ``ggml-backend.h``;
llama-cpp-python 0.3.36 binds none of them, ``app.core.installation.llama_build`` types them against the
libggml libllama uses): every device with its name (``"CPU"``, ``"Vulkan0"``, ``"CUDA0"``), its
description, its type and the free and total memory it reports. Nothing is guessed from the
driver's own tools.

Vulkan devices of CPU type (Mesa's lavapipe, ``llvmpipe``) are left out by ggml-vulkan unless
``GGML_VK_VISIBLE_DEVICES`` names them by their Vulkan index (``GGML_VK_VISIBLE_DEVICES=0``): set
it in the environment before the first llama.cpp call and such a device lists, and can be chosen,
as ``Vulkan0``.

``OffloadReport.from_log`` reads what llama.cpp logged while loading a model: the devices it used
(``using device Vulkan0 (…) - 2048 MiB free``) and the layers it offloaded
(``offloaded 31/31 layers to GPU``), so the app says where the layers are, not where it asked
them to go.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.core.hardware.machine import GpuInfo
from foundation.errors import InvalidSettingError

# enum ggml_backend_dev_type (ggml-backend.h)
DEVICE_TYPES = ("cpu", "gpu", "igpu", "accel", "meta")
GPU_DEVICE_TYPES = frozenset({"gpu", "igpu"})
CPU_DEVICE = "CPU"

_OFFLOADED = re.compile(r"offloaded (?P<layers>\d+)/(?P<total>\d+) layers to GPU")
# "using device %s (%s) (%s) - %zu MiB free": name, description (may hold parentheses), id
_USING_DEVICE = re.compile(r"using device (?P<name>\S+) \((?P<description>.*)\) \([^()]*\) - \d+ MiB free")


@dataclass(frozen=True)
class BackendDevice:
    """One device of llama.cpp's registry. ``device_type``: one of ``DEVICE_TYPES``;
    ``free_bytes`` / ``total_bytes``: the memory the device reports (system RAM for the CPU;
    0 where a back-end does not say)."""

    name: str
    description: str
    device_type: str
    free_bytes: int
    total_bytes: int

    @property
    def is_gpu(self) -> bool:
        """A device that takes offloaded layers (a GPU, integrated or not)."""
        return self.device_type in GPU_DEVICE_TYPES

    def as_gpu_info(self) -> GpuInfo:
        """This device as ``app.core.hardware.llama_memory`` reads GPUs (an integrated GPU shares RAM)."""
        return GpuInfo(self.description or self.name, self.name.rstrip("0123456789").lower(),
                       self.total_bytes, self.free_bytes, "llama.cpp",
                       unified_memory=self.device_type == "igpu")

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "description": self.description, "type": self.device_type,
                "free_bytes": self.free_bytes, "total_bytes": self.total_bytes}


def prepare_backends() -> None:
    """Load llama.cpp's back-end modules (from llama-cpp-python's ``lib`` folder) and initialise
    it once per process, its log going where ``foundation.llama_log`` says. Idempotent."""
    import llama_cpp

    from app.core.installation.llama_build import load_backend_modules
    from foundation.llama_log import install_llama_log

    install_llama_log()
    load_backend_modules()
    llama_cpp.llama_backend_init()


def _device_handles() -> list[tuple[int, BackendDevice]]:
    from app.core.installation.llama_build import _ggml_library

    prepare_backends()
    ggml = _ggml_library()
    devices = []
    for index in range(ggml.ggml_backend_dev_count()):
        handle = ggml.ggml_backend_dev_get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        ggml.ggml_backend_dev_memory(handle, ctypes.byref(free), ctypes.byref(total))
        kind = ggml.ggml_backend_dev_type(handle)
        devices.append((handle, BackendDevice(
            name=(ggml.ggml_backend_dev_name(handle) or b"?").decode(errors="replace"),
            description=(ggml.ggml_backend_dev_description(handle) or b"").decode(errors="replace"),
            device_type=DEVICE_TYPES[kind] if 0 <= kind < len(DEVICE_TYPES) else "unknown",
            free_bytes=free.value, total_bytes=total.value)))
    return devices


def list_devices() -> tuple[BackendDevice, ...]:
    """Every device llama.cpp's registry holds in this process, in its order (GPUs first, the
    CPU after them). Loads the back-ends on first use; the memory figures are read now."""
    return tuple(device for _handle, device in _device_handles())


def gpu_devices(device_name: str | None = None) -> tuple[BackendDevice, ...]:
    """The devices layers would be offloaded to: ``device_name``'s alone when one is chosen (none
    when it is the CPU), else every GPU llama.cpp lists. ``InvalidSettingError`` for a name it
    does not list."""
    if device_name is None:
        return tuple(device for device in list_devices() if device.is_gpu)
    device = find_device(device_name)
    return (device,) if device.is_gpu else ()


def find_device(name: str) -> BackendDevice:
    """The listed device called ``name`` (case-insensitive: ``vulkan0`` finds ``Vulkan0``).
    Raises ``InvalidSettingError`` naming the devices there are."""
    devices = list_devices()
    for device in devices:
        if device.name.lower() == name.lower():
            return device
    listed = ", ".join(f"{device.name} ({device.description})" for device in devices) or "none"
    raise InvalidSettingError(
        f"llama.cpp has no device called '{name}' (it lists: {listed}); run `finr1 doctor` to "
        "see the devices, and for a Vulkan device of CPU type (lavapipe) set "
        "GGML_VK_VISIBLE_DEVICES to its Vulkan index")


def device_handles(name: str | None) -> list[int] | None:
    """The ``ggml_backend_dev_t`` handles to give ``foundation.llama_model_params.model_load_params``
    for the device choice ``name``: None (no choice: every GPU), [] for the CPU or another
    non-GPU device, else the one GPU's handle. ``InvalidSettingError`` as ``find_device``."""
    if name is None:
        return None
    wanted = find_device(name)
    if not wanted.is_gpu:
        return []
    return [handle for handle, device in _device_handles() if device.name == wanted.name]


@dataclass(frozen=True)
class OffloadReport:
    """Where llama.cpp put a loaded model's layers, as it logged them.

    ``gpu_layers``: layers offloaded (0 when no GPU device was used); ``total_layers``: layers it
    could offload (None when it did not say: a CPU-only build); ``devices``: names of the GPU
    devices it used, ``descriptions`` theirs."""

    gpu_layers: int
    total_layers: int | None
    devices: tuple[str, ...]
    descriptions: tuple[str, ...]

    @classmethod
    def from_log(cls, lines: Iterable[str]) -> OffloadReport:
        offloaded: re.Match[str] | None = None
        used: dict[str, str] = {}
        for line in lines:
            offloaded = _OFFLOADED.search(line) or offloaded
            device = _USING_DEVICE.search(line)
            if device is not None:
                used[device["name"]] = device["description"]
        total = int(offloaded["total"]) if offloaded else None
        layers = int(offloaded["layers"]) if offloaded and used else 0
        return cls(layers, total, tuple(used), tuple(used.values()))

    @property
    def device(self) -> str:
        """Where the layers run, for a person: ``llvmpipe (LLVM 15.0.6, 256 bits)`` or ``CPU``."""
        return "; ".join(self.descriptions) if self.gpu_layers else CPU_DEVICE

    @property
    def summary(self) -> str:
        """``GPU: 28/29 layers on NVIDIA H100`` or ``CPU``."""
        if not self.gpu_layers:
            return CPU_DEVICE
        return f"GPU: {self.gpu_layers}/{self.total_layers} layers on {self.device}"

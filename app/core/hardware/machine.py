"""What this machine has for running a model: memory, CPU, GPU, and what llama.cpp can use.

Every probe is cheap, makes no network call and never raises: what cannot be measured is None
(or empty) and the advice says so. Memory and core counts come from psutil on every OS; what
psutil does not tell (the CPU's model name and instruction-set flags) Linux reads from
``/proc/cpuinfo``, macOS asks ``sysctl`` and Windows asks the kernel through ctypes. NVIDIA GPUs
are found through NVML (the driver's library, loaded with ctypes) or, failing that,
``nvidia-smi``; Apple silicon shares its RAM with the GPU (unified memory), of which Metal lets a
process use about three quarters.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MIB = 1 << 20
# Metal's default working-set limit is about 75 % of unified memory on Apple silicon.
APPLE_GPU_SHARE = 0.75
_PROBE_TIMEOUT_S = 10
# From the widest to the narrowest; the first a CPU has is its level.
_X86_LEVELS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"))
_INTERESTING_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
                      "avx512_vnni", "avx_vnni", "amx_tile", "neon", "asimd", "sve")
_WINDOWS_FEATURES = (("avx512f", 41), ("avx2", 40), ("avx", 39))  # PF_*_INSTRUCTIONS_AVAILABLE


@dataclass(frozen=True)
class GpuInfo:
    """One GPU. ``free_bytes`` is None where only the total is known; ``source`` says how it was
    found (``"nvml"``, ``"nvidia-smi"``, ``"apple"``); ``memory_bandwidth_bytes_per_s`` is its
    memory's peak bandwidth where the driver tells it (NVML), else None."""

    name: str
    vendor: str
    total_bytes: int
    free_bytes: int | None
    source: str
    unified_memory: bool = False
    memory_bandwidth_bytes_per_s: float | None = None


@dataclass(frozen=True)
class MachineInfo:
    """This machine as far as running a model is concerned.

    ``instruction_set``: the widest SIMD level the CPU reports (``"AVX-512"``, ``"AVX2"``,
    ``"AVX"``, ``"SSE4.2"``, ``"NEON"``) or None. ``llama_cpu_features``: the CPU features the
    installed llama.cpp was built to use. ``gpu_offload_supported``: llama.cpp has a GPU backend.
    """

    os_name: str
    architecture: str
    cpu_model: str | None
    logical_cores: int
    usable_cores: int
    physical_cores: int | None
    instruction_set: str | None
    cpu_flags: tuple[str, ...]
    ram_total_bytes: int | None
    ram_available_bytes: int | None
    gpus: tuple[GpuInfo, ...]
    gpu_offload_supported: bool
    llama_cpp_version: str | None
    llama_cpu_features: dict[str, bool] = field(default_factory=dict)

    @property
    def unified_memory(self) -> bool:
        return any(gpu.unified_memory for gpu in self.gpus)

    @property
    def best_gpu(self) -> GpuInfo | None:
        """The GPU with the most memory, or None."""
        return max(self.gpus, key=lambda gpu: gpu.total_bytes, default=None)


def detect_machine(*, probe_gpus: bool = True) -> MachineInfo:
    """Probe this machine (about a tenth of a second; ``nvidia-smi``, when used, takes longer)."""
    total, available = memory_bytes()
    flags = cpu_flags()
    version, offload, features = _llama_cpp_facts()
    return MachineInfo(
        os_name=platform.system() or sys.platform,
        architecture=platform.machine(),
        cpu_model=cpu_model(),
        logical_cores=os.cpu_count() or 1,
        usable_cores=_usable_cores(),
        physical_cores=physical_cores(),
        instruction_set=instruction_set_level(flags),
        cpu_flags=tuple(flag for flag in _INTERESTING_FLAGS if flag in flags),
        ram_total_bytes=total,
        ram_available_bytes=available,
        gpus=detect_gpus(total) if probe_gpus else (),
        gpu_offload_supported=offload,
        llama_cpp_version=version,
        llama_cpu_features=features,
    )


# -- memory -------------------------------------------------------------------------------------

def memory_bytes() -> tuple[int | None, int | None]:
    """(total, available) RAM in bytes; "available" is what can be used without swapping (free
    memory plus caches the kernel can drop). Both None when the OS will not say."""
    try:
        memory = psutil.virtual_memory()
    except (OSError, psutil.Error):
        return None, None
    return int(memory.total), int(memory.available)


# -- CPU ----------------------------------------------------------------------------------------

def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags in /proc/cpuinfo's spelling (``avx2``, ``avx512f``, ``neon``…)."""
    if sys.platform.startswith("linux"):
        text = _read_text(Path("/proc/cpuinfo"))
        match = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", text, re.MULTILINE)
        flags = set(match.group(1).split()) if match else set()
        if platform.machine().lower() in ("aarch64", "arm64") and "asimd" in flags:
            flags.add("neon")
        return frozenset(flags)
    if sys.platform == "darwin":
        if platform.machine() == "arm64":
            return frozenset({"neon", "asimd"})
        features = (_run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"])
                    or "")
        return frozenset(word.lower().replace(".", "_") for word in features.split())
    if sys.platform == "win32":
        return _windows_flags()
    return frozenset()


def _windows_flags() -> frozenset[str]:
    try:
        present = ctypes.windll.kernel32.IsProcessorFeaturePresent  # type: ignore[attr-defined]
    except AttributeError:
        return frozenset()
    return frozenset(name for name, code in _WINDOWS_FEATURES if present(code))


def instruction_set_level(flags: frozenset[str] | set[str]) -> str | None:
    """The widest SIMD level in ``flags``, or None when none is known."""
    if "neon" in flags or "asimd" in flags:
        return "NEON"
    return next((label for flag, label in _X86_LEVELS if flag in flags), None)


def cpu_model() -> str | None:
    if sys.platform.startswith("linux"):
        match = re.search(r"^model name\s*:\s*(.+)$", _read_text(Path("/proc/cpuinfo")),
                          re.MULTILINE)
        if match:
            return match.group(1).strip()
    if sys.platform == "darwin":
        return _run(["sysctl", "-n", "machdep.cpu.brand_string"])
    return platform.processor() or None


def physical_cores() -> int | None:
    """Physical cores (hyper-threads not counted), or None when the OS does not say."""
    try:
        return psutil.cpu_count(logical=False)
    except (OSError, psutil.Error):
        return None


def _usable_cores() -> int:
    """The cores this process may run on (its affinity mask; macOS has none: all cores)."""
    try:
        return max(1, len(psutil.Process().cpu_affinity()))
    except (AttributeError, OSError, psutil.Error):
        return max(1, os.cpu_count() or 1)


# -- GPUs ---------------------------------------------------------------------------------------

def detect_gpus(ram_total_bytes: int | None = None) -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs (NVML, else nvidia-smi), or Apple silicon's unified memory."""
    if sys.platform == "darwin" and platform.machine() == "arm64":
        if not ram_total_bytes:
            return ()
        name = _run(["sysctl", "-n", "machdep.cpu.brand_string"]) or "Apple silicon"
        return (GpuInfo(f"{name} GPU", "apple", int(ram_total_bytes * APPLE_GPU_SHARE), None,
                        "apple", unified_memory=True),)
    return nvml_gpus() or nvidia_smi_gpus()


_NVML_CLOCK_MEM = 2  # nvmlClockType_t


class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong),
                ("used", ctypes.c_ulonglong)]


def nvml_gpus() -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs through the driver's NVML library; empty when there is none."""
    library_name = "nvml.dll" if sys.platform == "win32" else "libnvidia-ml.so.1"
    try:
        nvml = ctypes.CDLL(library_name)
        if nvml.nvmlInit_v2() != 0:
            return ()
    except (OSError, AttributeError):
        return ()
    try:
        count = ctypes.c_uint()
        if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            return ()
        return tuple(gpu for gpu in (_nvml_gpu(nvml, index) for index in range(count.value))
                     if gpu is not None)
    finally:
        nvml.nvmlShutdown()


def _nvml_gpu(nvml: ctypes.CDLL, index: int) -> GpuInfo | None:
    handle = ctypes.c_void_p()
    memory = _NvmlMemory()
    name = ctypes.create_string_buffer(96)
    if nvml.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) != 0:
        return None
    if nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) != 0:
        return None
    if nvml.nvmlDeviceGetName(handle, name, ctypes.c_uint(len(name))) != 0:
        name.value = b"NVIDIA GPU"
    bus_width, memory_clock = ctypes.c_uint(), ctypes.c_uint()
    bandwidth = None
    if (nvml.nvmlDeviceGetMemoryBusWidth(handle, ctypes.byref(bus_width)) == 0
            and nvml.nvmlDeviceGetMaxClockInfo(handle, _NVML_CLOCK_MEM,
                                               ctypes.byref(memory_clock)) == 0):
        bandwidth = memory_bandwidth(bus_width.value, memory_clock.value)
    return GpuInfo(name.value.decode(errors="replace"), "nvidia", int(memory.total),
                   int(memory.free), "nvml", memory_bandwidth_bytes_per_s=bandwidth)


def memory_bandwidth(bus_width_bits: int, memory_clock_mhz: int) -> float | None:
    """Peak bandwidth in bytes/s of a GPU memory with NVML's bus width and maximum memory clock
    (two transfers a clock as NVML counts them: an H100's 5120 bits at 2619 MHz give 3.35 TB/s,
    an RTX 4090's 384 bits at 10501 MHz 1.01 TB/s); None when either is 0."""
    if bus_width_bits <= 0 or memory_clock_mhz <= 0:
        return None
    return bus_width_bits / 8 * memory_clock_mhz * 1e6 * 2


def nvidia_smi_gpus() -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs as ``nvidia-smi`` lists them; empty when it is absent or fails."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return ()
    output = _run([executable, "--query-gpu=name,memory.total,memory.free",
                   "--format=csv,noheader,nounits"])
    return parse_nvidia_smi(output or "")


def parse_nvidia_smi(output: str) -> tuple[GpuInfo, ...]:
    """Lines of ``name, total MiB, free MiB`` into GpuInfo; malformed lines are skipped."""
    gpus = []
    for line in output.splitlines():
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) != 3:
            continue
        with contextlib.suppress(ValueError):
            gpus.append(GpuInfo(parts[0], "nvidia", int(float(parts[1]) * MIB),
                                int(float(parts[2]) * MIB), "nvidia-smi"))
    return tuple(gpus)


# -- llama.cpp ----------------------------------------------------------------------------------

def parse_llama_system_info(text: str) -> dict[str, bool]:
    """``"CPU : AVX = 1 | AVX2 = 1 | …"`` (llama_print_system_info) into {"AVX": True, …}."""
    return {name: value == "1" for name, value in re.findall(r"([A-Z0-9_]+) = ([01])", text)}


def _llama_cpp_facts() -> tuple[str | None, bool, dict[str, bool]]:
    """(version, can offload to a GPU, CPU features the build uses); llama_cpp is imported
    here, not at module load, so the cheap probes above do not load the native library."""
    try:
        import llama_cpp
    except (ImportError, OSError):
        return None, False, {}
    info = llama_cpp.llama_print_system_info()
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return (llama_cpp.__version__, bool(llama_cpp.llama_supports_gpu_offload()),
            parse_llama_system_info(text))


# -- helpers ------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _run(command: list[str]) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=_PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None

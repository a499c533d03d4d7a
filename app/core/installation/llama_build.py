"""Which llama.cpp build this process runs: its version, CPU variant and GPU back-ends.

llama.cpp (ggml) is built one of two ways:

- *single build*: the CPU code is compiled into ``libggml-cpu`` for one instruction set; a
  ``pip install llama-cpp-python`` compiles it for the build machine (``GGML_NATIVE``), which can
  crash with an illegal instruction on an older CPU;
- *run-time variants* (``GGML_BACKEND_DL`` + ``GGML_CPU_ALL_VARIANTS``, how the installers are
  built): one loadable module per instruction-set level (``libggml-cpu-x64`` …
  ``libggml-cpu-sapphirerapids``); at start-up ggml scores each against this CPU and loads the
  best one. GPU back-ends (``libggml-cuda`` …) are modules too, loaded when their driver is present.

``llama_build_info()`` reports which of these runs, for the About box and bug reports.
``load_backend_modules()`` makes a run-time-variant build find its modules wherever
llama-cpp-python's ``lib`` folder is (ggml itself only looks beside the executable and in the
working folder). Neither imports Qt; both load the native library.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from app.core.hardware.machine import parse_llama_system_info

_MODULE_NAME = re.compile(r"^(?:lib)?ggml-(?P<backend>[a-z0-9]+)(?:-(?P<variant>[\w.]+))?"
                          r"\.(?:so|dll|dylib)$")
_ALWAYS_LINKED = frozenset({"base"})  # libggml-base is a plain library, never a module
_DEVICE_TYPE_GPU = 1
_DEVICE_TYPE_IGPU = 2


@dataclass(frozen=True)
class LlamaBuildInfo:
    """What ``llama_build_info`` found.

    ``cpu_variants``: the CPU variant modules shipped (empty for a single build);
    ``cpu_variant``: the one loaded (None for a single build, or when it cannot be told);
    ``module_backends``: GPU/other back-end modules shipped (e.g. ``("cuda",)``);
    ``backends``: the ggml back-ends registered in this process (e.g. ``("CUDA", "CPU")``);
    ``gpu_devices``: descriptions of the GPUs llama.cpp can use; ``cpu_features``: the instruction
    sets the loaded CPU code uses, as llama.cpp reports them.
    """

    package_version: str
    library_version: str
    cpu_variants: tuple[str, ...]
    cpu_variant: str | None
    module_backends: tuple[str, ...]
    backends: tuple[str, ...]
    gpu_offload: bool
    gpu_devices: tuple[str, ...]
    cpu_features: tuple[str, ...]

    @property
    def runtime_cpu_variants(self) -> bool:
        """The CPU code was chosen at start-up among several builds (runs on any x86-64 CPU)."""
        return bool(self.cpu_variants)

    @property
    def cpu_summary(self) -> str:
        """One line on the CPU code, e.g. ``haswell variant, chosen at start-up among 15``."""
        features = ", ".join(self.cpu_features) or "baseline instructions only"
        if not self.runtime_cpu_variants:
            return f"single build compiled into the library ({features})"
        chosen = f"{self.cpu_variant} variant" if self.cpu_variant else "best variant"
        return (f"{chosen}, chosen at start-up among {len(self.cpu_variants)} "
                f"for this CPU ({features})")

    @property
    def gpu_summary(self) -> str:
        """One line on GPU use, e.g. ``CUDA: NVIDIA H100`` or why there is none."""
        gpu_backends = [name for name in self.backends if name not in ("CPU", "BLAS", "RPC")]
        if self.gpu_devices:
            return f"{'/'.join(gpu_backends) or 'GPU'}: {'; '.join(self.gpu_devices)}"
        if self.module_backends:
            shipped = "/".join(name.upper() for name in self.module_backends)
            return f"{shipped} build, but no usable GPU was found (driver missing?); runs on the CPU"
        return "none: a CPU-only build"

    @property
    def summary(self) -> str:
        """The build in three lines, for the About box and bug reports."""
        return (f"llama.cpp {self.library_version} (llama-cpp-python {self.package_version})\n"
                f"CPU: {self.cpu_summary}\n"
                f"GPU: {self.gpu_summary}")


def llama_lib_dir() -> Path:
    """The folder holding llama-cpp-python's native libraries (``$LLAMA_CPP_LIB_PATH`` when set,
    as llama-cpp-python itself honours it). Does not load them."""
    override = os.environ.get("LLAMA_CPP_LIB_PATH")
    if override:
        return Path(override)
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        raise ImportError("llama-cpp-python is not installed")
    return Path(spec.origin).parent / "lib"


def shipped_modules(lib_dir: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(CPU variants, other back-end modules) among the files of ``lib_dir``, by file name:
    ``libggml-cpu-haswell.so`` is CPU variant ``haswell``, ``libggml-cuda.so`` back-end
    ``cuda``. The plain ``libggml-cpu`` of a single build is neither. Sorted; empty when the
    folder is missing."""
    variants: set[str] = set()
    backends: set[str] = set()
    try:
        names = [entry.name for entry in lib_dir.iterdir() if entry.is_file()]
    except OSError:
        names = []
    for name in names:
        match = _MODULE_NAME.match(name)
        if match is None:
            continue
        backend, variant = match["backend"], match["variant"]
        if backend == "cpu" and variant:
            variants.add(variant)
        elif backend not in ("cpu", *_ALWAYS_LINKED) and not variant:
            backends.add(backend)
    return tuple(sorted(variants)), tuple(sorted(backends))


def load_backend_modules(lib_dir: Path | None = None) -> bool:
    """Register ggml's back-end modules from ``lib_dir`` (default: ``llama_lib_dir()``) unless
    some are registered already; call before the first llama.cpp call of a process.

    Returns True when modules were loaded here. A single build has nothing to load and returns
    False, as does a second call. Side effect: loads libggml and the modules into the process.
    """
    lib_dir = llama_lib_dir() if lib_dir is None else lib_dir
    variants, backends = shipped_modules(lib_dir)
    if not variants and not backends:
        return False
    ggml = _ggml_library()
    if ggml.ggml_backend_reg_count() > 0:
        return False
    ggml.ggml_backend_load_all_from_path(os.fsencode(lib_dir))
    return ggml.ggml_backend_reg_count() > 0


def llama_build_info() -> LlamaBuildInfo:
    """Describe the llama.cpp build of this process (see the module docstring).

    Loads llama.cpp's back-ends if nothing did yet, as the first model load would. Raises
    ImportError/OSError when llama-cpp-python or its native library is missing.
    """
    import llama_cpp

    lib_dir = llama_lib_dir()
    load_backend_modules(lib_dir)
    gpu_offload = bool(llama_cpp.llama_supports_gpu_offload())  # also loads back-ends if none
    system_info = llama_cpp.llama_print_system_info()
    text = system_info.decode(errors="replace") if isinstance(system_info, bytes) else system_info
    version = llama_cpp.llama_version()
    variants, module_backends = shipped_modules(lib_dir)
    ggml = _ggml_library()
    return LlamaBuildInfo(
        package_version=llama_cpp.__version__,
        library_version=version.decode() if isinstance(version, bytes) else str(version),
        cpu_variants=variants,
        cpu_variant=_loaded_cpu_variant(lib_dir, variants),
        module_backends=module_backends,
        backends=_registered_backends(ggml),
        gpu_offload=gpu_offload,
        gpu_devices=_gpu_devices(ggml),
        cpu_features=_cpu_features(text),
    )


def _cpu_features(system_info: str) -> tuple[str, ...]:
    # the text lists every back-end's features; the CPU's come first, up to the next "NAME :"
    cpu_part = system_info.split("CPU :", 1)[-1]
    cpu_part = re.split(r"\|\s*[A-Za-z][\w ]* :", cpu_part, maxsplit=1)[0]
    flags = parse_llama_system_info(cpu_part)
    return tuple(name for name, enabled in flags.items() if enabled)


def _ggml_library() -> ctypes.CDLL:
    """ggml's registry functions, typed, looked up through llama-cpp-python's libllama handle so
    they are those of the libggml instance libllama uses (one registry per process; a second
    copy of libggml loaded under another file name would have its own, empty one)."""
    from llama_cpp.llama_cpp import _lib as libggml

    for name, restype, argtypes in (
        ("ggml_backend_reg_count", ctypes.c_size_t, []),
        ("ggml_backend_reg_get", ctypes.c_void_p, [ctypes.c_size_t]),
        ("ggml_backend_reg_name", ctypes.c_char_p, [ctypes.c_void_p]),
        ("ggml_backend_dev_count", ctypes.c_size_t, []),
        ("ggml_backend_dev_get", ctypes.c_void_p, [ctypes.c_size_t]),
        ("ggml_backend_dev_name", ctypes.c_char_p, [ctypes.c_void_p]),
        ("ggml_backend_dev_description", ctypes.c_char_p, [ctypes.c_void_p]),
        ("ggml_backend_dev_memory", None,
         [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]),
        ("ggml_backend_dev_type", ctypes.c_int, [ctypes.c_void_p]),
        ("ggml_backend_load_all_from_path", None, [ctypes.c_char_p]),
    ):
        function = getattr(libggml, name)
        function.restype = restype
        function.argtypes = argtypes
    return libggml


def _registered_backends(ggml: ctypes.CDLL) -> tuple[str, ...]:
    names = (ggml.ggml_backend_reg_name(ggml.ggml_backend_reg_get(index))
             for index in range(ggml.ggml_backend_reg_count()))
    return tuple(name.decode(errors="replace") for name in names if name)


def _gpu_devices(ggml: ctypes.CDLL) -> tuple[str, ...]:
    devices = []
    for index in range(ggml.ggml_backend_dev_count()):
        device = ggml.ggml_backend_dev_get(index)
        if ggml.ggml_backend_dev_type(device) in (_DEVICE_TYPE_GPU, _DEVICE_TYPE_IGPU):
            description = ggml.ggml_backend_dev_description(device) or b"unnamed GPU"
            devices.append(description.decode(errors="replace"))
    return tuple(devices)


def _loaded_cpu_variant(lib_dir: Path, variants: tuple[str, ...]) -> str | None:
    """The variant whose module this process has loaded, asking the dynamic loader about each
    shipped module without loading any."""
    for variant in variants:
        for path in lib_dir.glob(f"*ggml-cpu-{variant}.*"):
            if _is_loaded(path):
                return variant
    return None


def _is_loaded(path: Path) -> bool:
    if sys.platform == "win32":
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.GetModuleHandleW.restype = ctypes.c_void_p
        kernel32.GetModuleHandleW.argtypes = [ctypes.c_wchar_p]
        return bool(kernel32.GetModuleHandleW(str(path)))
    try:
        ctypes.CDLL(str(path), mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return False
    return True

"""The one way this project asks llama.cpp to load a model: ``model_load_params``.

Every place that loads a GGUF into llama.cpp (the chat runtime, the importance-matrix and
evaluation runner, benchmarks, test helpers) takes its ``llama_model_params`` from here, so a rule
about loading holds everywhere at once.

The rule it holds today: **no AMX weight buffers.** On CPUs with Intel AMX (Sapphire Rapids and
later) llama.cpp's CPU back-end offers an "AMX" extra buffer type and repacks quantized weights
(Q4_0, Q4_1, Q8_0, Q4_K…) into it. With llama-cpp-python 0.3.36 that path crashes the process
(SIGSEGV in ``ggml_backend_amx_mul_mat``) on the first decode of two or more tokens: seen on this
project's own machines (Xeon with AMX_INT8: SmolLM2 Q4_1, ``llm("…", max_tokens=8)`` → signal 11;
the same call with ``use_extra_bufts = False`` answers), and upstream as llama.cpp issue 20824,
closed without a fix. Extra buffer types are therefore switched off where the loaded CPU back-end
reports AMX; elsewhere they stay on, since they carry the AVX2/AVX-512 weight repacking that makes
Q4_0-style quants faster.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import llama_cpp


@functools.cache
def cpu_backend_has_amx() -> bool:
    """True when the llama.cpp CPU back-end in this process was built with AMX and uses it
    (``llama_print_system_info`` lists ``AMX_INT8 = 1``)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return "AMX_INT8 = 1" in info


# NULL-terminated device lists handed to llama.cpp, by their handles; kept for the life of the
# process since llama.cpp reads the array while loading and ggml's device handles never change.
_DEVICE_LISTS: dict[tuple[int, ...], ctypes.Array[ctypes.c_void_p]] = {}


def model_load_params(n_gpu_layers: int = 0, use_mmap: bool = True,
                      devices: Sequence[int] | None = None) -> llama_cpp.llama_model_params:
    """llama.cpp's default ``llama_model_params`` with ``n_gpu_layers`` layers offloaded,
    mapped (``use_mmap``) or read into memory, and extra (repacking) buffer types off where they
    would use AMX (see the module docstring). Call after ``llama_backend_init``.

    ``devices``: the ``ggml_backend_dev_t`` handles of the GPUs the offloaded layers may go to
    (``app.core.hardware.backend_devices.device_handle``; empty: none, everything on the CPU); None lets
    llama.cpp spread them over every GPU it lists."""
    import llama_cpp

    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = n_gpu_layers
    if devices is not None:
        key = tuple(devices)
        if key not in _DEVICE_LISTS:
            _DEVICE_LISTS[key] = (ctypes.c_void_p * (len(key) + 1))(*key, None)
        params.devices = ctypes.cast(_DEVICE_LISTS[key], ctypes.c_void_p)
    params.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP if use_mmap else llama_cpp.LLAMA_LOAD_MODE_NONE
    if cpu_backend_has_amx():
        params.use_extra_bufts = False
    return params

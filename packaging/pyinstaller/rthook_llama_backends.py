"""PyInstaller runtime hook: runs inside the frozen app before ``entry.py``.

The installers ship llama.cpp with its CPU code as one loadable module per instruction-set level
(``libggml-cpu-x64`` … ``libggml-cpu-sapphirerapids``) and GPU back-ends as modules too. ggml
looks for them only beside the executable and in the working folder, while the bundle keeps them
with llama-cpp-python in ``llama_cpp/lib``; so they are registered from there now, through
libllama (the library instance llama-cpp-python will use), before any llama.cpp call. ggml scores
each CPU module against this CPU and keeps the best one it can run.

Plain ctypes, no app import: this runs at every start, before anything else is imported.
``app.core.installation.llama_build.load_backend_modules`` does the same for a source install.
"""

import ctypes
import os
import sys
from pathlib import Path

_LIBLLAMA = {"win32": "llama.dll", "darwin": "libllama.dylib"}.get(sys.platform, "libllama.so")


def _register_backend_modules() -> None:
    lib_dir = Path(sys._MEIPASS) / "llama_cpp" / "lib"
    modules = [path for path in lib_dir.glob("*ggml-*") if not path.name.startswith(
        ("libggml.", "ggml.", "libggml-base", "ggml-base"))]
    if not modules:
        return  # a single build: the CPU code is linked into libggml
    llama = ctypes.CDLL(str(lib_dir / _LIBLLAMA))
    llama.ggml_backend_reg_count.restype = ctypes.c_size_t
    llama.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    if llama.ggml_backend_reg_count() == 0:
        _without_stderr(lambda: llama.ggml_backend_load_all_from_path(os.fsencode(lib_dir)))


def _without_stderr(call) -> None:
    """Run ``call`` with file descriptor 2 on the null device: ggml announces each module it
    loads on stderr ("load_backend: loaded CPU backend from …") before the app can route its
    log, noise at every start of the app or of `finr1 …` (`finr1 about` reports the same)."""
    try:
        saved_stderr = os.dup(2)
    except OSError:  # no stderr at all (a Windows GUI process)
        call()
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        call()
    finally:
        os.dup2(saved_stderr, 2)
        os.close(devnull)
        os.close(saved_stderr)


_register_backend_modules()

"""Read ggml graph tensors from Python: the ``struct ggml_tensor`` layout and the few libggml
functions an evaluation callback needs.

llama.cpp calls a context's ``cb_eval`` with a ``struct ggml_tensor *``; llama-cpp-python exposes
only the pointer. The layout below is ``ggml/include/ggml.h`` of the ggml bundled with
llama-cpp-python 0.3.36 (``GGML_MAX_DIMS`` 4, ``GGML_MAX_OP_PARAMS`` 64, ``GGML_MAX_SRC`` 10,
``GGML_MAX_NAME`` 64). ``ggml_api()`` checks it against the loaded library once, by building real
tensors with libggml and reading them back, so a llama-cpp-python whose ggml changed the struct
fails loudly instead of reading garbage.
"""

from __future__ import annotations

import ctypes
import functools
import pathlib
from dataclasses import dataclass

import numpy as np

from foundation.errors import FinR1Error

GGML_MAX_DIMS = 4
GGML_MAX_OP_PARAMS = 64
GGML_MAX_SRC = 10
GGML_MAX_NAME = 64
GGML_TYPE_F32 = 0
GGML_TYPE_I32 = 26


class GgmlTensor(ctypes.Structure):
    """``struct ggml_tensor`` (read-only use: never allocate one from Python)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * GGML_MAX_DIMS),
        ("nb", ctypes.c_size_t * GGML_MAX_DIMS),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * (GGML_MAX_OP_PARAMS // 4)),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * GGML_MAX_SRC),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * GGML_MAX_NAME),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


class GgmlLayoutError(FinR1Error):
    """The installed llama-cpp-python's ggml does not have the tensor layout this app reads."""


class _InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p),
                ("no_alloc", ctypes.c_bool)]


@dataclass(frozen=True)
class GgmlApi:
    """The libggml functions and enum values a ``cb_eval`` callback uses."""

    library: ctypes.CDLL
    op_mul_mat: int
    op_mul_mat_id: int

    def tensor(self, address: int) -> GgmlTensor:
        """The tensor at ``address`` (a ``struct ggml_tensor *`` from llama.cpp), not copied."""
        return GgmlTensor.from_address(address)

    def is_host(self, tensor: GgmlTensor) -> bool:
        """Whether the tensor's data lies in host memory (always, on a CPU-only build)."""
        return tensor.buffer is None or bool(self.library.ggml_backend_buffer_is_host(tensor.buffer))

    def float_rows(self, tensor: GgmlTensor) -> np.ndarray:
        """The F32 tensor's values as a ``(ne3, ne2, ne1, ne0)`` array.

        A view of host memory (valid only during the callback: copy what must outlive it) or,
        for device memory, a copy fetched with ``ggml_backend_tensor_get``. Raises ValueError for
        a non-F32 tensor or one whose rows are not contiguous.
        """
        if tensor.type != GGML_TYPE_F32 or tensor.nb[0] != 4:
            raise ValueError(f"{tensor.name!r} is not a row-contiguous F32 tensor")
        shape = tuple(int(tensor.ne[axis]) for axis in reversed(range(GGML_MAX_DIMS)))
        strides = tuple(int(tensor.nb[axis]) for axis in reversed(range(GGML_MAX_DIMS)))
        extent = 4 + sum((size - 1) * stride for size, stride in zip(shape, strides, strict=True))
        if self.is_host(tensor):
            raw = (ctypes.c_char * extent).from_address(tensor.data)
        else:
            raw = ctypes.create_string_buffer(extent)
            self.library.ggml_backend_tensor_get(ctypes.byref(tensor), raw, 0, extent)
        return np.ndarray(shape, dtype=np.float32, buffer=memoryview(raw), strides=strides)

    def int32_matrix(self, tensor: GgmlTensor) -> np.ndarray:
        """An I32 tensor's first two dimensions as a ``(ne1, ne0)`` array, copied to the host."""
        if tensor.type != GGML_TYPE_I32:
            raise ValueError(f"{tensor.name!r} is not an I32 tensor")
        nbytes = int(self.library.ggml_nbytes(ctypes.byref(tensor)))
        raw = ctypes.create_string_buffer(nbytes)
        self.library.ggml_backend_tensor_get(ctypes.byref(tensor), raw, 0, nbytes)
        rows, columns = int(tensor.ne[1]), int(tensor.ne[0])
        return np.ndarray((rows, columns), dtype=np.int32, buffer=memoryview(raw),
                          strides=(int(tensor.nb[1]), int(tensor.nb[0]))).copy()


@functools.cache
def ggml_api() -> GgmlApi:
    """Load libggml-base from llama-cpp-python and check the struct layout against it.

    Raises ``GgmlLayoutError`` when a tensor built by libggml does not read back as expected.
    """
    import llama_cpp
    from llama_cpp._ctypes_extensions import load_shared_library

    library = load_shared_library("ggml-base", pathlib.Path(llama_cpp.__file__).parent / "lib")
    _declare(library)
    op_mul_mat = _check_layout(library)
    if library.ggml_op_name(op_mul_mat + 1) != b"MUL_MAT_ID":
        raise GgmlLayoutError(_layout_message("GGML_OP_MUL_MAT_ID does not follow GGML_OP_MUL_MAT"))
    return GgmlApi(library, op_mul_mat, op_mul_mat + 1)


def _declare(library: ctypes.CDLL) -> None:
    pointer = ctypes.c_void_p
    signatures = {
        "ggml_init": ([_InitParams], pointer),
        "ggml_free": ([pointer], None),
        "ggml_new_tensor_2d": ([pointer, ctypes.c_int, ctypes.c_int64, ctypes.c_int64], pointer),
        "ggml_set_name": ([pointer, ctypes.c_char_p], pointer),
        "ggml_get_name": ([pointer], pointer),
        "ggml_get_data": ([pointer], pointer),
        "ggml_mul_mat": ([pointer, pointer, pointer], pointer),
        "ggml_op_name": ([ctypes.c_int], ctypes.c_char_p),
        "ggml_nbytes": ([pointer], ctypes.c_size_t),
        "ggml_backend_buffer_is_host": ([pointer], ctypes.c_bool),
        "ggml_backend_tensor_get": ([pointer, pointer, ctypes.c_size_t, ctypes.c_size_t], None),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(library, name)
        function.argtypes = argtypes
        function.restype = restype


def _check_layout(library: ctypes.CDLL) -> int:
    """Build ``c = a @ b`` with libggml and read every field the callback uses back through
    ``GgmlTensor``; returns the value of ``GGML_OP_MUL_MAT``."""
    context = library.ggml_init(_InitParams(1 << 16, None, False))
    if not context:
        raise GgmlLayoutError(_layout_message("ggml_init failed"))
    try:
        weight = library.ggml_new_tensor_2d(context, GGML_TYPE_F32, 8, 3)
        activations = library.ggml_new_tensor_2d(context, GGML_TYPE_F32, 8, 5)
        library.ggml_set_name(weight, b"blk.0.layout_check.weight")
        product = library.ggml_mul_mat(context, weight, activations)
        view = GgmlTensor.from_address(weight)
        result = GgmlTensor.from_address(product)
        checks = {
            "type": view.type == GGML_TYPE_F32,
            "ne": list(view.ne) == [8, 3, 1, 1],
            "nb": list(view.nb) == [4, 32, 96, 96],
            "name": view.name == b"blk.0.layout_check.weight"
                    and library.ggml_get_name(weight) == weight + GgmlTensor.name.offset,
            "data": view.data == library.ggml_get_data(weight),
            "src": result.src[0] == weight and result.src[1] == activations,
            "op": library.ggml_op_name(result.op) == b"MUL_MAT",
        }
        op_mul_mat = int(result.op)
    finally:
        library.ggml_free(context)
    wrong = [field for field, ok in checks.items() if not ok]
    if wrong:
        raise GgmlLayoutError(_layout_message(f"fields {', '.join(wrong)} read back wrong"))
    return op_mul_mat


def _layout_message(detail: str) -> str:
    return (f"This llama-cpp-python's ggml has a tensor layout this app cannot read ({detail}); "
            "install the llama-cpp-python version this app names (pip install -e .) to compute "
            "importance matrices.")

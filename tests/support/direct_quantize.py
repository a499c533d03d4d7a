"""A bare, in-process ``llama_model_quantize`` call, for what the app's quantizer refuses on
purpose: requantizing an already-quantized GGUF (the SmolLM2 Q4_1 test model, turned into an F16
reference whose weights mean something), and llama.cpp's own verdict on a type without an
importance matrix. Tests and bench/ use it; the app never does.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

from quant.formats import quant_type


def direct_quantize(input_path: Path, output_path: Path, type_name: str, *,
                    allow_requantize: bool = False, threads: int = 0) -> int:
    """Quantize ``input_path`` to ``type_name`` (a name of ``quant.formats``) in this process;
    returns libllama's status (0 on success). Blocks until libllama is done."""
    import llama_cpp

    logger = logging.getLogger("llama-cpp-python")
    if logger.level == logging.NOTSET:  # keep libllama's per-tensor log off the terminal
        logger.setLevel(logging.ERROR)
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = quant_type(type_name).llama_ftype
    params.nthread = threads
    params.allow_requantize = allow_requantize
    return int(llama_cpp.llama_model_quantize(os.fsencode(input_path), os.fsencode(output_path),
                                              ctypes.byref(params)))

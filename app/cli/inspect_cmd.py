"""``finr1 inspect FILE.gguf [--json]``: check a GGUF file and say what it holds.

The file is validated exactly as before any load (``quant.gguf_check.validate_gguf``); an invalid
file raises ``GGUFValidationError``, which the CLI prints as one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from foundation.disk_space import human_bytes
from quant.gguf_check import GGUFInfo, validate_gguf


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand."""
    parser = subparsers.add_parser(
        "inspect", help="check a GGUF model file and show what it holds",
        description="Check that a GGUF file is well formed and show its architecture, "
                    "quantization, tensors, parameter count and context length.",
    )
    parser.add_argument("gguf_path", metavar="FILE.gguf", help="the GGUF file to inspect")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.gguf_path`` and print its summary (text or JSON) to stdout; returns 0."""
    info = validate_gguf(args.gguf_path)
    if args.json:
        print(json.dumps(summary_dict(info)))
    else:
        sys.stdout.write(summary_text(info))
    return 0


def format_parameter_count(count: int) -> str:
    """``7615616512`` → ``"7.62 B"``, ``134515008`` → ``"134.5 M"``, small counts as they are."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:.2f} B"
    if count >= 1_000_000:
        return f"{count / 1e6:.1f} M"
    if count >= 1_000:
        return f"{count / 1e3:.1f} K"
    return str(count)


def summary_dict(info: GGUFInfo) -> dict[str, Any]:
    """The JSON form: plain types only; the tensor list is left out (it can be hundreds long)."""
    return {
        "path": str(info.path),
        "size_bytes": info.size_bytes,
        "gguf_version": info.version,
        "architecture": info.architecture,
        "name": info.name,
        "file_type": info.file_type,
        "file_type_label": info.file_type_label,
        "quant_type": info.quant_type.name if info.quant_type else None,
        "tensor_count": info.tensor_count,
        "tensor_types": info.tensor_type_histogram,
        "parameter_count": info.parameter_count,
        "context_length": info.context_length,
        "has_chat_template": info.has_chat_template,
    }


def summary_text(info: GGUFInfo) -> str:
    """The human form: one ``label: value`` line per fact."""
    types = ", ".join(
        f"{ggml_type} ×{count}"
        for ggml_type, count in sorted(info.tensor_type_histogram.items(),
                                       key=lambda item: (-item[1], item[0]))
    )
    rows = [
        ("file", str(info.path)),
        ("size", f"{human_bytes(info.size_bytes)} ({info.size_bytes} bytes)"),
        ("GGUF version", str(info.version)),
        ("architecture", info.architecture or "not stated"),
        ("name", info.name or "not stated"),
        ("file type", _file_type_text(info)),
        ("tensors", f"{info.tensor_count} ({types})" if types else "0"),
        ("parameters", f"{format_parameter_count(info.parameter_count)} "
                       f"({info.parameter_count})"),
        ("context length", str(info.context_length) if info.context_length else "not stated"),
        ("chat template", "present" if info.has_chat_template else "absent"),
    ]
    width = max(len(label) for label, _value in rows)
    return "".join(f"{label + ':':<{width + 1}} {value}\n" for label, value in rows)


def _file_type_text(info: GGUFInfo) -> str:
    if info.file_type is None:
        return "not stated"
    return f"{info.file_type_label} (llama ftype {info.file_type})"

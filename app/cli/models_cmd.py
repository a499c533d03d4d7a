"""``finr1 models list [--json] | import PATH [--move|--copy|--link] | verify [ID] | remove ID``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from app.cli.library_option import add_library_option, open_library
from app.cli.progress_bar import ProgressBar
from app.core.library.model_library import ImportMode, ModelEntry
from foundation.disk_space import human_bytes


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "models", help="list, import, verify and remove models of the library",
        description="The model library: every model file the app knows, with its source, "
                    "quant type, size, SHA-256 and whether it is still as verified.",
    )
    add_library_option(parser)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list the models and their status")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_list)

    importing = actions.add_parser(
        "import", help="add a .gguf file or a checkpoint folder",
        description="Add a .gguf file (validated, hashed, quant type read from it) or a Hugging "
                    "Face checkpoint folder (config, tokenizer and every shard checked).")
    importing.add_argument("path", type=Path, metavar="PATH")
    mode = importing.add_mutually_exclusive_group()
    mode.add_argument("--copy", dest="mode", action="store_const", const=ImportMode.COPY,
                      help="copy it into the library (default)")
    mode.add_argument("--move", dest="mode", action="store_const", const=ImportMode.MOVE,
                      help="move it into the library")
    mode.add_argument("--link", dest="mode", action="store_const", const=ImportMode.LINK,
                      help="leave it where it is and record its path")
    importing.set_defaults(handler=_import, mode=ImportMode.COPY)

    verifying = actions.add_parser("verify", help="hash models again and compare")
    verifying.add_argument("model_id", nargs="?", metavar="ID", help="one model (default: all)")
    verifying.set_defaults(handler=_verify)

    removing = actions.add_parser("remove", help="forget a model (deleting the library's copy)")
    removing.add_argument("model_id", metavar="ID")
    removing.set_defaults(handler=_remove)


def _list(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        entries = library.models()
        if args.json:
            print(json.dumps([_entry_json(entry) for entry in entries], indent=2,
                             ensure_ascii=False))
            return 0
        if not entries:
            print(f"the library at {library.root} is empty; add a model with finr1 download or "
                  "finr1 models import")
            return 0
        print(f"{'ID':<24} {'QUANT':<7} {'SIZE':>9} {'STATUS':<10} SOURCE / PATH")
        for entry in entries:
            print(f"{entry.id:<24} {entry.quant_label or '-':<7} "
                  f"{human_bytes(entry.size_bytes):>9} {entry.status.value:<10} "
                  f"{entry.source_label}\n{'':<53}{entry.path}")
            if entry.problem:
                print(f"{'':<53}! {entry.problem}")
    return 0


def _import(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        entry = library.import_path(args.path, args.mode, on_progress=ProgressBar())
    print(f"{entry.id}\t{entry.path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        results = library.verify(args.model_id, on_progress=ProgressBar())
    for result in results:
        print(f"{result.entry.id}: {'intact' if result.ok else result.message}")
    return 0 if all(result.ok for result in results) else 1


def _remove(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        entry = library.remove(args.model_id)
    kept = "" if entry.owned else f"; the linked file {entry.path} was kept"
    print(f"removed {entry.id}{kept}")
    return 0


def _entry_json(entry: ModelEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "kind": entry.kind.value, "name": entry.name, "path": str(entry.path),
        "owned": entry.owned, "status": entry.status.value, "problem": entry.problem,
        "source": entry.source, "quant_type": entry.quant_label, "size_bytes": entry.size_bytes,
        "sha256": entry.sha256,
        "verified_at": (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.verified_at))
                        if entry.verified_at else None),
        "architecture": entry.architecture, "parameter_count": entry.parameter_count,
        "context_length": entry.context_length,
        "files": [{"name": file.name, "size_bytes": file.size_bytes, "sha256": file.sha256}
                  for file in entry.files],
    }

"""``finr1 doctor [--json] [--context N]``: this machine, and which Fin-R1 quant fits it.

Makes no network call: file sizes come from the quant table, or from the hub's file list when an
earlier download remembered it. On Linux it also says whether Qt's X11 platform plugin finds all
its libraries, and which packages to install when not (``app.core.display_libraries``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from app.core.catalog import load_catalog
from app.core.display_libraries import DisplayLibraries, check_display_libraries
from app.core.fit import DEFAULT_CONTEXT, FitAdvice, advise, advise_for_repo
from app.core.hardware import MachineInfo, detect_machine
from app.core.hub_client import offline_mode
from app.core.paths import AppPaths, app_paths
from app.core.settings import AppSettings, load_settings
from quant.disk_space import free_bytes, human_bytes


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``doctor`` subcommand."""
    parser = subparsers.add_parser(
        "doctor", help="show this machine's memory, CPU and GPU, and which quant fits",
        description="Probe RAM, CPU cores and instruction set, GPUs and what llama.cpp can use, "
                    "then estimate for each quant type of Fin-R1 whether it fits in GPU memory, "
                    "in RAM, or not at all, and recommend one. No network access.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--context", type=int, default=DEFAULT_CONTEXT, metavar="TOKENS",
                        help=f"context size to plan for (default: {DEFAULT_CONTEXT})")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the machine and the advice."""
    paths = app_paths()
    settings = load_settings()
    machine = detect_machine()
    catalog = load_catalog(paths.catalog_cache_file)
    repo = catalog.repo(catalog.default_gguf_repo)
    # What fits this machine, not only what that repository offers: the rest can be built.
    advice = (advise_for_repo(machine, repo, args.context, offered_only=False) if repo
              else advise(machine, args.context))
    display = check_display_libraries()
    if args.json:
        print(json.dumps(_as_json(machine, advice, paths, settings, display), indent=2,
                         ensure_ascii=False))
    else:
        print(_as_text(machine, advice, paths, settings, display))
    return 0


def _as_json(machine: MachineInfo, advice: FitAdvice, paths: AppPaths,
             settings: AppSettings, display: DisplayLibraries | None) -> dict[str, Any]:
    return {
        "machine": dataclasses.asdict(machine),
        "context": advice.n_ctx,
        "quants": [
            {"quant_type": row.quant_type.name, "label": row.quant_type.label,
             "weights_bytes": row.estimate.weights_bytes,
             "kv_cache_bytes": row.estimate.kv_cache_bytes,
             "runtime_bytes": row.estimate.runtime_bytes,
             "ram_bytes": row.estimate.ram_bytes, "vram_bytes": row.estimate.vram_bytes,
             "fit": row.level.name.lower(), "size_known": row.size_known}
            for row in advice.rows
        ],
        "recommended": advice.recommended.name if advice.recommended else None,
        "reason": advice.reason,
        "offline_mode": offline_mode(settings.offline),
        "paths": {"mode": paths.mode, "data_dir": str(paths.data_dir),
                  "config_dir": str(paths.config_dir),
                  "library_dir": str(paths.library_dir(settings.library_dir)),
                  "log_file": str(paths.log_file)},
        "display_libraries": None if display is None else {
            "plugin": str(display.plugin), "missing": list(display.missing),
            "packages": list(display.packages), "install_command": display.install_command()},
    }


def _as_text(machine: MachineInfo, advice: FitAdvice, paths: AppPaths,
             settings: AppSettings, display: DisplayLibraries | None) -> str:
    library_dir = paths.library_dir(settings.library_dir)
    ram = (f"{human_bytes(machine.ram_total_bytes)} total, "
           f"{human_bytes(machine.ram_available_bytes or 0)} available"
           if machine.ram_total_bytes else "unknown")
    cores = f"{machine.usable_cores} usable of {machine.logical_cores}"
    if machine.physical_cores:
        cores += f" ({machine.physical_cores} physical)"
    gpus = "; ".join(
        f"{gpu.name}: {human_bytes(gpu.total_bytes)}"
        + (f" ({human_bytes(gpu.free_bytes)} free)" if gpu.free_bytes is not None else "")
        + (" unified memory" if gpu.unified_memory else "")
        for gpu in machine.gpus) or "none found"
    build = [name for name, used in machine.llama_cpu_features.items() if used]
    lines = [
        f"System      {machine.os_name} {machine.architecture}",
        f"CPU         {machine.cpu_model or 'unknown'}; {cores} cores; "
        f"{machine.instruction_set or 'unknown instruction set'}",
        f"RAM         {ram}",
        f"GPU         {gpus}",
        f"llama.cpp   {machine.llama_cpp_version or 'not installed'}; GPU offload "
        f"{'supported' if machine.gpu_offload_supported else 'not supported (CPU-only build)'}"
        + (f"; uses {' '.join(build)}" if build else ""),
        f"Data        {paths.data_dir} ({paths.mode})",
        f"Library     {library_dir}, {human_bytes(free_bytes(library_dir))} free",
        f"Offline     {'on' if offline_mode(settings.offline) else 'off'}",
        f"Log         {paths.log_file}",
        *_display_lines(display),
        "",
        f"Fin-R1 at a {advice.n_ctx}-token context (weights + KV cache + runtime):",
    ]
    for row in advice.rows:
        marker = "→" if advice.recommended == row.quant_type else " "
        lines.append(
            f" {marker} {row.quant_type.label:<7} {human_bytes(row.estimate.weights_bytes):>9} "
            f"file  needs {human_bytes(row.estimate.ram_bytes):>9} RAM / "
            f"{human_bytes(row.estimate.vram_bytes):>9} VRAM  {row.level.value}")
    lines.append("")
    lines.append(f"Recommended: {advice.reason}" if advice.recommended else advice.reason)
    return "\n".join(lines)


def _display_lines(display: DisplayLibraries | None) -> list[str]:
    """The Desktop line: whether Qt's X11 plugin finds its libraries (none off Linux)."""
    if display is None:
        return []
    if display.complete:
        return ["Desktop     Qt's X11 plugin finds all its libraries"]
    lines = [f"Desktop     Qt's X11 plugin lacks {', '.join(display.missing)}: the window "
             "cannot open on X11"]
    if display.install_command():
        lines.append(f"            install: {display.install_command()}")
    return lines

"""``finr1 doctor [--json] [--context N]``: this machine, and which Fin-R1 quant fits it.

Lists the devices llama.cpp itself can run on (``app.core.hardware.backend_devices``; key ``devices``
with ``--json``). Makes no network call: file sizes come from the quant table, or from the hub's
file list when an earlier download remembered it. On Linux it also says whether Qt's X11 platform
plugin finds all its libraries, and which packages to install when not
(``app.core.installation.display_libraries``).

For each quant it predicts the generation speed here and the time of a typical answer, from a
short probe of the memory's bandwidth (``app.core.hardware.speed_prediction``; under half a second) with
the settings' thread count, and on a GPU llama.cpp can use, from the bandwidth its driver
reports (else "GPU: not predicted"). The fit and the speed count the KV cache in the settings'
cache types.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from app.core.hardware.backend_devices import BackendDevice, list_devices
from app.core.hardware.fit import DEFAULT_CONTEXT, FitAdvice, advise, advise_for_repo
from app.core.hardware.machine import MachineInfo, detect_machine
from app.core.hardware.speed_prediction import (
    CPU_DECODE_EFFICIENCY,
    PROBE_BUDGET_S,
    TYPICAL_ANSWER_TOKENS,
    QuantSpeed,
    SpeedBasis,
    describe,
    predict_quant_speeds,
    probe_memory_bandwidth,
    speeds_as_json,
)
from app.core.hub.catalog import load_catalog
from app.core.hub.client import offline_mode
from app.core.installation.display_libraries import DisplayLibraries, check_display_libraries
from app.core.installation.paths import AppPaths, app_paths
from app.core.installation.settings import AppSettings, load_settings
from foundation.disk_space import free_bytes, human_bytes


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
    engine = settings.engine_config()
    kv_types = engine.kv_cache_types
    # What fits this machine, not only what that repository offers: the rest can be built.
    advice = (advise_for_repo(machine, repo, args.context, offered_only=False, kv_types=kv_types)
              if repo else advise(machine, args.context, kv_types=kv_types))
    basis = SpeedBasis.from_probe(probe_memory_bandwidth(engine.threads), machine)
    speeds = predict_quant_speeds(advice, basis, kv_types=kv_types)
    display = check_display_libraries()
    devices = _llama_devices()
    if args.json:
        report = _as_json(machine, advice, speeds, basis, paths, settings, display)
        report["devices"] = [device.to_dict() for device in devices]
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(_as_text(machine, advice, speeds, basis, paths, settings, display, devices))
    return 0


def _llama_devices() -> tuple[BackendDevice, ...]:
    """The devices llama.cpp's registry lists (none when llama-cpp-python cannot load)."""
    try:
        return list_devices()
    except (ImportError, OSError):
        return ()


def _device_lines(devices: tuple[BackendDevice, ...]) -> list[str]:
    """One line per llama.cpp device: name, type, description, free / total memory."""
    if not devices:
        return ["Devices     llama.cpp lists none (is llama-cpp-python installed?)"]
    return [f"{'Devices' if index == 0 else '':<12}{device.name} ({device.device_type}): "
            f"{device.description}, {human_bytes(device.free_bytes)} free of "
            f"{human_bytes(device.total_bytes)}"
            for index, device in enumerate(devices)]


def _as_json(machine: MachineInfo, advice: FitAdvice, speeds: dict[str, QuantSpeed],
             basis: SpeedBasis, paths: AppPaths, settings: AppSettings,
             display: DisplayLibraries | None) -> dict[str, Any]:
    predicted = speeds_as_json(speeds)
    return {
        "machine": dataclasses.asdict(machine),
        "context": advice.n_ctx,
        "kv_cache_types": {"k": settings.cache_type_k, "v": settings.cache_type_v},
        "speed_basis": {"effective_bytes_per_s": basis.cpu_bytes_per_s,
                        "source": basis.cpu_source, "threads": basis.threads,
                        "gpu_effective_bytes_per_s": basis.gpu_bytes_per_s,
                        "answer_tokens": TYPICAL_ANSWER_TOKENS},
        "quants": [
            {"quant_type": row.quant_type.name, "label": row.quant_type.label,
             "weights_bytes": row.estimate.weights_bytes,
             "kv_cache_bytes": row.estimate.kv_cache_bytes,
             "runtime_bytes": row.estimate.runtime_bytes,
             "ram_bytes": row.estimate.ram_bytes, "vram_bytes": row.estimate.vram_bytes,
             "fit": row.level.name.lower(), "size_known": row.size_known,
             **predicted[row.quant_type.name]}
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


def _as_text(machine: MachineInfo, advice: FitAdvice, speeds: dict[str, QuantSpeed],
             basis: SpeedBasis, paths: AppPaths, settings: AppSettings,
             display: DisplayLibraries | None, devices: tuple[BackendDevice, ...] = ()) -> str:
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
        *_device_lines(devices),
        f"Data        {paths.data_dir} ({paths.mode})",
        f"Library     {library_dir}, {human_bytes(free_bytes(library_dir))} free",
        f"Offline     {'on' if offline_mode(settings.offline) else 'off'}",
        f"Log         {paths.log_file}",
        *_display_lines(display),
        "",
        f"Speed       llama.cpp's decode reads ≈ {human_bytes(basis.cpu_bytes_per_s)}/s here "
        f"with {basis.threads} thread(s) (a {PROBE_BUDGET_S:g} s memory probe × "
        f"{CPU_DECODE_EFFICIENCY:g}, the share of it llama.cpp reaches)",
        "",
        f"Fin-R1 at a {advice.n_ctx}-token context (weights + KV cache + runtime; KV cache "
        f"{settings.cache_type_k}/{settings.cache_type_v}):",
    ]
    for row in advice.rows:
        marker = "→" if advice.recommended == row.quant_type else " "
        lines.append(
            f" {marker} {row.quant_type.label:<7} {human_bytes(row.estimate.weights_bytes):>9} "
            f"file  needs {human_bytes(row.estimate.ram_bytes):>9} RAM / "
            f"{human_bytes(row.estimate.vram_bytes):>9} VRAM  {row.level.value}")
        lines.append(f"           {describe(speeds[row.quant_type.name])}")
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

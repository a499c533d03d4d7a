"""The devices llama.cpp's own registry lists, and what it reports after loading a model; these
run on any build (the CPU device is always there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.engine.llama_runtime import LlamaRuntime
from app.core.hardware.backend_devices import OffloadReport, find_device, list_devices
from foundation.errors import InvalidSettingError


def test_the_cpu_device_is_listed_with_its_memory() -> None:
    cpu = [device for device in list_devices() if device.device_type == "cpu"]
    assert [device.name for device in cpu] == ["CPU"]
    assert 0 < cpu[0].free_bytes <= cpu[0].total_bytes
    assert not cpu[0].is_gpu


def test_an_unknown_device_is_refused_naming_those_there_are() -> None:
    with pytest.raises(InvalidSettingError, match=r"no device called 'Nowhere0'.*CPU"):
        find_device("Nowhere0")
    assert find_device("cpu").name == "CPU"


def test_the_report_reads_llama_cpps_offload_and_device_lines() -> None:
    log = ["llama_model_load_from_file_impl: using device Vulkan0 (llvmpipe (LLVM 15.0.6, "
           "256 bits)) (unknown id) - 2048 MiB free",
           "load_tensors: offloading 30 repeating layers to GPU",
           "load_tensors: offloaded 31/31 layers to GPU"]
    report = OffloadReport.from_log(log)
    assert (report.gpu_layers, report.total_layers, report.devices) == (31, 31, ("Vulkan0",))
    assert report.summary == "GPU: 31/31 layers on llvmpipe (LLVM 15.0.6, 256 bits)"
    # "offloaded" without a device used means the layers stayed on the CPU
    assert OffloadReport.from_log(log[1:]).summary == "CPU"


def test_a_model_loaded_on_a_cpu_only_choice_reports_the_cpu(smollm2_gguf: Path) -> None:
    runtime = LlamaRuntime(smollm2_gguf, n_ctx=256, n_threads=1, n_gpu_layers=-1, n_batch=32,
                           flash_attn=None, use_mmap=True, device="CPU")
    try:
        assert runtime.offload.gpu_layers == 0
        assert runtime.offload.device == "CPU"
    finally:
        runtime.close()


def test_doctor_json_lists_llama_cpps_devices(app_home: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)["devices"]
    cpu = next(device for device in devices if device["type"] == "cpu")
    assert cpu["name"] == "CPU" and cpu["total_bytes"] > 0
    assert set(cpu) == {"name", "description", "type", "free_bytes", "total_bytes"}


def test_chat_json_reports_where_the_layers_ran(smollm2_gguf: Path, app_home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", str(smollm2_gguf), "Hi", "--max-tokens", "2", "--temperature", "0",
                 "--threads", "1", "--ctx", "512", "--device", "CPU", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert (metrics["device"], metrics["gpu_layers"]) == ("CPU", 0)


def test_chat_refuses_a_device_llama_cpp_does_not_list(smollm2_gguf: Path, app_home: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", str(smollm2_gguf), "Hi", "--max-tokens", "1", "--threads", "1",
                 "--ctx", "512", "--device", "Nowhere0"]) != 0
    assert "no device called 'Nowhere0'" in capsys.readouterr().err

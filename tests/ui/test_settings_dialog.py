"""The settings dialog's Model loading group (offscreen, real ``AppSettings`` saved to and read
from a real file): the GPU layers, the llama.cpp device (the devices ``list_devices`` reports, a
saved device it no longer lists kept as "(not found)"), the K/V cache types and flash attention
round-trip; a cache choice the engine refuses shows the engine's reason and keeps OK disabled.
And the window header's "where the model runs" in Chinese, from the core's own wording."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.engine.config import AUTO, EngineConfig, GpuLayers, KvCacheTypes
from app.core.engine.local_engine import ChatEngine, EngineInfo
from app.core.engine.model_summary import summarize_model
from app.core.hardware.backend_devices import OffloadReport, list_devices
from app.core.hardware.fit import FIN_R1_DIMS, kv_cache_bytes_per_token
from app.core.hardware.llama_memory import read_gguf_shape
from app.core.installation.settings import AppSettings, load_settings, save_settings
from app.ui.i18n import Translations, install_translations
from app.ui.window.model_header import ModelHeader
from app.ui.window.settings_dialog import SettingsDialog
from foundation.disk_space import human_bytes
from foundation.errors import InvalidSettingError
from quant.gguf_check import GGUFInfo
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose

# What llama.cpp logs when it offloads (the lines OffloadReport reads).
GPU_LOG = ("llama_model_load_from_file_impl: using device Vulkan0 (NVIDIA GeForce RTX 4090) "
           "(0000:01:00.0) - 23000 MiB free",
           "load_tensors: offloaded 28/29 layers to GPU")


@pytest.fixture
def saved(tmp_path: Path) -> Callable[[AppSettings], AppSettings]:
    """Save settings to a real file and read them back, as the app does between runs."""
    path = tmp_path / "settings.json"

    def round_trip(settings: AppSettings) -> AppSettings:
        save_settings(settings, path)
        return load_settings(path)

    return round_trip


@pytest.fixture
def open_dialog(qtbot: Any) -> Iterator[Callable[[AppSettings], SettingsDialog]]:
    """A dialog on ``settings`` whose device list llama.cpp has filled."""
    dialogs: list[SettingsDialog] = []

    def opened(settings: AppSettings) -> SettingsDialog:
        dialog = SettingsDialog(settings, None)
        dialogs.append(dialog)
        wait_until(lambda: dialog.devices_listed, 60, "llama.cpp's devices in the dialog")
        return dialog

    yield opened
    for dialog in dialogs:
        dialog.done(0)
        dispose(dialog)


def choose(combo: Any, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not offered"
    combo.setCurrentIndex(index)


# -- round trips -----------------------------------------------------------------------------------

def test_the_saved_loading_settings_show_in_the_dialog_and_come_back_unchanged(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings]) -> None:
    settings = saved(AppSettings(cache_type_k="q8_0", cache_type_v="q4_0", flash_attn="on",
                                 gpu_device="CPU", n_gpu_layers=12))
    dialog = open_dialog(settings)
    assert (dialog.cache_type_k.currentData(), dialog.cache_type_v.currentData(),
            dialog.flash_attn.currentData(), dialog.gpu_device.currentData(),
            dialog.gpu_mode.currentData(), dialog.gpu_layers.value()) \
        == ("q8_0", "q4_0", "on", "CPU", "manual", 12)
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert saved(dialog.result_settings) == settings


def test_each_loading_control_changed_in_the_dialog_is_saved(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings]) -> None:
    dialog = open_dialog(saved(AppSettings()))
    choose(dialog.cache_type_k, "q4_0")
    choose(dialog.cache_type_v, "q8_0")
    choose(dialog.flash_attn, "on")
    choose(dialog.gpu_device, "CPU")
    choose(dialog.gpu_mode, "manual")
    dialog.gpu_layers.setValue(20)
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert saved(dialog.result_settings) == AppSettings(
        cache_type_k="q4_0", cache_type_v="q8_0", flash_attn="on", gpu_device="CPU",
        n_gpu_layers=20)


@pytest.mark.parametrize(("layers", "mode"), [(AUTO, "auto"), (0, "cpu"), (-1, "all"),
                                              (7, "manual")])
def test_the_gpu_layers_control_keeps_auto_cpu_all_and_a_number(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings], layers: GpuLayers, mode: str) -> None:
    dialog = open_dialog(saved(AppSettings(n_gpu_layers=layers, gpu_device="CPU")))
    assert dialog.gpu_mode.currentData() == mode
    assert dialog.gpu_layers.isEnabled() == (mode == "manual")
    assert dialog.gpu_device.isEnabled() == (mode != "cpu")  # no GPU layers: no device to choose
    assert dialog.edited_settings().n_gpu_layers == layers


def test_flash_attention_offers_the_words_the_cli_takes(
        open_dialog: Callable[[AppSettings], SettingsDialog]) -> None:
    from app.core.engine.config import FLASH_ATTN_CHOICES, KV_CACHE_TYPES

    dialog = open_dialog(AppSettings())
    assert [dialog.flash_attn.itemData(row) for row in range(dialog.flash_attn.count())] \
        == list(FLASH_ATTN_CHOICES)
    for combo in (dialog.cache_type_k, dialog.cache_type_v):
        assert [combo.itemData(row) for row in range(combo.count())] == list(KV_CACHE_TYPES)
        assert "half the memory of f16" in combo.toolTip()
    assert "needs flash attention" in dialog.cache_type_v.toolTip()


# -- the engine's rule -----------------------------------------------------------------------------

def test_a_quantized_v_cache_without_flash_attention_is_refused_with_the_engines_reason(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings]) -> None:
    settings = saved(AppSettings(flash_attn="off"))
    dialog = open_dialog(settings)
    assert dialog.ok_button.isEnabled() and dialog.error_label.text() == ""
    choose(dialog.cache_type_v, "q8_0")
    with pytest.raises(InvalidSettingError) as engine_refusal:  # what `finr1 chat` is told
        EngineConfig(cache_type_v="q8_0", flash_attn=False)
    assert str(engine_refusal.value) in dialog.error_label.text()
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert dialog.result() != SettingsDialog.DialogCode.Accepted
    assert dialog.result_settings == settings

    choose(dialog.flash_attn, "auto")  # llama.cpp then turns flash attention on
    assert dialog.ok_button.isEnabled() and dialog.error_label.text() == ""
    dialog.accept()
    assert saved(dialog.result_settings) == settings.with_changes(cache_type_v="q8_0",
                                                                  flash_attn="auto")


def test_the_cache_note_says_what_the_chosen_types_take_for_fin_r1(
        open_dialog: Callable[[AppSettings], SettingsDialog]) -> None:
    dialog = open_dialog(AppSettings(n_ctx=8192))
    f16 = human_bytes(8192 * kv_cache_bytes_per_token(FIN_R1_DIMS))
    assert dialog.cache_note.text() == f"Fin-R1's K/V cache at 8192 tokens: {f16}."
    choose(dialog.cache_type_k, "q8_0")
    choose(dialog.cache_type_v, "q8_0")
    dialog.context.setValue(16384)
    q8 = human_bytes(16384 * kv_cache_bytes_per_token(FIN_R1_DIMS, KvCacheTypes("q8_0", "q8_0")))
    f16 = human_bytes(16384 * kv_cache_bytes_per_token(FIN_R1_DIMS))
    assert dialog.cache_note.text() == f"Fin-R1's K/V cache at 16384 tokens: {q8} (f16: {f16})."


# -- the device list -------------------------------------------------------------------------------

def test_the_device_list_is_automatic_then_llama_cpps_devices(
        open_dialog: Callable[[AppSettings], SettingsDialog]) -> None:
    dialog = open_dialog(AppSettings())
    combo = dialog.gpu_device
    listed = list_devices()
    assert "CPU" in [device.name for device in listed]  # every build lists its CPU
    assert combo.itemData(0) == "" and combo.itemText(0).startswith("Automatic")
    assert [combo.itemData(row) for row in range(1, combo.count())] \
        == [device.name for device in listed]
    for row, device in enumerate(listed, start=1):
        assert combo.itemText(row).startswith(f"{device.name} · {device.description}")
    assert combo.currentIndex() == 0
    assert dialog.edited_settings().gpu_device == ""


def test_a_saved_device_llama_cpp_no_longer_lists_stays_marked_not_found(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings]) -> None:
    settings = saved(AppSettings(gpu_device="Vulkan7"))
    dialog = open_dialog(settings)
    combo = dialog.gpu_device
    assert combo.currentText() == "Vulkan7 (not found)"
    assert combo.currentIndex() == combo.count() - 1  # after the listed devices
    assert [combo.itemData(row) for row in range(1, combo.count() - 1)] \
        == [device.name for device in list_devices()]
    dialog.accept()
    assert saved(dialog.result_settings).gpu_device == "Vulkan7"


# -- the header in Chinese -------------------------------------------------------------------------

@pytest.fixture
def translations(qapp: object, app_home: Path) -> Iterator[Translations]:
    installed = install_translations(qapp, "en")  # type: ignore[arg-type]
    yield installed
    installed.apply("en")


@pytest.fixture(scope="module")
def loaded_model(tiny_bf16_gguf: Path) -> tuple[EngineInfo, GGUFInfo]:
    """A real engine's description of a real (tiny) model, loaded on the CPU with one thread."""
    with ChatEngine(tiny_bf16_gguf, EngineConfig(n_ctx=256, n_threads=1,
                                                 n_gpu_layers=0)) as engine:
        return engine.info, engine.gguf_info


def placements(info: EngineInfo) -> dict[str, EngineInfo]:
    """The model's description as the engine gives it for each place the layers may be."""
    return {
        "cpu, one thread": dataclasses.replace(info, n_threads=1, gpu_report=None),
        "cpu, threads": dataclasses.replace(info, n_threads=4, gpu_report=None),
        "gpu, reported": dataclasses.replace(info, gpu_report=OffloadReport.from_log(GPU_LOG)),
        "gpu, planned": dataclasses.replace(
            info, gpu_report=None, offload=dataclasses.replace(info.offload,
                                                               n_gpu_layers=2)),
    }


def test_the_header_says_where_the_model_runs_in_chinese(
        qtbot: Any, translations: Translations,
        loaded_model: tuple[EngineInfo, GGUFInfo]) -> None:
    info, gguf = loaded_model
    shape = read_gguf_shape(gguf)
    assert shape is not None and shape.offloadable_layers is not None
    planned = f"{min(2, shape.offloadable_layers)}/{shape.offloadable_layers}"
    expected = {"cpu, one thread": "CPU · 1 个线程", "cpu, threads": "CPU · 4 个线程",
                "gpu, reported": "GPU：28/29 层在 NVIDIA GeForce RTX 4090 上",
                "gpu, planned": f"GPU · {planned} 层"}
    header = ModelHeader()
    qtbot.addWidget(header)
    translations.apply("zh_CN")
    for name, placed in placements(info).items():
        summary = summarize_model(placed, gguf)
        header.show_model(summary)
        assert header.detail_label.text() == " · ".join(
            part for part in (summary.quant, summary.size, expected[name]) if part), name


def test_the_header_retranslates_the_model_shown_when_the_language_changes(
        qtbot: Any, translations: Translations,
        loaded_model: tuple[EngineInfo, GGUFInfo]) -> None:
    info, gguf = loaded_model
    header = ModelHeader()
    qtbot.addWidget(header)
    header.show_model(summarize_model(placements(info)["gpu, reported"], gguf))
    assert header.detail_label.text().endswith("GPU: 28/29 layers on NVIDIA GeForce RTX 4090")
    translations.apply("zh_CN")
    wait_until(lambda: header.detail_label.text().endswith(
        "GPU：28/29 层在 NVIDIA GeForce RTX 4090 上"), 5, "the header in Chinese")
    translations.apply("en")
    wait_until(lambda: header.detail_label.text().endswith(
        "GPU: 28/29 layers on NVIDIA GeForce RTX 4090"), 5, "the header in English again")

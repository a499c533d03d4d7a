"""The settings dialog's Model loading group (offscreen, real ``AppSettings`` saved to and read
from a real file): the GPU layers, the llama.cpp device (the devices ``list_devices`` reports, a
saved device it no longer lists kept as "(not found)"), the K/V cache types and flash attention
round-trip, and so do "Faster replies" (speculative decoding) and its draft model; a cache or
speculation choice the engine refuses shows the engine's reason and keeps OK disabled.
And the window header's "where the model runs" in Chinese, from the core's own wording."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.engine.config import AUTO, EngineConfig, GpuLayers, KvCacheTypes
from app.core.engine.local_engine import ChatEngine, EngineInfo
from app.core.engine.model_summary import ModelSummary, summarize_model
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


# -- faster replies (speculative decoding) ---------------------------------------------------------

@pytest.mark.parametrize("speculation", ["off", "lookup", "draft"])
def test_the_faster_replies_choice_and_the_draft_file_come_back_unchanged(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings], tmp_path: Path, speculation: str) -> None:
    # The draft's path is kept whatever is chosen, so going back to "Draft model" finds it.
    settings = saved(AppSettings(speculation=speculation,
                                 draft_model=str(tmp_path / "qwen2.5-0.5b.gguf")))
    dialog = open_dialog(settings)
    assert dialog.speculation.currentData() == speculation
    assert dialog.draft_model.isEnabled() == dialog.draft_browse.isEnabled() \
        == (speculation == "draft")
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert saved(dialog.result_settings) == settings
    assert dialog.result_settings.engine_config().speculation == speculation


def test_each_faster_replies_choice_made_in_the_dialog_reaches_the_engine(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings], tmp_path: Path) -> None:
    dialog = open_dialog(saved(AppSettings()))
    choose(dialog.speculation, "draft")
    dialog.draft_model.setText(str(tmp_path / "draft.gguf"))
    assert dialog.edited_settings().engine_config().draft_model == tmp_path / "draft.gguf"
    choose(dialog.speculation, "lookup")
    assert not dialog.draft_model.isEnabled()
    dialog.accept()
    result = saved(dialog.result_settings)
    assert result.engine_config().prompt_lookup and result.engine_config().draft_model is None
    assert AppSettings().needs_reload(result)  # the window loads the model again with it


def test_each_faster_replies_choice_says_what_it_does_and_that_the_reply_is_the_same(
        open_dialog: Callable[[AppSettings], SettingsDialog]) -> None:
    from app.core.engine.config import SPECULATION_MODES

    dialog = open_dialog(AppSettings())
    combo = dialog.speculation
    assert [combo.itemData(row) for row in range(combo.count())] == list(SPECULATION_MODES)
    tips = [combo.itemData(row, Qt.ItemDataRole.ToolTipRole) for row in range(combo.count())]
    for tip in [*tips, combo.toolTip()]:
        assert "The reply is the same either way" in tip
    assert len(set(tips)) == len(tips)
    assert "vocabulary" in dialog.draft_model.toolTip()


def test_a_draft_model_without_its_file_is_refused_with_the_engines_reason(
        open_dialog: Callable[[AppSettings], SettingsDialog],
        saved: Callable[[AppSettings], AppSettings], tmp_path: Path) -> None:
    settings = saved(AppSettings())
    dialog = open_dialog(settings)
    choose(dialog.speculation, "draft")
    with pytest.raises(InvalidSettingError) as refusal:
        settings.with_changes(speculation="draft", draft_model="")
    assert str(refusal.value) in dialog.error_label.text()
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert dialog.result() != SettingsDialog.DialogCode.Accepted
    assert dialog.result_settings == settings

    dialog.draft_model.setText(str(tmp_path / "draft.gguf"))
    assert dialog.ok_button.isEnabled() and dialog.error_label.text() == ""
    dialog.accept()
    assert saved(dialog.result_settings) == settings.with_changes(
        speculation="draft", draft_model=str(tmp_path / "draft.gguf"))


def test_ok_stays_disabled_while_any_loading_choice_is_refused(
        open_dialog: Callable[[AppSettings], SettingsDialog]) -> None:
    dialog = open_dialog(AppSettings(flash_attn="off"))
    choose(dialog.speculation, "draft")  # refused: no draft file
    choose(dialog.cache_type_v, "q8_0")  # refused too: no flash attention
    dialog.draft_model.setText("draft.gguf")  # the draft is fine now; the cache is not
    assert "flash attention" in dialog.error_label.text()
    assert not dialog.ok_button.isEnabled()
    choose(dialog.flash_attn, "on")
    assert dialog.ok_button.isEnabled() and dialog.error_label.text() == ""
    dialog.draft_model.clear()
    assert "draft model" in dialog.error_label.text() and not dialog.ok_button.isEnabled()


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


@pytest.mark.parametrize(("gpu_layers", "english", "chinese"), [
    (12, "GPU · 12 layers", "GPU · 12 层"),
    (-1, "GPU · all layers", "GPU · 全部层"),
])
def test_planned_gpu_layers_of_a_model_that_does_not_say_its_layer_count_are_worded_too(
        qtbot: Any, translations: Translations, gpu_layers: int, english: str,
        chinese: str) -> None:
    # A GGUF whose layer count cannot be read (no file here has one): the summary's facts only.
    summary = ModelSummary(name="m", quant="Q4_K_M", size="1 GB", where="gpu", threads=4,
                           gpu_layers=gpu_layers, total_layers=None, gpu_device="", note="",
                           warnings=())
    header = ModelHeader()
    qtbot.addWidget(header)
    header.show_model(summary)
    assert header.detail_label.text() == f"Q4_K_M · 1 GB · {english}" == \
        f"Q4_K_M · 1 GB · {summary.device}"
    translations.apply("zh_CN")
    wait_until(lambda: header.detail_label.text() == f"Q4_K_M · 1 GB · {chinese}", 5,
               "the header in Chinese")


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

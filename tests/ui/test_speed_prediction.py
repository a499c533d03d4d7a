"""The predicted speed in the window: the quant table's "Speed here" column ("Get models", the
wizard), the wizard's machine advice, and a measured decode replacing the probe
(``app.ui.models.machine_info``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.hardware.fit import advise
from app.core.hardware.machine import GpuInfo, MachineInfo
from app.core.hardware.speed_prediction import (
    BandwidthProbe,
    SpeedBasis,
    gguf_decode_bytes,
    predict_quant_speeds,
)
from app.core.hub.client import HubConfig
from app.core.hub.pending_downloads import PendingDownloads
from app.core.templates.chat_template import ChatMessage
from app.ui.models import machine_info
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.get_models_tab import GetModelsTab
from app.ui.models.quant_table import SPEED_COLUMN, QuantTable
from app.ui.models.setup_wizard import MachinePage
from quant.gguf_check import validate_gguf
from tests.support.llm_support import THREADS
from tests.support.qt_wait import wait_until

GB = 10**9


def known_facts() -> machine_info.MachineFacts:
    facts: list[machine_info.MachineFacts] = []
    holder = QuantTable()  # any live QObject
    machine_info.request_speed(holder, lambda machine, speed: facts.append(
        machine_info.MachineFacts(machine, speed)))
    return wait_until(lambda: facts, 60, "the machine's facts")[0]


def test_get_models_shows_each_quants_predicted_speed(qapp: Any, app_home: Path) -> None:
    config = HubConfig(offline=True)
    queue = DownloadQueue(lambda: "", lambda: config, PendingDownloads())
    tab = GetModelsTab(queue, lambda: config, lambda: 2048)
    try:
        table = tab.table
        wait_until(lambda: table.rowCount() and not table.isColumnHidden(SPEED_COLUMN), 60,
                   "the speed column")
        for row in range(table.rowCount()):
            cell = table.item(row, SPEED_COLUMN)
            assert "tok/s" in cell.text() and "answer ≈" in cell.text()
            assert "a typical answer (~1,200 tokens with its reasoning)" in cell.toolTip()
    finally:
        queue.stop_all()
        tab.deleteLater()


def test_the_table_hides_the_speed_until_known_and_says_when_the_gpu_is_not_predicted(
        qapp: Any) -> None:
    gpu = GpuInfo("Test GPU", "nvidia", 24 * GB, 24 * GB, "nvml")  # bandwidth unknown
    machine = MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",), 64 * GB,
                          60 * GB, (gpu,), True, "0.3.36")
    advice = advise(machine)
    table = QuantTable()
    table.set_advice(advice)
    assert table.isColumnHidden(SPEED_COLUMN)
    basis = SpeedBasis.from_probe(BandwidthProbe(20 * GB, 4, 0.4), machine)
    table.set_speeds(predict_quant_speeds(advice, basis))
    assert not table.isColumnHidden(SPEED_COLUMN)
    row = table.row_names().index("q4_k_m")
    assert "GPU: not predicted" in table.item(row, SPEED_COLUMN).text()
    assert "bandwidth is unknown" in table.item(row, SPEED_COLUMN).toolTip()


def test_the_wizard_says_how_long_a_typical_answer_takes_here(qapp: Any) -> None:
    page = MachinePage(lambda: 4096)
    page.initializePage()
    wait_until(lambda: page.speed is not None, 60, "the machine's speed")  # probed off the GUI
    machine = MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",), 64 * GB,
                          60 * GB, (), False, "0.3.36")
    page.speed = SpeedBasis.from_probe(BandwidthProbe(20 * GB, 4, 0.4), machine)
    text = page.advice_text(advise(machine, 4096), machine)
    assert "tokens a second here: a typical answer (~1,200 tokens" in text
    page.speed = None
    assert "typical answer" not in page.advice_text(advise(machine, 4096), machine)


def test_a_measured_decode_replaces_the_probe(qapp: Any, smollm2_gguf: Path,
                                              steer: Callable[..., object],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine_info, "_cached", None)
    assert known_facts().speed.cpu_source == "probe"
    steer(smollm2_gguf, may_end=False)
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=512, n_threads=THREADS,
                                               n_gpu_layers=0)) as engine:
        result = engine.chat([ChatMessage("user", "Describe a savings account.")],
                             GenerationSettings(max_new_tokens=40, seed=1))
        machine_info.note_turn(object(), result.metrics)  # a server's reply says nothing
        assert known_facts().speed.cpu_source == "probe"
        machine_info.note_turn(engine, result.metrics)
    speed = known_facts().speed
    assert speed.cpu_source == "measured"
    metrics = result.metrics
    per_token = gguf_decode_bytes(validate_gguf(smollm2_gguf), context_tokens=(
        metrics.prompt_tokens + metrics.completion_tokens // 2))
    assert speed.cpu_bytes_per_s == pytest.approx(metrics.tokens_per_s * per_token)

"""The settings dialog: edits an ``AppSettings`` and hands back a validated new one.

Every value is checked by ``AppSettings`` itself (the engine's own rules); an invalid value keeps
the dialog open with the reason shown. Saving is the caller's job (``app.core.installation.settings``).

The groups sit on tabs, so the dialog fits a laptop's screen. The Engine group chooses who answers:
this computer (a GGUF loaded here) or an OpenAI-compatible server (its address, API key and
model). "Test connection" checks the server as typed, off the GUI thread
(``app.core.engine.remote_engine.test_connection`` through the job bridge), and shows its sentence.

The Model loading group holds what ``finr1 chat`` takes as flags: GPU layers, the llama.cpp device
for them (the devices ``app.core.hardware.backend_devices.list_devices`` reports, listed off the
GUI thread; a saved device llama.cpp no longer lists stays, marked "(not found)"), the K and V
cache types and flash attention. A cache choice the engine refuses (a quantized V cache with flash
attention off) shows the engine's reason at once and keeps OK disabled; the rule is
``EngineConfig``'s, reached through ``AppSettings``, never restated here. "Faster replies" chooses
speculative decoding (``AppSettings.speculation``): off, prompt lookup, or a draft model (its GGUF
picked beside it); a choice the engine refuses (a draft model without its file) is shown and keeps
OK disabled the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.engine.config import (
    AUTO,
    FIN_R1_SYSTEM_PROMPT,
    FLASH_ATTN_CHOICES,
    KV_CACHE_TYPES,
    SPECULATION_MODES,
    GpuLayers,
    KvCacheTypes,
)
from app.core.engine.server_connection import ServerConnection
from app.core.installation.paths import app_paths
from app.core.installation.settings import AppSettings
from app.ui.i18n import LANGUAGE_NAMES, SYSTEM, UI_LANGUAGES
from app.ui.job_bridge import BackgroundJob, JobContext
from foundation.disk_space import human_bytes
from foundation.errors import InvalidSettingError

if TYPE_CHECKING:
    from app.core.engine.remote_engine import ConnectionCheck
    from app.core.hardware.backend_devices import BackendDevice


def _marked(text: object) -> str:
    """A text marked by ``QT_TRANSLATE_NOOP`` (for lupdate), which hands it back unchanged;
    PySide6 types the result ``object``, so this gives it back its type."""
    if not isinstance(text, str):
        raise TypeError(f"a text marked for translation must be a str, not {text!r}")
    return text


# Labels are marked for translation here and translated where shown (context "SettingsDialog").
_GPU_MODES = ((_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Auto (as many layers as fit)")), "auto"),
              (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "CPU only")), "cpu"),
              (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "All layers")), "all"),
              (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "A number of layers")), "manual"))
# One label per word of ``FLASH_ATTN_CHOICES`` (a word added there without a label fails loudly).
_FLASH_ATTN_LABELS = {
    "auto": _marked(QT_TRANSLATE_NOOP("SettingsDialog", "Auto (llama.cpp decides)")),
    "on": _marked(QT_TRANSLATE_NOOP("SettingsDialog", "On")),
    "off": _marked(QT_TRANSLATE_NOOP("SettingsDialog", "Off"))}
# One label and tooltip per word of ``SPECULATION_MODES`` (likewise).
_SPECULATION_LABELS = {
    "off": (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Off")),
            _marked(QT_TRANSLATE_NOOP(
                "SettingsDialog", "The model writes its reply one token at a time."))),
    "lookup": (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Prompt lookup")),
               _marked(QT_TRANSLATE_NOOP(
                   "SettingsDialog",
                   "Guesses the next tokens from text already in the conversation (figures and "
                   "names quoted back from the question) and lets the model check several at "
                   "once. Costs no memory; pays most when the reply repeats the prompt."))),
    "draft": (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Draft model")),
              _marked(QT_TRANSLATE_NOOP(
                  "SettingsDialog",
                  "A small model with the same vocabulary (for Fin-R1: Qwen2.5-0.5B-Instruct as "
                  "a GGUF) guesses the next tokens and the model checks several at once. Loaded "
                  "beside the model: it takes its memory too."))),
}
# ``BackendDevice.device_type`` as a person reads it; unknown types show as they are.
_DEVICE_TYPES = {"gpu": _marked(QT_TRANSLATE_NOOP("SettingsDialog", "GPU")),
                 "igpu": _marked(QT_TRANSLATE_NOOP("SettingsDialog", "integrated GPU")),
                 "cpu": _marked(QT_TRANSLATE_NOOP("SettingsDialog",
                                                  "CPU: the layers stay on the CPU")),
                 "accel": _marked(QT_TRANSLATE_NOOP("SettingsDialog", "accelerator"))}
_THEMES = ((_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Follow the system")), "system"),
           (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Light")), "light"),
           (_marked(QT_TRANSLATE_NOOP("SettingsDialog", "Dark")), "dark"))
_LANGUAGES = (("中文 (Chinese)", "zh"), ("English", "en"))
# The longest a "Test connection" waits for the server's one token (the saved timeout may be
# minutes, long enough for a CPU server's long prompts; a test should not keep the app waiting).
TEST_TIMEOUT_S = 60.0


def _spin(minimum: int, maximum: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _double(minimum: float, maximum: float, value: float, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box


def _choose(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


class SettingsDialog(QDialog):
    """Edits ``settings``; after ``exec()`` returns Accepted, ``result_settings`` holds the new
    values. ``gpu_supported``: whether this llama.cpp build can offload (None = not known yet)."""

    def __init__(self, settings: AppSettings, gpu_supported: bool | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.result_settings = settings
        self._original = settings
        self._test_job: BackgroundJob | None = None
        self._devices_job: BackgroundJob | None = None
        self.devices_listed = False  # True once llama.cpp's devices are in the device list
        self._refusal = ""  # the engine's reason for refusing the cache choice shown, or ""
        self._closed = False
        self.error_label = QLabel("")
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.tabs = QTabWidget()
        for group, title in (
                (self._answering_group(settings), self.tr("Engine")),
                (self._engine_group(settings, gpu_supported), self.tr("Model loading")),
                (self._sampling_group(settings), self.tr("Replies")),
                (self._app_group(settings), self.tr("Library and look"))):
            page = QWidget()
            column = QVBoxLayout(page)
            column.addWidget(group)
            column.addStretch(1)
            self.tabs.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self._list_devices()

    # -- groups ----------------------------------------------------------------------------------

    def _answering_group(self, settings: AppSettings) -> QGroupBox:
        self.answering_group = group = QGroupBox(self.tr("Engine: who answers"))
        form = QFormLayout(group)
        self.engine_local = QRadioButton(self.tr("This computer"))
        self.engine_server = QRadioButton(self.tr("A server (OpenAI-compatible)"))
        (self.engine_server if settings.engine_kind == "server" else self.engine_local) \
            .setChecked(True)
        choice = QHBoxLayout()
        choice.addWidget(self.engine_local)
        choice.addWidget(self.engine_server)
        choice.addStretch(1)
        form.addRow(self.tr("Answers from"), choice)
        self.server_url = QLineEdit(settings.server_url)
        self.server_url.setPlaceholderText("http://127.0.0.1:8000/v1")
        form.addRow(self.tr("Server address"), self.server_url)
        self.server_api_key = QLineEdit(settings.server_api_key)
        self.server_api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.server_api_key.setPlaceholderText(self.tr("none"))
        form.addRow(self.tr("API key"), self.server_api_key)
        self.server_model = QLineEdit(settings.server_model)
        self.server_model.setPlaceholderText(self.tr("the one it serves"))
        form.addRow(self.tr("Model name"), self.server_model)
        self.server_timeout = _double(1, 3600, settings.server_timeout_s, 30)
        self.server_timeout.setDecimals(1)
        self.server_timeout.setSuffix(self.tr(" s"))
        form.addRow(self.tr("Wait for the server"), self.server_timeout)
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self.test_connection)
        self.connection_result = QLabel("")
        self.connection_result.setObjectName("settingNote")
        self.connection_result.setWordWrap(True)
        self.connection_result.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addStretch(1)
        form.addRow("", row)
        form.addRow(self.connection_result)
        self.engine_server.toggled.connect(self._engine_kind_changed)
        self._engine_kind_changed()
        return group

    def _engine_group(self, settings: AppSettings, gpu_supported: bool | None) -> QGroupBox:
        group = QGroupBox(self.tr("Model loading (applies when the model is loaded again)"))
        form = QFormLayout(group)
        self.threads = _spin(0, 512, settings.n_threads or 0)
        self.threads.setSpecialValueText(self.tr("All CPUs"))
        form.addRow(self.tr("CPU threads"), self.threads)
        self._gpu_rows(form, settings, gpu_supported)
        self.context = _spin(512, 131072, settings.n_ctx, 1024)
        self.context.setSuffix(self.tr(" tokens"))
        form.addRow(self.tr("Context size"), self.context)
        self._cache_rows(form, settings)
        self._speculation_rows(form, settings)
        self._gpu_mode_changed()
        self._loading_changed()
        return group

    def _gpu_rows(self, form: QFormLayout, settings: AppSettings,
                  gpu_supported: bool | None) -> None:
        self.gpu_mode = QComboBox()
        for label, value in _GPU_MODES:
            self.gpu_mode.addItem(self.tr(label), value)
        self.gpu_layers = _spin(1, 999, 1)
        layers = settings.n_gpu_layers
        mode = ("auto" if layers == AUTO else "cpu" if layers == 0 else "all" if layers == -1
                else "manual")
        if mode == "manual":
            self.gpu_layers.setValue(int(layers))
        _choose(self.gpu_mode, mode)
        self.gpu_mode.setToolTip(self.tr(
            "Layers on the GPU run much faster than on the CPU but take its memory. Auto puts "
            "as many as fit the free GPU memory, with the context's cache; a number of layers "
            "leaves the rest on the CPU."))
        self.gpu_mode.currentIndexChanged.connect(self._gpu_mode_changed)
        row = QHBoxLayout()
        row.addWidget(self.gpu_mode, 1)
        row.addWidget(self.gpu_layers)
        form.addRow(self.tr("GPU layers"), row)
        self._saved_device = settings.gpu_device
        self.gpu_device = QComboBox()
        self.gpu_device.setToolTip(self.tr(
            "Where the GPU layers go, among the devices llama.cpp lists (as `finr1 doctor` "
            "shows them). Automatic spreads them over every GPU it finds; a named device takes "
            "them all, e.g. the faster of two GPUs."))
        self._fill_devices(None)
        form.addRow(self.tr("GPU device"), self.gpu_device)
        self.gpu_note = QLabel(self._gpu_statement(gpu_supported))
        self.gpu_note.setWordWrap(True)
        self.gpu_note.setObjectName("settingNote")
        form.addRow("", self.gpu_note)

    def _cache_rows(self, form: QFormLayout, settings: AppSettings) -> None:
        saving = self.tr("q8_0 takes about half the memory of f16 (8.5 bits a value against 16) "
                         "for a loss of quality hardly measurable; q4_0 about a quarter (4.5 "
                         "bits), with a small loss. The memory saved leaves room for a longer "
                         "context or more layers on the GPU.")
        self.cache_type_k = self._cache_combo(settings.cache_type_k, self.tr(
            "The type of the attention keys kept for every token of the context. {0}")
            .format(saving))
        self.cache_type_v = self._cache_combo(settings.cache_type_v, self.tr(
            "The type of the attention values kept for every token of the context. {0} A "
            "quantized V cache (q8_0, q4_0) needs flash attention: on, or auto, which then "
            "turns it on.").format(saving))
        row = QHBoxLayout()
        for name, combo in (("K", self.cache_type_k), ("V", self.cache_type_v)):
            row.addWidget(QLabel(name))
            row.addWidget(combo, 1)
        form.addRow(self.tr("K/V cache types"), row)
        self.flash_attn = QComboBox()
        for word in FLASH_ATTN_CHOICES:
            self.flash_attn.addItem(self.tr(_FLASH_ATTN_LABELS[word]), word)
        _choose(self.flash_attn, settings.flash_attn)
        self.flash_attn.setToolTip(self.tr(
            "Flash attention computes the attention without keeping its whole score matrix: "
            "less memory for long contexts, and usually faster on a GPU (on a CPU it gains "
            "little). Auto lets llama.cpp use it where the device supports it; off keeps the V "
            "cache at f16."))
        form.addRow(self.tr("Flash attention"), self.flash_attn)
        self.cache_note = QLabel()
        self.cache_note.setWordWrap(True)
        self.cache_note.setObjectName("settingNote")
        form.addRow("", self.cache_note)
        for combo in (self.cache_type_k, self.cache_type_v, self.flash_attn):
            combo.currentIndexChanged.connect(self._loading_changed)
        self.context.valueChanged.connect(self._loading_changed)

    def _speculation_rows(self, form: QFormLayout, settings: AppSettings) -> None:
        same = self.tr("The reply is the same either way, token for token: the model checks "
                       "every guess and keeps only what it would have written itself. Only the "
                       "speed changes.")
        self.speculation = QComboBox()
        for mode in SPECULATION_MODES:
            label, tooltip = _SPECULATION_LABELS[mode]
            self.speculation.addItem(self.tr(label), mode)
            self.speculation.setItemData(self.speculation.count() - 1,
                                         f"{self.tr(tooltip)} {same}",
                                         Qt.ItemDataRole.ToolTipRole)
        _choose(self.speculation, settings.speculation)
        self.speculation.setToolTip(self.tr(
            "Speculative decoding: tokens guessed ahead are checked by the model several at a "
            "time, which is faster where the guesses are right. {0}").format(same))
        form.addRow(self.tr("Faster replies"), self.speculation)
        self.draft_model = QLineEdit(settings.draft_model)
        self.draft_model.setPlaceholderText(self.tr("the draft model's GGUF"))
        self.draft_model.setToolTip(self.tr(
            "The small GGUF that drafts: it must share the model's vocabulary (for Fin-R1: "
            "Qwen2.5-0.5B-Instruct). Kept when another choice is made."))
        self.draft_browse = QPushButton(self.tr("Browse…"))
        self.draft_browse.clicked.connect(self._browse_draft_model)
        row = QHBoxLayout()
        row.addWidget(self.draft_model, 1)
        row.addWidget(self.draft_browse)
        form.addRow(self.tr("Draft model"), row)
        self.speculation.currentIndexChanged.connect(self._loading_changed)
        self.draft_model.textChanged.connect(self._loading_changed)

    @staticmethod
    def _cache_combo(value: str, tooltip: str) -> QComboBox:
        combo = QComboBox()
        for cache_type in KV_CACHE_TYPES:
            combo.addItem(cache_type, cache_type)
        _choose(combo, value)
        combo.setToolTip(tooltip)
        return combo

    @staticmethod
    def _gpu_statement(gpu_supported: bool | None) -> str:
        if gpu_supported is None:
            return QCoreApplication.translate(
                "SettingsDialog",
                "Whether this llama.cpp build can use a GPU is checked when a model loads.")
        if gpu_supported:
            return QCoreApplication.translate(
                "SettingsDialog", "This llama.cpp build can offload layers to the GPU.")
        return QCoreApplication.translate(
            "SettingsDialog", "This llama.cpp build cannot use a GPU (it was built for the CPU "
            "only): every layer runs on the CPU whatever is chosen here.")

    def _sampling_group(self, settings: AppSettings) -> QGroupBox:
        group = QGroupBox(self.tr("Replies"))
        form = QFormLayout(group)
        self.temperature = _double(0, 2, settings.temperature, 0.05)
        form.addRow(self.tr("Temperature"), self.temperature)
        self.top_p = _double(0.01, 1, settings.top_p, 0.05)
        form.addRow(self.tr("Top-p"), self.top_p)
        self.top_k = _spin(0, 1000, settings.top_k)
        self.top_k.setSpecialValueText(self.tr("Off"))
        form.addRow(self.tr("Top-k"), self.top_k)
        self.repeat_penalty = _double(0.5, 2, settings.repeat_penalty, 0.01)
        form.addRow(self.tr("Repetition penalty"), self.repeat_penalty)
        self.max_tokens = _spin(16, 131072, settings.max_new_tokens, 256)
        self.max_tokens.setSuffix(self.tr(" tokens"))
        form.addRow(self.tr("Longest reply"), self.max_tokens)
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setFixedHeight(84)
        reset = QPushButton(self.tr("Reset to Fin-R1's"))
        reset.clicked.connect(lambda: self.system_prompt.setPlainText(FIN_R1_SYSTEM_PROMPT))
        column = QVBoxLayout()
        column.addWidget(self.system_prompt)
        column.addWidget(reset)
        form.addRow(self.tr("System prompt"), column)
        self.prompt_language = QComboBox()
        for label, value in _LANGUAGES:
            self.prompt_language.addItem(label, value)
        _choose(self.prompt_language, settings.prompt_language)
        form.addRow(self.tr("Scenario prompts in"), self.prompt_language)
        return group

    def _app_group(self, settings: AppSettings) -> QGroupBox:
        group = QGroupBox(self.tr("Library, hub and look"))
        form = QFormLayout(group)
        self.library_dir = QLineEdit(settings.library_dir)
        self.library_dir.setPlaceholderText(str(app_paths().default_library_dir))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse_library)
        row = QHBoxLayout()
        row.addWidget(self.library_dir, 1)
        row.addWidget(browse)
        form.addRow(self.tr("Model library"), row)
        self.hub_endpoint = QLineEdit(settings.hub_endpoint)
        self.hub_endpoint.setPlaceholderText(
            self.tr("https://huggingface.co (a mirror: https://hf-mirror.com)"))
        form.addRow(self.tr("Hub endpoint"), self.hub_endpoint)
        self.hub_token = QLineEdit(settings.hub_token)
        self.hub_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.hub_token.setPlaceholderText(self.tr("only for gated or private repositories"))
        form.addRow(self.tr("Hub token"), self.hub_token)
        self.offline = QCheckBox(self.tr("Offline mode: never contact the hub"))
        self.offline.setChecked(settings.offline)
        form.addRow("", self.offline)
        self.theme = QComboBox()
        for label, value in _THEMES:
            self.theme.addItem(self.tr(label), value)
        _choose(self.theme, settings.theme)
        form.addRow(self.tr("Theme"), self.theme)
        self.ui_language = QComboBox()
        self.ui_language.addItem(self.tr("Same as the system"), SYSTEM)
        for code in UI_LANGUAGES:
            self.ui_language.addItem(LANGUAGE_NAMES[code], code)
        _choose(self.ui_language, settings.ui_language)
        form.addRow(self.tr("Window language"), self.ui_language)
        return group

    # -- behaviour -------------------------------------------------------------------------------

    def _engine_kind_changed(self) -> None:
        for widget in (self.server_url, self.server_api_key, self.server_model,
                       self.server_timeout, self.test_button):
            widget.setEnabled(self.engine_server.isChecked())

    def _typed_connection(self) -> ServerConnection:
        """The server as typed; ``InvalidSettingError`` for an address that is not one."""
        if not self.server_url.text().strip():
            raise InvalidSettingError(
                self.tr("Give the server's address, such as http://127.0.0.1:8000/v1."))
        return ServerConnection(self.server_url.text().strip(), self.server_api_key.text().strip(),
                                self.server_model.text().strip(),
                                self.server_timeout.value())

    def test_connection(self) -> bool:
        """Check the server as typed, in the background; ``connection_result`` shows the outcome.
        False when nothing started (an invalid address, shown at once, or a test running)."""
        if self._test_job is not None and self._test_job.running:
            return False
        try:
            connection = self._typed_connection()
        except InvalidSettingError as error:
            self._show_check(False, str(error))
            return False
        quick = dataclasses.replace(connection,
                                    timeout_s=min(connection.timeout_s, TEST_TIMEOUT_S))

        def check(_context: JobContext) -> ConnectionCheck:
            from app.core.engine.remote_engine import test_connection

            return test_connection(quick)

        self.test_button.setEnabled(False)
        self.connection_result.setObjectName("settingNote")
        self.connection_result.setText(self.tr("Testing {0}…").format(connection.base_url))
        # No parent: the dialog may be closed and deleted before the server answers.
        self._test_job = BackgroundJob(None, check, "test the server connection")
        self._test_job.on_success(lambda result: self._show_check(result.ok, result.message))
        self._test_job.on_failure(lambda error: self._show_check(False, str(error)))
        self._test_job.start()
        return True

    @property
    def testing(self) -> bool:
        """True while a connection test runs."""
        return self._test_job is not None and self._test_job.running

    def _show_check(self, ok: bool, message: str) -> None:
        if self._closed:
            return
        self.test_button.setEnabled(self.engine_server.isChecked())
        text = (self.tr("Connection works: {0}") if ok
                else self.tr("Connection failed: {0}")).format(message)
        self.connection_result.setObjectName("settingNote" if ok else "formError")
        self.connection_result.setText(text)
        self.connection_result.style().polish(self.connection_result)

    def done(self, result: int) -> None:
        self._closed = True  # a test still running must not touch the widgets any more
        super().done(result)

    def _gpu_mode_changed(self) -> None:
        mode = self.gpu_mode.currentData()
        self.gpu_layers.setEnabled(mode == "manual")
        self.gpu_device.setEnabled(mode != "cpu")

    def _list_devices(self) -> None:
        """Ask llama.cpp for its devices off the GUI thread (loading its back-ends takes a
        moment); the list is filled in when they come."""
        def listing(_context: JobContext) -> tuple[BackendDevice, ...]:
            from app.core.hardware.backend_devices import list_devices

            return list_devices()

        # Owned by the dialog: deleted before llama.cpp answers, it is told nothing.
        self._devices_job = BackgroundJob(self, listing, "list llama.cpp's devices")
        self._devices_job.on_success(self._devices_listed)
        self._devices_job.on_failure(lambda error: self._devices_failed(str(error)))
        self._devices_job.start()

    def _devices_listed(self, devices: tuple[BackendDevice, ...]) -> None:
        self._fill_devices(devices)
        self.devices_listed = True

    def _devices_failed(self, message: str) -> None:
        self.gpu_note.setText(self.gpu_note.text() + "\n" + self.tr(
            "llama.cpp's devices could not be listed: {0}").format(message))
        self.devices_listed = True

    def _fill_devices(self, devices: Sequence[BackendDevice] | None) -> None:
        """List "Automatic", then ``devices`` (None: not listed yet), then the device chosen so
        far when llama.cpp does not list it (marked "(not found)" once the list is known); keep
        that choice selected."""
        chosen = self.gpu_device.currentData() if self.gpu_device.count() else self._saved_device
        self.gpu_device.clear()
        self.gpu_device.addItem(self.tr("Automatic (every GPU llama.cpp finds)"), "")
        for device in devices or ():
            self.gpu_device.addItem(self._device_label(device), device.name)
        index = self._device_index(chosen)
        if index < 0:
            self.gpu_device.addItem(chosen if devices is None
                                    else self.tr("{0} (not found)").format(chosen), chosen)
            if devices is not None:
                self.gpu_device.setItemData(
                    self.gpu_device.count() - 1,
                    self.tr("llama.cpp does not list this device now: a model loads with it "
                            "only once it is back. Choose another to load without it."),
                    Qt.ItemDataRole.ToolTipRole)
            index = self.gpu_device.count() - 1
        self.gpu_device.setCurrentIndex(index)

    def _device_index(self, name: str) -> int:
        """The row of device ``name`` (case-insensitive, as llama.cpp finds devices); 0 for
        "" (Automatic), -1 when not listed."""
        for row in range(self.gpu_device.count()):
            if str(self.gpu_device.itemData(row)).lower() == name.lower():
                return row
        return -1

    def _device_label(self, device: BackendDevice) -> str:
        kind = self.tr(_DEVICE_TYPES[device.device_type]) \
            if device.device_type in _DEVICE_TYPES else device.device_type
        if device.total_bytes and device.is_gpu:
            kind = self.tr("{0}, {1} free").format(kind, human_bytes(device.free_bytes))
        description = f" · {device.description}" if device.description else ""
        return f"{device.name}{description} ({kind})"

    def _loading_changed(self) -> None:
        """Check the cache and speculation choices with the engine's own rules (through
        ``AppSettings``), show the first refusal and keep OK disabled while there is one."""
        self.draft_model.setEnabled(self.speculation.currentData() == "draft")
        self.draft_browse.setEnabled(self.draft_model.isEnabled())
        refusal = self._refusal_of(self._cache_choice(), self.tr(
            "The engine refuses this cache choice: {0}"))
        if not refusal:
            refusal = self._refusal_of(self._cache_choice() | self._speculation_choice(),
                                       self.tr("The engine refuses this choice of faster "
                                               "replies: {0}"))
        if refusal:
            self.error_label.setText(refusal)
        elif self._refusal and self.error_label.text() == self._refusal:
            self.error_label.clear()
        self._refusal = refusal
        self.ok_button.setEnabled(not refusal)
        self.cache_note.setText(self._cache_size_statement())

    def _refusal_of(self, changes: dict[str, str], sentence: str) -> str:
        """``sentence`` with the engine's reason when it refuses ``changes``, else ""."""
        try:
            self._original.with_changes(**changes)
        except InvalidSettingError as error:
            return sentence.format(error)
        return ""

    def _cache_choice(self) -> dict[str, str]:
        return {"cache_type_k": self.cache_type_k.currentData(),
                "cache_type_v": self.cache_type_v.currentData(),
                "flash_attn": self.flash_attn.currentData()}

    def _speculation_choice(self) -> dict[str, str]:
        return {"speculation": self.speculation.currentData(),
                "draft_model": self.draft_model.text().strip()}

    def _cache_size_statement(self) -> str:
        """What the chosen cache types take for Fin-R1 at the chosen context, against f16."""
        from app.core.hardware.fit import FIN_R1_DIMS, kv_cache_bytes_per_token

        tokens = self.context.value()
        chosen = KvCacheTypes(self.cache_type_k.currentData(), self.cache_type_v.currentData())
        size = human_bytes(tokens * kv_cache_bytes_per_token(FIN_R1_DIMS, chosen))
        if chosen == KvCacheTypes():
            return self.tr("Fin-R1's K/V cache at {0} tokens: {1}.").format(tokens, size)
        full = human_bytes(tokens * kv_cache_bytes_per_token(FIN_R1_DIMS))
        return self.tr("Fin-R1's K/V cache at {0} tokens: {1} (f16: {2}).").format(
            tokens, size, full)

    def _browse_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Model library folder"),
                                                  self.library_dir.text())
        if folder:
            self.library_dir.setText(folder)

    def _browse_draft_model(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Draft model"), self.draft_model.text(),
            self.tr("GGUF models (*.gguf);;All files (*)"))
        if path:
            self.draft_model.setText(path)

    def _gpu_layers_value(self) -> GpuLayers:
        fixed: dict[str, GpuLayers] = {"auto": AUTO, "cpu": 0, "all": -1}
        return fixed.get(self.gpu_mode.currentData(), self.gpu_layers.value())

    def edited_settings(self) -> AppSettings:
        """The settings as the dialog shows them; ``InvalidSettingError`` when one is invalid."""
        return self._original.with_changes(
            n_threads=self.threads.value() or None,
            n_gpu_layers=self._gpu_layers_value(),
            gpu_device=self.gpu_device.currentData(),
            n_ctx=self.context.value(),
            **self._cache_choice(),
            **self._speculation_choice(),
            temperature=round(self.temperature.value(), 2),
            top_p=round(self.top_p.value(), 2),
            top_k=self.top_k.value(),
            repeat_penalty=round(self.repeat_penalty.value(), 2),
            max_new_tokens=self.max_tokens.value(),
            system_prompt=self.system_prompt.toPlainText(),
            prompt_language=self.prompt_language.currentData(),
            library_dir=self.library_dir.text().strip(),
            hub_endpoint=self.hub_endpoint.text().strip(),
            hub_token=self.hub_token.text().strip(),
            offline=self.offline.isChecked(),
            theme=self.theme.currentData(),
            ui_language=self.ui_language.currentData(),
            engine_kind="server" if self.engine_server.isChecked() else "local",
            server_url=self.server_url.text().strip(),
            server_api_key=self.server_api_key.text().strip(),
            server_model=self.server_model.text().strip(),
            server_timeout_s=self.server_timeout.value(),
        )

    def accept(self) -> None:
        if self._refusal:  # OK is disabled; Enter or a caller still lands here
            self.error_label.setText(self._refusal)
            return
        try:
            self.result_settings = self.edited_settings()
        except InvalidSettingError as error:
            self.error_label.setText(str(error))
            return
        super().accept()

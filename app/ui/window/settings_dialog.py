"""The settings dialog: edits an ``AppSettings`` and hands back a validated new one.

Every value is checked by ``AppSettings`` itself (the engine's own rules); an invalid value keeps
the dialog open with the reason shown. Saving is the caller's job (``app.core.installation.settings``).

The Engine group chooses who answers: this computer (a GGUF loaded here) or an OpenAI-compatible
server (its address, API key and model). "Test connection" checks the server as typed, off the
GUI thread (``app.core.engine.remote_engine.test_connection`` through the job bridge), and shows its
sentence.
"""

from __future__ import annotations

import dataclasses
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
    QVBoxLayout,
    QWidget,
)

from app.core.engine.config import AUTO, FIN_R1_SYSTEM_PROMPT
from app.core.engine.server_connection import ServerConnection
from app.core.installation.paths import app_paths
from app.core.installation.settings import AppSettings
from app.ui.i18n import LANGUAGE_NAMES, SYSTEM, UI_LANGUAGES
from app.ui.job_bridge import BackgroundJob, JobContext
from foundation.errors import InvalidSettingError

if TYPE_CHECKING:
    from app.core.engine.remote_engine import ConnectionCheck

# Labels are marked for translation here and translated where shown (context "SettingsDialog").
_GPU_MODES = ((QT_TRANSLATE_NOOP("SettingsDialog", "Auto (as many layers as fit)"), "auto"),
              (QT_TRANSLATE_NOOP("SettingsDialog", "CPU only"), "cpu"),
              (QT_TRANSLATE_NOOP("SettingsDialog", "All layers"), "all"),
              (QT_TRANSLATE_NOOP("SettingsDialog", "A number of layers"), "manual"))
_THEMES = ((QT_TRANSLATE_NOOP("SettingsDialog", "Follow the system"), "system"),
           (QT_TRANSLATE_NOOP("SettingsDialog", "Light"), "light"),
           (QT_TRANSLATE_NOOP("SettingsDialog", "Dark"), "dark"))
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
        self._closed = False
        layout = QVBoxLayout(self)
        layout.addWidget(self._answering_group(settings))
        layout.addWidget(self._engine_group(settings, gpu_supported))
        layout.addWidget(self._sampling_group(settings))
        layout.addWidget(self._app_group(settings))
        self.error_label = QLabel("")
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

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
        self.gpu_mode.currentIndexChanged.connect(self._gpu_mode_changed)
        row = QHBoxLayout()
        row.addWidget(self.gpu_mode, 1)
        row.addWidget(self.gpu_layers)
        form.addRow(self.tr("GPU layers"), row)
        self.gpu_note = QLabel(self._gpu_statement(gpu_supported))
        self.gpu_note.setWordWrap(True)
        self.gpu_note.setObjectName("settingNote")
        form.addRow("", self.gpu_note)
        self.context = _spin(512, 131072, settings.n_ctx, 1024)
        self.context.setSuffix(self.tr(" tokens"))
        form.addRow(self.tr("Context size"), self.context)
        self._gpu_mode_changed()
        return group

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
        self.gpu_layers.setEnabled(self.gpu_mode.currentData() == "manual")

    def _browse_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Model library folder"),
                                                  self.library_dir.text())
        if folder:
            self.library_dir.setText(folder)

    def _gpu_layers_value(self) -> int | str:
        mode = self.gpu_mode.currentData()
        return {"auto": AUTO, "cpu": 0, "all": -1}.get(mode, self.gpu_layers.value())

    def edited_settings(self) -> AppSettings:
        """The settings as the dialog shows them; ``InvalidSettingError`` when one is invalid."""
        return self._original.with_changes(
            n_threads=self.threads.value() or None,
            n_gpu_layers=self._gpu_layers_value(),
            n_ctx=self.context.value(),
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
        try:
            self.result_settings = self.edited_settings()
        except InvalidSettingError as error:
            self.error_label.setText(str(error))
            return
        super().accept()

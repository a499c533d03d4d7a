"""The settings dialog: edits an ``AppSettings`` and hands back a validated new one.

Every value is checked by ``AppSettings`` itself (the engine's own rules); an invalid value keeps
the dialog open with the reason shown. Saving is the caller's job (``app.core.settings``).
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.engine_config import AUTO, FIN_R1_SYSTEM_PROMPT
from app.core.paths import app_paths
from app.core.settings import AppSettings
from app.ui.i18n import LANGUAGE_NAMES, SYSTEM, UI_LANGUAGES
from quant.errors import InvalidSettingError

# Labels are marked for translation here and translated where shown (context "SettingsDialog").
_GPU_MODES = ((QT_TRANSLATE_NOOP("SettingsDialog", "Auto (as many layers as fit)"), "auto"),
              (QT_TRANSLATE_NOOP("SettingsDialog", "CPU only"), "cpu"),
              (QT_TRANSLATE_NOOP("SettingsDialog", "All layers"), "all"),
              (QT_TRANSLATE_NOOP("SettingsDialog", "A number of layers"), "manual"))
_THEMES = ((QT_TRANSLATE_NOOP("SettingsDialog", "Follow the system"), "system"),
           (QT_TRANSLATE_NOOP("SettingsDialog", "Light"), "light"),
           (QT_TRANSLATE_NOOP("SettingsDialog", "Dark"), "dark"))
_LANGUAGES = (("中文 (Chinese)", "zh"), ("English", "en"))


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
        layout = QVBoxLayout(self)
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
        )

    def accept(self) -> None:
        try:
            self.result_settings = self.edited_settings()
        except InvalidSettingError as error:
            self.error_label.setText(str(error))
            return
        super().accept()

"""The settings dialog: edits an ``AppSettings`` and hands back a validated new one.

Every value is checked by ``AppSettings`` itself (the engine's own rules); an invalid value keeps
the dialog open with the reason shown. Saving is the caller's job (``app.core.settings``).
"""

from __future__ import annotations

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
from quant.errors import InvalidSettingError

_GPU_MODES = (("Auto (as many layers as fit)", "auto"), ("CPU only", "cpu"),
              ("All layers", "all"), ("A number of layers", "manual"))
_THEMES = (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark"))
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
        self.setWindowTitle("Settings")
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
        group = QGroupBox("Model loading (applies when the model is loaded again)")
        form = QFormLayout(group)
        self.threads = _spin(0, 512, settings.n_threads or 0)
        self.threads.setSpecialValueText("All CPUs")
        form.addRow("CPU threads", self.threads)
        self.gpu_mode = QComboBox()
        for label, value in _GPU_MODES:
            self.gpu_mode.addItem(label, value)
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
        form.addRow("GPU layers", row)
        self.gpu_note = QLabel(self._gpu_statement(gpu_supported))
        self.gpu_note.setWordWrap(True)
        self.gpu_note.setObjectName("settingNote")
        form.addRow("", self.gpu_note)
        self.context = _spin(512, 131072, settings.n_ctx, 1024)
        self.context.setSuffix(" tokens")
        form.addRow("Context size", self.context)
        self._gpu_mode_changed()
        return group

    @staticmethod
    def _gpu_statement(gpu_supported: bool | None) -> str:
        if gpu_supported is None:
            return "Whether this llama.cpp build can use a GPU is checked when a model loads."
        if gpu_supported:
            return "This llama.cpp build can offload layers to the GPU."
        return ("This llama.cpp build cannot use a GPU (it was built for the CPU only): every "
                "layer runs on the CPU whatever is chosen here.")

    def _sampling_group(self, settings: AppSettings) -> QGroupBox:
        group = QGroupBox("Replies")
        form = QFormLayout(group)
        self.temperature = _double(0, 2, settings.temperature, 0.05)
        form.addRow("Temperature", self.temperature)
        self.top_p = _double(0.01, 1, settings.top_p, 0.05)
        form.addRow("Top-p", self.top_p)
        self.top_k = _spin(0, 1000, settings.top_k)
        self.top_k.setSpecialValueText("Off")
        form.addRow("Top-k", self.top_k)
        self.repeat_penalty = _double(0.5, 2, settings.repeat_penalty, 0.01)
        form.addRow("Repetition penalty", self.repeat_penalty)
        self.max_tokens = _spin(16, 131072, settings.max_new_tokens, 256)
        self.max_tokens.setSuffix(" tokens")
        form.addRow("Longest reply", self.max_tokens)
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setFixedHeight(84)
        reset = QPushButton("Reset to Fin-R1's")
        reset.clicked.connect(lambda: self.system_prompt.setPlainText(FIN_R1_SYSTEM_PROMPT))
        column = QVBoxLayout()
        column.addWidget(self.system_prompt)
        column.addWidget(reset)
        form.addRow("System prompt", column)
        self.prompt_language = QComboBox()
        for label, value in _LANGUAGES:
            self.prompt_language.addItem(label, value)
        _choose(self.prompt_language, settings.prompt_language)
        form.addRow("Scenario prompts in", self.prompt_language)
        return group

    def _app_group(self, settings: AppSettings) -> QGroupBox:
        group = QGroupBox("Library, hub and look")
        form = QFormLayout(group)
        self.library_dir = QLineEdit(settings.library_dir)
        self.library_dir.setPlaceholderText(str(app_paths().default_library_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_library)
        row = QHBoxLayout()
        row.addWidget(self.library_dir, 1)
        row.addWidget(browse)
        form.addRow("Model library", row)
        self.hub_endpoint = QLineEdit(settings.hub_endpoint)
        self.hub_endpoint.setPlaceholderText("https://huggingface.co (a mirror: https://hf-mirror.com)")
        form.addRow("Hub endpoint", self.hub_endpoint)
        self.hub_token = QLineEdit(settings.hub_token)
        self.hub_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.hub_token.setPlaceholderText("only for gated or private repositories")
        form.addRow("Hub token", self.hub_token)
        self.offline = QCheckBox("Offline mode: never contact the hub")
        self.offline.setChecked(settings.offline)
        form.addRow("", self.offline)
        self.theme = QComboBox()
        for label, value in _THEMES:
            self.theme.addItem(label, value)
        _choose(self.theme, settings.theme)
        form.addRow("Theme", self.theme)
        return group

    # -- behaviour -------------------------------------------------------------------------------

    def _gpu_mode_changed(self) -> None:
        self.gpu_layers.setEnabled(self.gpu_mode.currentData() == "manual")

    def _browse_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model library folder",
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
        )

    def accept(self) -> None:
        try:
            self.result_settings = self.edited_settings()
        except InvalidSettingError as error:
            self.error_label.setText(str(error))
            return
        super().accept()

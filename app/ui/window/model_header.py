"""The window's header: which model answers and how (a file here, or a server and its model),
live tokens/s, the model switcher.

The switcher lists the library's GGUF models and ends with "Open a GGUF file…". Choosing a model
emits ``model_chosen(path)`` or ``library_model_chosen(model_id)``; the window loads it.

Where the model runs is worded here, in the window's language, from the facts
``ModelSummary`` carries (``where``, ``threads``, ``gpu_layers``…); its English ``device`` text is
for the CLI and the self-test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.engine.model_summary import ModelSummary
from app.ui.retranslate import Retranslating

if TYPE_CHECKING:
    from app.core.engine.remote_engine import RemoteEngineInfo

OPEN_FILE = "open-file"
_NO_CHOICE = ""


class ModelHeader(Retranslating, QWidget):
    """Model name, quant, size and device; tokens/s; switcher; settings button."""

    library_model_chosen = Signal(str)
    open_file_requested = Signal()
    settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # draws its bottom border
        self._library_models: list[tuple[str, str]] = []
        self._library_note = ""
        self._no_model_shown, self._no_model_message = True, ""
        self._server_shown: RemoteEngineInfo | str | None = None  # its info, or the URL connecting
        self._summary_shown: ModelSummary | None = None  # the local model shown
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        self.model_label = QLabel()
        self.model_label.setObjectName("modelName")
        self.detail_label = QLabel()
        self.detail_label.setObjectName("modelDetail")
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self.model_label)
        texts.addWidget(self.detail_label)
        layout.addLayout(texts, 1)
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("rateLabel")
        self.rate_label.setMinimumWidth(96)
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.rate_label)
        self.switcher = QComboBox()
        self.switcher.setObjectName("modelSwitcher")
        self.switcher.setMinimumWidth(220)
        self.switcher.activated.connect(self._switcher_activated)
        layout.addWidget(self.switcher)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.settings_requested)
        layout.addWidget(self.settings_button)
        self.retranslate()

    def retranslate(self) -> None:
        self.settings_button.setText(self.tr("Settings"))
        self.set_library_models(self._library_models, self._library_note)
        if self._no_model_shown:
            self.show_no_model(self._no_model_message)
        elif isinstance(self._server_shown, str):
            self.show_connecting(self._server_shown)
        elif self._server_shown is not None:
            self.show_server(self._server_shown)
        elif self._summary_shown is not None:
            self.show_model(self._summary_shown)

    def set_library_models(self, models: list[tuple[str, str]], note: str = "") -> None:
        """Fill the switcher with ``(model_id, label)`` pairs; ``note`` replaces the list when
        the library could not be read."""
        self._library_models, self._library_note = list(models), note
        self.switcher.clear()
        self.switcher.addItem(self.tr("Switch model…"), _NO_CHOICE)
        for model_id, label in models:
            self.switcher.addItem(label, model_id)
        if note:
            self.switcher.addItem(note, _NO_CHOICE)
        self.switcher.addItem(self.tr("Open a GGUF file…"), OPEN_FILE)

    def _switcher_activated(self, index: int) -> None:
        choice = self.switcher.itemData(index)
        self.switcher.setCurrentIndex(0)
        if choice == OPEN_FILE:
            self.open_file_requested.emit()
        elif choice:
            self.library_model_chosen.emit(choice)

    def show_loading(self, name: str) -> None:
        self._no_model_shown, self._server_shown, self._summary_shown = False, None, None
        self.model_label.setText(self.tr("Loading {0}…").format(name))
        self.detail_label.setText(self.tr("Reading the model file; the window stays usable."))
        self.rate_label.clear()

    def show_model(self, summary: ModelSummary) -> None:
        self._no_model_shown, self._server_shown, self._summary_shown = False, None, summary
        self.model_label.setText(summary.name)
        detail = " · ".join(part for part in (summary.quant, summary.size,
                                              self._where_it_runs(summary)) if part)
        self.detail_label.setText(detail)
        self.detail_label.setToolTip("\n".join((summary.note, *summary.warnings)))

    def _where_it_runs(self, summary: ModelSummary) -> str:
        """``summary``'s place (CPU threads, GPU layers) in the window's language."""
        if summary.where == "cpu":
            return self.tr("CPU · 1 thread") if summary.threads == 1 else \
                self.tr("CPU · {0} threads").format(summary.threads)
        total = "?" if summary.total_layers is None else str(summary.total_layers)
        if summary.gpu_device:  # as llama.cpp reported it after loading
            return self.tr("GPU: {0}/{1} layers on {2}").format(summary.gpu_layers, total,
                                                               summary.gpu_device)
        if summary.total_layers is not None:
            return self.tr("GPU · {0}/{1} layers").format(summary.gpu_layers, total)
        if summary.gpu_layers < 0:
            return self.tr("GPU · all layers")
        return self.tr("GPU · {0} layers").format(summary.gpu_layers)

    def show_connecting(self, url: str) -> None:
        """A server at API base ``url`` is being connected."""
        self._no_model_shown, self._server_shown, self._summary_shown = False, url, None
        self.model_label.setText(self.tr("Connecting to {0}…").format(url))
        self.detail_label.setText(self.tr("Asking the server which models it serves; the window "
                                          "stays usable."))
        self.detail_label.setToolTip("")
        self.rate_label.clear()

    def show_server(self, info: RemoteEngineInfo) -> None:
        """The model ``info.model_id`` on the server at ``info.url`` answers."""
        self._no_model_shown, self._server_shown, self._summary_shown = False, info, None
        self.model_label.setText(info.model_id)
        self.detail_label.setText(self.tr("Server · {0}").format(info.url))
        served = ", ".join(info.served_models) or info.model_id
        self.detail_label.setToolTip(self.tr("The server serves: {0}").format(served))

    def show_no_model(self, message: str = "") -> None:
        self._no_model_shown, self._no_model_message = True, message
        self._server_shown, self._summary_shown = None, None
        self.model_label.setText(self.tr("No model loaded"))
        text = message or self.tr("Choose a model on the right, or open a GGUF file.")
        self.detail_label.setText(text if len(text) <= 140 else text[:139] + "…")
        self.detail_label.setToolTip(text)
        self.rate_label.clear()

    def set_rate(self, tokens_per_s: float | None) -> None:
        """Show the live decode speed; None clears it."""
        self.rate_label.setText("" if tokens_per_s is None else f"{tokens_per_s:.1f} tok/s")

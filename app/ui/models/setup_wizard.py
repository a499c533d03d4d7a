"""The quantize-then-chat wizard: from nothing to Fin-R1 answering, shown at the first start and
from the Models menu.

Pages: welcome (the window's language) → this machine (RAM, GPU, llama.cpp's GPU support, plain
advice) → source (a model file found beside the app or in its ``models/`` folder first, then:
download a ready GGUF / download the original and build / import from disk) → quant (the quant
table with size, fit and expected quality, the recommended type pre-selected; skipped for a GGUF
file, whose type is what it is) → progress (the real jobs, one after another, each with its
measured time left) → ready. Finishing hands the model to the window (``model_ready``), which
loads it and opens the compliance check with its first example filled in.

Every page can go back; going back from the progress page, or closing the wizard, cancels the
running job and waits for it: a download's partial file, a build's temporary files and an
import's half-copied file are removed. Models completed before that (a downloaded checkpoint)
stay in the library.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.core.hardware.fit import FitAdvice, FitLevel, advise
from app.core.hardware.machine import MachineInfo
from app.core.hardware.speed_prediction import (
    TYPICAL_ANSWER_TOKENS,
    SpeedBasis,
    predict_quant_speeds,
    rate_text,
)
from app.core.hub.catalog import Catalog
from app.core.hub.client import HubConfig
from app.core.installation.paths import app_paths
from app.core.installation.resources import resource_path
from app.core.library.first_model import Choice, Source, acquire
from app.core.library.model_library import Library, ModelEntry
from app.core.library.model_pack import find_offline_model_files
from app.core.local_build.build_job import BuildPlan
from app.ui.formats import duration_text, size_text
from app.ui.i18n import LANGUAGE_NAMES, SYSTEM, UI_LANGUAGES, Translations
from app.ui.job_bridge import BackgroundJob, JobContext, JobSlot
from app.ui.job_progress import JobProgress
from app.ui.models.build_tab import report_build
from app.ui.models.machine_info import request_speed
from app.ui.models.quant_chooser import QuantChooser
from app.ui.retranslate import Retranslating
from foundation.jobs import JobCancelled, Progress
from quant.formats import quant_type

WELCOME, MACHINE, SOURCE, QUANT, PROGRESS, READY = range(6)
WIZARD_STYLE = """
#machineAdvice { padding: 10px 12px; margin-top: 12px; border-radius: 6px; font-weight: 600;
                 background: palette(alternate-base); border: 1px solid palette(mid); }
#panelHelp { color: palette(placeholder-text); }
#panelTitle { font-weight: 600; margin-top: 6px; }
#wizardSteps { font-size: 13px; margin-bottom: 8px; }
#formError { color: #c5221f; }
#jobTitle { font-weight: 600; }
QRadioButton { padding: 3px 0; }
"""


# -- pages ----------------------------------------------------------------------------------------


class WelcomePage(Retranslating, QWizardPage):
    """The greeting and the window's language."""

    language_chosen = Signal(str)

    def __init__(self, language_setting: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        row = QHBoxLayout()
        self.language_label = QLabel()
        self.language_box = QComboBox()
        self.language_box.setObjectName("wizardLanguage")
        self.language_box.addItem("", SYSTEM)
        for code in UI_LANGUAGES:
            self.language_box.addItem(LANGUAGE_NAMES[code], code)
        self.language_box.setCurrentIndex(max(self.language_box.findData(language_setting), 0))
        self.language_box.currentIndexChanged.connect(
            lambda _index: self.language_chosen.emit(self.language_box.currentData()))
        row.addWidget(self.language_label)
        row.addWidget(self.language_box, 1)
        layout.addLayout(row)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Welcome to Fin-R1 Studio"))
        self.setSubTitle(self.tr("Fin-R1 answers finance questions on this computer; nothing "
                                 "you ask leaves it."))
        self.intro.setText(self.tr(
            "This assistant gets the Fin-R1 model ready: it looks at this machine, helps you "
            "choose a version of the model that fits it, fetches or builds it, and opens a first "
            "compliance check. It takes a few minutes plus the download."))
        self.language_label.setText(self.tr("Language"))
        self.language_box.setItemText(0, self.tr("Same as the system"))


class MachinePage(Retranslating, QWizardPage):
    """RAM, CPU, GPU and llama.cpp's GPU support, with what they mean for Fin-R1."""

    def __init__(self, n_ctx: Callable[[], int]) -> None:
        super().__init__()
        self._n_ctx = n_ctx
        self.machine: MachineInfo | None = None
        self.speed: SpeedBasis | None = None
        layout = QVBoxLayout(self)
        self.facts = QFormLayout()
        self.labels: dict[str, tuple[QLabel, QLabel]] = {}
        for key in ("ram", "cpu", "gpu", "offload"):
            name, value = QLabel(), QLabel()
            value.setWordWrap(True)
            value.setObjectName(f"machine_{key}")
            self.facts.addRow(name, value)
            self.labels[key] = (name, value)
        layout.addLayout(self.facts)
        self.advice = QLabel()
        self.advice.setObjectName("machineAdvice")
        self.advice.setWordWrap(True)
        layout.addWidget(self.advice)
        layout.addStretch(1)
        self.retranslate()

    def initializePage(self) -> None:  # Qt's name
        if self.machine is None:
            request_speed(self, self._known)

    def _known(self, machine: MachineInfo, speed: SpeedBasis | None) -> None:
        self.machine, self.speed = machine, speed
        self.retranslate()
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # Qt's name
        return self.machine is not None

    def retranslate(self) -> None:
        self.setTitle(self.tr("This machine"))
        self.setSubTitle(self.tr("What the model has to work with."))
        names = {"ram": self.tr("Memory (RAM)"), "cpu": self.tr("Processor"),
                 "gpu": self.tr("Graphics card"), "offload": self.tr("GPU use")}
        for key, (name, _value) in self.labels.items():
            name.setText(names[key])
        machine = self.machine
        if machine is None:
            self.labels["ram"][1].setText(self.tr("Looking…"))
            self.advice.setText("")
            return
        self.labels["ram"][1].setText(self.tr("{0} in all, {1} free now").format(
            size_text(machine.ram_total_bytes), size_text(machine.ram_available_bytes)))
        cores = self.tr("{0} cores").format(machine.physical_cores or machine.logical_cores)
        self.labels["cpu"][1].setText(", ".join(part for part in (
            machine.cpu_model, cores, machine.instruction_set) if part))
        gpu = machine.best_gpu
        if gpu is None:
            self.labels["gpu"][1].setText(self.tr("none found"))
        else:
            free = (self.tr(", {0} free").format(size_text(gpu.free_bytes))
                    if gpu.free_bytes is not None else "")
            self.labels["gpu"][1].setText(f"{gpu.name} ({size_text(gpu.total_bytes)}{free})")
        self.labels["offload"][1].setText(
            self.tr("llama.cpp on this machine can run the model on the GPU")
            if machine.gpu_offload_supported else
            self.tr("this build of llama.cpp runs on the CPU only"))
        self.advice.setText(self.advice_text(advise(machine, self._n_ctx()), machine))

    def advice_text(self, advice: FitAdvice, machine: MachineInfo) -> str:
        """Plain advice from the fit of every quant type."""
        recommended = advice.recommended
        if recommended is None:
            return self.tr("Fin-R1 does not fit in the memory free now, even in its smallest "
                           "version. Close other programs, or use a machine with at least "
                           "8 GB of RAM.")
        row = advice.row(recommended.name)
        where = (self.tr("entirely on the graphics card, which is fast")
                 if row.level is FitLevel.GPU else
                 self.tr("on the processor") if self.speed is not None else
                 self.tr("on the processor: expect a few words per second"))
        text = self.tr("Recommended: {0} ({1}). It runs {2}.").format(
            recommended.label, size_text(row.estimate.weights_bytes), where)
        if self.speed is not None:
            speed = predict_quant_speeds(advice, self.speed)[recommended.name]
            predicted = speed.gpu if row.level is FitLevel.GPU and speed.gpu else speed.cpu
            text += " " + self.tr("About {0} tokens a second here: a typical answer (~{1} tokens "
                                  "with its reasoning) in about {2}.").format(
                rate_text(predicted.tokens_per_s), f"{TYPICAL_ANSWER_TOKENS:,}",
                duration_text(predicted.answer_s))
        if machine.gpus and not machine.gpu_offload_supported:
            text += " " + self.tr("A graphics card was found, but this build of llama.cpp "
                                  "cannot use it.")
        return text


class SourcePage(Retranslating, QWizardPage):
    """Where the model comes from; model files found beside the app come first."""

    def __init__(self, offline_files: list[Path]) -> None:
        super().__init__()
        self.offline_files = offline_files
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.offline_buttons: list[QRadioButton] = []
        self.offline_label = QLabel()
        self.offline_label.setObjectName("panelTitle")
        if offline_files:
            layout.addWidget(self.offline_label)
        for path in offline_files:
            button = QRadioButton()
            button.setProperty("path", str(path))
            self.group.addButton(button)
            self.offline_buttons.append(button)
            layout.addWidget(button)
        self.download_button = QRadioButton()
        self.build_button = QRadioButton()
        self.import_button = QRadioButton()
        for button in (self.download_button, self.build_button, self.import_button):
            self.group.addButton(button)
            layout.addWidget(button)
        self.notes: dict[QRadioButton, QLabel] = {}
        for button in (self.download_button, self.build_button):
            note = QLabel()
            note.setObjectName("panelHelp")
            note.setWordWrap(True)
            note.setContentsMargins(24, 0, 0, 6)
            layout.insertWidget(layout.indexOf(button) + 1, note)
            self.notes[button] = note
        import_row = QHBoxLayout()
        import_row.setContentsMargins(24, 0, 0, 0)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("importPath")
        self.path_edit.textChanged.connect(self._path_typed)
        self.file_button = QPushButton()
        self.file_button.clicked.connect(self._choose_file)
        self.folder_button = QPushButton()
        self.folder_button.clicked.connect(self._choose_folder)
        import_row.addWidget(self.path_edit, 1)
        import_row.addWidget(self.file_button)
        import_row.addWidget(self.folder_button)
        layout.addLayout(import_row)
        layout.addStretch(1)
        (self.offline_buttons[0] if offline_files else self.download_button).setChecked(True)
        self.group.buttonToggled.connect(lambda _button, _checked: self.completeChanged.emit())
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Where the model comes from"))
        self.setSubTitle(self.tr("Choose one way to get Fin-R1."))
        self.offline_label.setText(self.tr("Found on this computer"))
        for button in self.offline_buttons:
            path = Path(button.property("path"))
            button.setText(self.tr("Use {0} (beside the app)").format(path.name))
            button.setToolTip(str(path))
        self.download_button.setText(self.tr("Download a ready-made model file"))
        self.notes[self.download_button].setText(self.tr(
            "The quickest way: one file of 3 to 8 GB from the model hub."))
        self.build_button.setText(self.tr("Download the original model and build it here"))
        self.notes[self.build_button].setText(self.tr(
            "Downloads 15 GB, then converts and quantizes on this computer (with an importance "
            "matrix for the smallest types). Takes longer; every step is checked."))
        self.import_button.setText(self.tr("Import a model from disk (a .gguf file or a "
                                           "checkpoint folder)"))
        self.path_edit.setPlaceholderText(self.tr("Path of a .gguf file or a checkpoint folder"))
        self.file_button.setText(self.tr("File…"))
        self.folder_button.setText(self.tr("Folder…"))

    def _path_typed(self) -> None:
        if self.path_edit.text().strip():
            self.import_button.setChecked(True)
        self.completeChanged.emit()

    def _choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.tr("Choose a model file"), "",
                                                    self.tr("GGUF models (*.gguf)"))
        if path:
            self.path_edit.setText(path)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a checkpoint folder"))
        if folder:
            self.path_edit.setText(folder)

    def choose(self, source: Source, path: Path | None = None) -> None:
        """Pick a source as a click would (``path`` for an import or an offline file)."""
        if source is Source.IMPORT:
            self.path_edit.setText(str(path))
            self.import_button.setChecked(True)
        elif source is Source.OFFLINE_FILE:
            for button in self.offline_buttons:
                if Path(button.property("path")) == path:
                    button.setChecked(True)
        else:
            {Source.DOWNLOAD_GGUF: self.download_button,
             Source.DOWNLOAD_BUILD: self.build_button}[source].setChecked(True)

    def source(self) -> tuple[Source, Path | None]:
        checked = self.group.checkedButton()
        if checked in self.offline_buttons:
            return Source.OFFLINE_FILE, Path(checked.property("path"))
        if checked is self.download_button:
            return Source.DOWNLOAD_GGUF, None
        if checked is self.build_button:
            return Source.DOWNLOAD_BUILD, None
        text = self.path_edit.text().strip()
        return Source.IMPORT, Path(text).expanduser() if text else None

    def isComplete(self) -> bool:  # Qt's name
        source, path = self.source()
        if source in (Source.IMPORT, Source.OFFLINE_FILE):
            return path is not None and (path.is_dir() or path.is_file())
        return True

    def nextId(self) -> int:  # Qt's name
        source, path = self.source()
        if source in (Source.IMPORT, Source.OFFLINE_FILE) and path is not None \
                and path.is_file():
            return PROGRESS  # a GGUF file's quant type is what it is
        return QUANT


class QuantPage(Retranslating, QWizardPage):
    """The quant chooser for the chosen source, recommended type pre-selected."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__()
        self._wizard = wizard
        layout = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("panelHelp")
        layout.addWidget(self.note)
        self.chooser = QuantChooser(wizard.n_ctx)
        self.table = self.chooser.table
        self.chooser.choice_changed.connect(self.completeChanged)
        self.chooser.reading_failed.connect(self.note.setText)
        layout.addWidget(self.chooser, 1)
        self._shown_for: tuple[Any, ...] | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Choose the version of the model"))
        self.setSubTitle(self.tr("Smaller files need less memory and run faster; larger ones "
                                 "answer a little better. The recommended one is selected."))
        source, _path = self._wizard.source_page.source() if hasattr(self._wizard,
                                                                     "source_page") else (None, None)
        self.note.setText(self.tr("Sizes marked ≈ are estimates until the hub has been asked.")
                          if source is Source.DOWNLOAD_GGUF else
                          self.tr("The chosen type is built on this computer."))

    def initializePage(self) -> None:  # Qt's name
        source, path = self._wizard.source_page.source()
        key = (source, path)
        self.retranslate()
        if key == self._shown_for and self.table.rowCount():
            return  # an empty table (the checkpoint could not be read) is read again
        self._shown_for = key
        self.chooser.clear()
        if source is Source.DOWNLOAD_GGUF:
            repo_id = self.chooser.catalog.default_gguf_repo
            self.chooser.show_repo(repo_id)
            # Quietly: looking at this page is not a download, so offline mode must hold.
            self.chooser.refresh_catalog(self._wizard.hub_config(), [repo_id])
        elif path is not None and path.is_dir():
            self.chooser.read_checkpoint(path, self._wizard.library_setting())
        else:
            self.chooser.show_build()

    def isComplete(self) -> bool:  # Qt's name
        return bool(self.table.chosen())

    def catalog(self) -> Catalog:
        return self.chooser.catalog


class ProgressPage(Retranslating, QWizardPage):
    """Runs the chosen acquisition: the steps, one job, honest times."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setCommitPage(False)
        layout = QVBoxLayout(self)
        self.steps_label = QLabel()
        self.steps_label.setObjectName("wizardSteps")
        self.steps_label.setWordWrap(True)
        self.steps_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.steps_label)
        self.progress = JobProgress()
        self.progress.cancel_requested.connect(self.cancel)
        layout.addWidget(self.progress)
        self.error_label = QLabel()
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self._jobs = JobSlot(self)
        self.entry: ModelEntry | None = None
        self.steps: list[str] = []
        self.current_step = 0
        self._build_plan: BuildPlan | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Getting the model ready"))
        self.setSubTitle(self.tr("You can go back or close this window at any time; nothing "
                                 "half-done is left behind."))
        self._show_steps()

    def initializePage(self) -> None:  # Qt's name
        self.entry = None
        self.error_label.clear()
        self.start(self._wizard.choice())

    def cleanupPage(self) -> None:  # Qt's name (Back)
        self.stop()

    def isComplete(self) -> bool:  # Qt's name
        return self.entry is not None

    # -- the job ----------------------------------------------------------------------------------

    def start(self, choice: Choice) -> None:
        """Run the steps for ``choice`` in one background job."""
        self.steps = self._step_kinds(choice)
        self.current_step = 0
        self._build_plan = None
        self._show_steps()
        setting, config = self._wizard.library_setting(), self._wizard.hub_config()
        catalog, cache_file = self._wizard.quant_page.catalog(), app_paths().catalog_cache_file

        def work(context: JobContext) -> ModelEntry:
            with Library.open_default(setting or None) as library:
                return acquire(choice, library, config, catalog, cache_file=cache_file,
                               on_progress=context.progress, cancel=context.cancel,
                               on_build=context.emit)

        self.progress.begin(self._first_title(choice))
        job = BackgroundJob(self, work, "set up model").on_item(self._item)
        job.on_progress(self._progressed).on_success(self._succeeded).on_failure(self._failed)
        self._jobs.start(job)

    @property
    def job(self) -> BackgroundJob | None:
        """The job of the steps last started, until ``stop`` lets it go; None before."""
        return self._jobs.job

    def _first_title(self, choice: Choice) -> str:
        if choice.source is Source.DOWNLOAD_GGUF:
            return self.tr("Downloading {0} from {1}").format(
                quant_type(choice.quant or "q4_k_m").label, choice.repo_id)
        if choice.source is Source.DOWNLOAD_BUILD:
            return self.tr("Downloading the original model from {0}").format(choice.repo_id)
        return self.tr("Copying {0} into the model library").format(
            choice.path.name if choice.path else "")

    def _step_kinds(self, choice: Choice) -> list[str]:
        first = "download" if choice.source in (Source.DOWNLOAD_GGUF, Source.DOWNLOAD_BUILD) \
            else "import"
        return [first, "build"] if choice.builds else [first]

    def _item(self, item: object) -> None:
        if isinstance(item, BuildPlan):
            self._build_plan = item
            self.current_step = self.steps.index("build")
            self.progress.begin(self.tr("Building {0}").format(
                ", ".join(quant.label for quant in item.quant_types)))
            self._show_steps()

    def _progressed(self, progress: Progress) -> None:
        if self._build_plan is not None:
            report_build(self.progress, self._build_plan, progress)
        else:
            self.progress.report_progress(progress, progress.message)

    def _succeeded(self, entry: ModelEntry) -> None:
        self.entry = entry
        self.current_step = len(self.steps)
        self._show_steps()
        self.progress.end(self.tr("Ready: {0} ({1}, {2}).").format(
            entry.name, entry.quant_label or "", size_text(entry.size_bytes)))
        self.progress.cancel_button.hide()
        self.completeChanged.emit()
        self._wizard.next()

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, JobCancelled):
            self.progress.end(self.tr("Cancelled; nothing half-done was kept."))
        else:
            self.progress.end(self.tr("Stopped by an error."))
            self.error_label.setText(str(error) + "\n" + self.tr("Go back to choose another way, "
                                                                 "or close and try later."))

    def _show_steps(self) -> None:
        names = {"download": self.tr("Download"), "import": self.tr("Import into the library"),
                 "build": self.tr("Convert, quantize and verify")}
        lines = []
        for index, kind in enumerate(self.steps):
            mark = "✓" if index < self.current_step else ("▶" if index == self.current_step
                                                          else "·")
            text = f"{mark} {index + 1}. {names[kind]}"
            lines.append(f"<b>{text}</b>" if index == self.current_step else text)
        self.steps_label.setText("<br>".join(lines))

    def cancel(self) -> None:
        """Cancel button: the job stops and says so (``_failed``)."""
        self._jobs.cancel()

    def stop(self) -> None:
        """Back or closing: cancel a running job and wait for its clean-up. Nothing it reports
        afterwards is delivered (a success already waiting in the event loop would move the
        wizard on by itself)."""
        if self._jobs.abandon(wait=True):
            self.progress.end(self.tr("Cancelled; nothing half-done was kept."))

    @property
    def running(self) -> bool:
        return self._jobs.running


class ReadyPage(Retranslating, QWizardPage):
    """The model is in the library; Finish loads it and opens the compliance check."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__()
        self._wizard = wizard
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Fin-R1 is ready"))
        self.setSubTitle(self.tr("“Load and start” loads the model and opens a first "
                                 "compliance check filled in with an example: press Run to see "
                                 "Fin-R1 reason."))
        entry = self._wizard.progress_page.entry if hasattr(self._wizard, "progress_page") \
            else None
        if entry is not None:
            self.summary.setText(self.tr("{0}: {1}, {2}, verified and kept in the model "
                                         "library.").format(entry.name, entry.quant_label or "",
                                                            size_text(entry.size_bytes)))

    def initializePage(self) -> None:  # Qt's name
        self.retranslate()


# -- the wizard -----------------------------------------------------------------------------------


class SetupWizard(Retranslating, QWizard):
    """The quantize-then-chat wizard (see the module docstring).

    ``model_ready(entry)`` is emitted when Finish is pressed; ``language_chosen(setting)`` when
    the language is changed on the first page. With ``translations`` the wizard applies that
    language itself (a wizard on its own); a window that keeps the setting passes none and
    applies it, once, on ``language_chosen``.
    """

    model_ready = Signal(object)
    language_chosen = Signal(str)

    def __init__(self, library_setting: Callable[[], str], hub_config: Callable[[], HubConfig],
                 n_ctx: Callable[[], int], language_setting: str = SYSTEM,
                 translations: Translations | None = None,
                 offline_files: list[Path] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library_setting = library_setting
        self.hub_config = hub_config
        self.n_ctx = n_ctx
        self._translations = translations
        self.setObjectName("setupWizard")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setStyleSheet(WIZARD_STYLE)
        logo = QPixmap(str(resource_path("icons", "finr1-studio.png")))
        if not logo.isNull():
            self.setPixmap(QWizard.WizardPixmap.LogoPixmap,
                           logo.scaled(48, 48, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation))
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.resize(820, 600)
        self.welcome_page = WelcomePage(language_setting)
        self.welcome_page.language_chosen.connect(self._language_chosen)
        self.machine_page = MachinePage(n_ctx)
        self.source_page = SourcePage(find_offline_model_files() if offline_files is None
                                      else offline_files)
        self.quant_page = QuantPage(self)
        self.progress_page = ProgressPage(self)
        self.ready_page = ReadyPage(self)
        for page_id, page in ((WELCOME, self.welcome_page), (MACHINE, self.machine_page),
                              (SOURCE, self.source_page), (QUANT, self.quant_page),
                              (PROGRESS, self.progress_page), (READY, self.ready_page)):
            self.setPage(page_id, page)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Set up Fin-R1"))
        self.setButtonText(QWizard.WizardButton.BackButton, self.tr("< Back"))
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("Next >"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Load and start"))
        self.setButtonText(QWizard.WizardButton.CancelButton, self.tr("Cancel"))

    def _language_chosen(self, setting: str) -> None:
        if self._translations is not None:
            self._translations.apply(setting)
        self.language_chosen.emit(setting)

    def choice(self) -> Choice:
        """What the pages say now."""
        source, path = self.source_page.source()
        chosen = self.quant_page.table.chosen()
        is_file = path is not None and path.is_file()
        quant = None if is_file else (chosen[0].name if chosen else None)
        catalog = self.quant_page.catalog()
        repo_id = {Source.DOWNLOAD_GGUF: catalog.default_gguf_repo,
                   Source.DOWNLOAD_BUILD: catalog.checkpoint_repo}.get(source)
        return Choice(source, path, repo_id, quant)

    def done(self, result: int) -> None:
        """Finishing hands the model over; closing or cancelling stops the running job first."""
        self.progress_page.stop()
        entry = self.progress_page.entry
        super().done(result)
        if result == QWizard.DialogCode.Accepted and entry is not None:
            self.model_ready.emit(entry)

"""One job's progress for a person: what it is doing, a bar, the speed and an honest time left
(measured from the job's own progress, ``foundation.job_rate``), and a Cancel button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.ui.formats import size_text, speed_text, time_left_text
from app.ui.retranslate import Retranslating
from foundation.job_rate import RateMeter
from foundation.jobs import Progress

_STEPS = 1000


class JobProgress(Retranslating, QWidget):
    """A progress block; ``cancel_requested`` when its Cancel button is pressed."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title_label = QLabel()
        self.title_label.setObjectName("jobTitle")
        self.title_label.setWordWrap(True)
        row = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, _STEPS)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self.detail_label = QLabel()
        self.detail_label.setObjectName("jobDetail")
        self.detail_label.setWordWrap(True)
        layout.addWidget(self.title_label)
        layout.addLayout(row)
        layout.addWidget(self.detail_label)
        self._meter = RateMeter()
        self._byte_meter = RateMeter(window_s=8.0)
        self._stage = ""
        self.retranslate()

    def retranslate(self) -> None:
        self.cancel_button.setText(self.tr("Cancel"))

    def begin(self, title: str) -> None:
        """A new job (or a new step of one) starts: the bar and the time measurement reset."""
        self.title_label.setText(title)
        self.detail_label.setText("")
        self.bar.setRange(0, _STEPS)
        self.bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self._meter.reset()
        self._byte_meter.reset()
        self._stage = ""
        self.show()

    def report(self, fraction: float | None, detail: str = "", stage: str = "",
               bytes_done: int | None = None, bytes_total: int | None = None) -> None:
        """Progress of the running job; a changed ``stage`` restarts the time measurement.
        ``bytes_done``/``bytes_total`` (a transfer or a copy) add the amounts and the speed."""
        if stage != self._stage:
            self._stage = stage
            self._meter.reset()
            self._byte_meter.reset()
        if bytes_done is not None and bytes_total:
            self._byte_meter.observe(bytes_done, bytes_total)
            amounts = f"{size_text(bytes_done)} / {size_text(bytes_total)}"
            detail = " · ".join(part for part in (detail, amounts,
                                                  speed_text(self._byte_meter.rate())) if part)
        if fraction is None:
            self.bar.setRange(0, 0)  # busy indicator
            self.detail_label.setText(detail)
            return
        self.bar.setRange(0, _STEPS)
        self.bar.setValue(int(fraction * _STEPS))
        self._meter.observe(fraction, 1.0)
        parts = [part for part in (detail, f"{fraction:.0%}",
                                   time_left_text(self._meter.seconds_left())) if part]
        self.detail_label.setText(" · ".join(parts))

    def report_progress(self, progress: Progress, detail: str) -> None:
        """``report`` a core job's ``progress``: its fraction and stage, with the amounts and the
        speed when it counts bytes."""
        counts_bytes = progress.unit == "bytes" and progress.total > 0
        self.report(progress.fraction, detail, progress.stage,
                    progress.done if counts_bytes else None,
                    progress.total if counts_bytes else None)

    def end(self, message: str) -> None:
        """The job is over: show ``message`` and disable Cancel."""
        self.bar.setRange(0, _STEPS)
        self.detail_label.setText(message)
        self.cancel_button.setEnabled(False)

"""Numbers, times and model facts as translated words, for every widget of the app.

Sizes use decimal units, as disks and the hub count them; a time left is only ever given from a
measured speed (``foundation.job_rate``), otherwise the text says it is still being estimated.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.core.hardware.fit import FitLevel
from app.core.library.model_library import ModelStatus
from foundation.disk_space import human_bytes
from quant.formats import QuantType

translate = QCoreApplication.translate  # lupdate finds texts in calls named translate(…)


def size_text(size_bytes: float | None) -> str:
    """``human_bytes``' text (``4.68 GB``), or "—" when the size is unknown."""
    return "—" if size_bytes is None else human_bytes(size_bytes)


def parameters_text(count: int) -> str:
    """``7.62 billion parameters``, ``2.1 million parameters``."""
    if count >= 1e9:
        return translate("Formats", "{0:.2f} billion parameters").format(count / 1e9)
    return translate("Formats", "{0:.1f} million parameters").format(count / 1e6)


def speed_text(bytes_per_second: float | None) -> str:
    return "" if not bytes_per_second else f"{size_text(bytes_per_second)}/s"


def duration_text(seconds: float) -> str:
    """``45 s``, ``3 min``, ``1 h 20 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return translate("Formats", "{0} s").format(seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return translate("Formats", "{0} min").format(minutes)
    return translate("Formats", "{0} h {1} min").format(minutes // 60, minutes % 60)


def time_left_text(seconds: float | None) -> str:
    """"about 3 min left", or "estimating time left…" while no speed is measured yet."""
    if seconds is None:
        return translate("Formats", "estimating time left…")
    return translate("Formats", "about {0} left").format(duration_text(seconds))


def fit_text(level: FitLevel) -> str:
    return {FitLevel.GPU: translate("Formats", "fits in GPU memory"),
            FitLevel.RAM: translate("Formats", "fits in RAM"),
            FitLevel.NONE: translate("Formats", "too large")}[level]


def fit_color(level: FitLevel) -> str:
    """A badge colour for the fit level (green, blue, red), readable in light and dark themes."""
    return {FitLevel.GPU: "#1e8e3e", FitLevel.RAM: "#1a73e8", FitLevel.NONE: "#c5221f"}[level]


def quality_text(quant: QuantType, measured_kld: float | None = None) -> str:
    """Expected quality in words from the table's KLD proxy, or the measured KLD when known."""
    kld = measured_kld if measured_kld is not None else quant.kld_proxy
    if kld is None:
        return "—"
    if kld <= 0.0005:
        words = translate("Formats", "lossless")
    elif kld <= 0.002:
        words = translate("Formats", "near-lossless")
    elif kld <= 0.01:
        words = translate("Formats", "excellent")
    elif kld <= 0.05:
        words = translate("Formats", "very good")
    elif kld <= 0.12:
        words = translate("Formats", "good")
    else:
        words = translate("Formats", "fair")
    if measured_kld is not None:
        return translate("Formats", "{0} (measured KLD {1:.4f})").format(words, measured_kld)
    return translate("Formats", "{0} (KLD ≈ {1})").format(words, f"{kld:g}")


def status_text(status: ModelStatus) -> str:
    return {ModelStatus.OK: translate("Formats", "verified"),
            ModelStatus.MISSING: translate("Formats", "missing"),
            ModelStatus.CHANGED: translate("Formats", "changed: verify it"),
            ModelStatus.CORRUPT: translate("Formats", "damaged"),
            ModelStatus.INCOMPLETE: translate("Formats", "incomplete")}[status]


def stage_text(kind: str, quant_label: str | None) -> str:
    """A build or acquisition stage for a person: "Quantizing to Q4_K_M"."""
    texts = {
        "download": translate("Formats", "Downloading"),
        "convert": translate("Formats", "Converting to BF16"),
        "imatrix": translate("Formats", "Computing the importance matrix"),
        "quantize": translate("Formats", "Quantizing to {0}"),
        "verify": translate("Formats", "Verifying {0}"),
        "import": translate("Formats", "Importing into the library"),
        "hash": translate("Formats", "Checking the file"),
        "load": translate("Formats", "Loading the model"),
    }
    text = texts.get(kind, kind)
    return text.format(quant_label or "") if "{0}" in text else text

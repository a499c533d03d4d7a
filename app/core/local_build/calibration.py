"""The finance texts for importance matrices and quality evaluation, and user-supplied texts.

``resources/calibration/calibration/*.md`` is what importance matrices are computed on;
``resources/calibration/heldout/*.md`` is reserved for evaluation and never calibrated on, so an
evaluation does not reward a quant for having seen its test text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.installation.resources import resource_path
from foundation.errors import TextInputError

CALIBRATION_DATASET = "finr1-finance-calibration-v1"
HELDOUT_DATASET = "finr1-finance-heldout-v1"
_FOLDER = "calibration"


@dataclass(frozen=True)
class TextSet:
    """A named text: ``name`` goes into the files made from it (``imatrix.datasets``, the
    evaluation record); ``files`` are where ``text`` came from."""

    name: str
    text: str
    files: tuple[Path, ...]


def calibration_set() -> TextSet:
    """The bundled calibration text (all files of the calibration part, in name order)."""
    return _bundled(CALIBRATION_DATASET, "calibration")


def heldout_set() -> TextSet:
    """The bundled held-out evaluation text."""
    return _bundled(HELDOUT_DATASET, "heldout")


def text_file_set(path: Path | str) -> TextSet:
    """A user's text file, named after the file. Raises ``TextInputError`` when it cannot be
    read as UTF-8 text or is empty."""
    path = Path(path)
    return TextSet(path.name, _read(path), (path,))


def _bundled(name: str, part: str) -> TextSet:
    folder = resource_path(_FOLDER, part)
    files = tuple(sorted(folder.glob("*.md")))
    if not files:
        raise TextInputError(
            f"The bundled {part} text is missing from {folder}; reinstall the app or pass "
            "your own text with --text FILE")
    return TextSet(name, "\n\n".join(_read(file) for file in files), files)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TextInputError(f"The text file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TextInputError(f"{path} cannot be read as UTF-8 text ({error})") from error
    if not text.strip():
        raise TextInputError(f"The text file {path} is empty")
    return text

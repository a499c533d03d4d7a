"""Which model answered: the facts a conversation's provenance records about it.

A model loaded from the library is identified by the library's verified SHA-256 at once; any
other file is hashed (seconds per gigabyte), which the caller runs off the GUI thread. A model on a
server (the remote engine) is identified by the server's address and the model id it reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.library.file_digest import sha256_file
from app.core.library.model_library import Library, ModelStatus
from foundation.jobs import CancelToken
from quant.gguf_check import validate_gguf


@dataclass(frozen=True)
class ModelProvenance:
    """``sha256`` None while not yet known; ``library_id`` None for a file outside the library."""

    path: str
    file_name: str
    sha256: str | None
    quant: str | None
    size_bytes: int
    library_id: str | None

    def as_record(self) -> dict[str, Any]:
        """The keys a turn's provenance holds about its model."""
        return {"model_sha256": self.sha256, "model_file": self.file_name,
                "model_path": self.path, "model_quant": self.quant,
                "model_size_bytes": self.size_bytes, "library_id": self.library_id}


@dataclass(frozen=True)
class ServerProvenance:
    """A model answering from an OpenAI-compatible server: the server's API base ``url`` and the
    ``model_id`` it reports for the model."""

    url: str
    model_id: str

    def as_record(self) -> dict[str, Any]:
        """The keys a turn's provenance holds about the server (none of a model file's)."""
        return {"engine": "server", "server_url": self.url, "server_model": self.model_id}


def quick_provenance(path: Path, library: Library | None = None) -> ModelProvenance:
    """What is known without hashing: the library's record when the file is a verified library
    model, else the file's name, size and quant type with ``sha256`` None. Raises
    ``GGUFValidationError`` for a file that is not a GGUF, OSError when unreadable."""
    path = Path(path).resolve()
    if library is not None:
        for entry in library.models():
            if entry.path.resolve() == path and entry.status is ModelStatus.OK:
                return ModelProvenance(str(path), path.name, entry.sha256, entry.quant_label,
                                       entry.size_bytes, entry.id)
    info = validate_gguf(path)
    return ModelProvenance(str(path), path.name, None, info.file_type_label, info.size_bytes, None)


def identify_model(path: Path, library: Library | None = None,
                   cancel: CancelToken | None = None) -> ModelProvenance:
    """``quick_provenance`` completed with the file's SHA-256 (hashed when the library does
    not know it). Raises what ``quick_provenance`` raises, and ``JobCancelled``."""
    known = quick_provenance(path, library)
    if known.sha256 is not None:
        return known
    sha256 = sha256_file(Path(known.path), cancel=cancel, stage="hash")
    return ModelProvenance(known.path, known.file_name, sha256, known.quant, known.size_bytes,
                           None)

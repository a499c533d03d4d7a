"""Downloads the person started and that have not finished, remembered across app restarts.

A download interrupted by closing the app keeps its partial file in the library's download area
(``app.core.hub.download``); this small JSON file remembers what was being fetched, so the next start
resumes it (``paused`` ones wait for the person). Finished and cancelled downloads are removed.
Written atomically; an unreadable file is treated as empty (it is only a reminder).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.core.installation.paths import app_paths
from foundation.atomic import atomic_output

FILE_NAME = "pending-downloads.json"


@dataclass(frozen=True)
class DownloadRequest:
    """What to download: a repository and, for a GGUF repository, a quant type or a file name;
    ``build_quant`` keeps room to build that type from a checkpoint afterwards."""

    repo_id: str
    quant: str | None = None
    filename: str | None = None
    build_quant: str | None = None

    @property
    def key(self) -> str:
        """Identifies the download (the same request twice is one download)."""
        return f"{self.repo_id}|{self.quant or ''}|{self.filename or ''}"


@dataclass(frozen=True)
class PendingDownload:
    request: DownloadRequest
    paused: bool = False


def default_pending_file() -> Path:
    return app_paths().data_dir / FILE_NAME


class PendingDownloads:
    """The remembered downloads in the file at ``path`` (read on each call; small)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_pending_file()

    def items(self) -> list[PendingDownload]:
        """The remembered downloads, oldest first."""
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [PendingDownload(DownloadRequest(**item["request"]), bool(item["paused"]))
                    for item in raw]
        return []

    def remember(self, request: DownloadRequest, paused: bool = False) -> None:
        """Add (or update) a download."""
        items = [item for item in self.items() if item.request.key != request.key]
        items.append(PendingDownload(request, paused))
        self._write(items)

    def set_paused(self, request: DownloadRequest, paused: bool) -> None:
        self._write([replace(item, paused=paused) if item.request.key == request.key else item
                     for item in self.items()])

    def forget(self, request: DownloadRequest) -> None:
        """Remove a download (finished or cancelled)."""
        self._write([item for item in self.items() if item.request.key != request.key])

    def _write(self, items: list[PendingDownload]) -> None:
        with atomic_output(self.path) as partial:
            partial.write_text(json.dumps([{"request": asdict(item.request),
                                            "paused": item.paused} for item in items],
                                          indent=2), encoding="utf-8")

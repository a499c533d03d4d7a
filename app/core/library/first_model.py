"""Getting a first model into the library, as the setup wizard offers it: download a ready GGUF,
download the original checkpoint and build a quant from it, or import a file or a checkpoint
folder from disk (building from a folder). One job from the person's choice to one verified GGUF.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.hub.catalog import Catalog
from app.core.hub.client import HubConfig
from app.core.hub.download import plan_download, run_download
from app.core.library.model_library import ImportMode, Library, ModelEntry, ModelKind
from app.core.local_build.build_job import BuildPlan, plan_build, run_build
from foundation.jobs import CancelToken, ProgressCallback, ignore_progress

DEFAULT_BUILD_QUANT = "q4_k_m"


class Source(enum.Enum):
    """Where the model comes from."""

    OFFLINE_FILE = "offline"  # a model file found beside the app
    DOWNLOAD_GGUF = "download"
    DOWNLOAD_BUILD = "build"
    IMPORT = "import"


@dataclass(frozen=True)
class Choice:
    """What the person chose: where the model comes from (``path`` for a file or folder on this
    machine; ``repo_id`` for a download, None for the catalog's default) and the quant type to
    download or build. A ``quant`` of None downloads the type recommended for this machine and
    builds ``DEFAULT_BUILD_QUANT``; a GGUF file's type is what it is."""

    source: Source
    path: Path | None
    repo_id: str | None
    quant: str | None

    @property
    def builds(self) -> bool:
        """Whether getting this model ends with a build (a checkpoint, downloaded or a folder)."""
        return self.source is Source.DOWNLOAD_BUILD or (
            self.path is not None and self.path.is_dir())


def acquire(choice: Choice, library: Library, config: HubConfig, catalog: Catalog, *,
            cache_file: Path | None = None, on_progress: ProgressCallback = ignore_progress,
            cancel: CancelToken | None = None,
            on_build: Callable[[BuildPlan], None] = lambda _plan: None) -> ModelEntry:
    """Get the model of ``choice`` into ``library`` and return its GGUF's entry.

    Downloads (from ``config``'s hub; the hub's listing is remembered in ``cache_file`` when
    given) and imports copy into the library; a checkpoint, downloaded or imported, stays in the
    library and the chosen type is built from it, after ``on_build`` is told the plan. Progress
    goes to ``on_progress``, stage by stage. ``cancel`` stops at the next check and removes every
    partial file (download, copy, build); models completed before it (the checkpoint) stay.

    Raises JobCancelled, and the errors of ``plan_download``/``run_download``,
    ``Library.import_path`` and ``plan_build``/``run_build``.
    """
    if choice.source is Source.DOWNLOAD_GGUF:
        plan = plan_download(library, config, repo_id=choice.repo_id or catalog.default_gguf_repo,
                             quant=choice.quant, cache_file=cache_file)
        return run_download(plan, library, config, on_progress=on_progress, cancel=cancel,
                            discard_partial_on_cancel=True)
    if choice.source is Source.DOWNLOAD_BUILD:
        plan = plan_download(library, config, repo_id=choice.repo_id or catalog.checkpoint_repo,
                             build_quant=choice.quant or DEFAULT_BUILD_QUANT, cache_file=cache_file)
        checkpoint = run_download(plan, library, config, on_progress=on_progress, cancel=cancel,
                                  discard_partial_on_cancel=True)
    else:
        if choice.path is None:
            raise ValueError(f"a {choice.source.value} choice needs a path")
        checkpoint = library.import_path(choice.path, ImportMode.COPY, on_progress=on_progress,
                                         cancel=cancel)
        if checkpoint.kind is ModelKind.GGUF:
            return checkpoint
    build = plan_build(library, checkpoint.path, [choice.quant or DEFAULT_BUILD_QUANT],
                       model_name=checkpoint.name, source_model_id=checkpoint.id)
    on_build(build)
    return run_build(build, library, on_progress=on_progress, cancel=cancel).entries[0]

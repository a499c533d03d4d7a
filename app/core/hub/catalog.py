"""Where Fin-R1 lives on the hub, and which file of each repository holds which quant type.

The shipped catalog (``resources/catalog.toml``) names the repositories and their files before the
app has ever been online; ``refresh_repo`` replaces a repository's entry by the hub's real file
list (names, sizes, sha256), fetched by ``fetch_repo_entry``, and remembers it in a cache file, so
later offline starts know it too.
Besides Fin-R1's repositories (``Catalog.repos``) the catalog names draft models for speculative
decoding (``Catalog.drafts``, ``role = "draft"`` in the file: small models sharing Fin-R1's
vocabulary, whose GGUFs the catalog states sizes for), downloaded the same way.
Quant types are read from file names with the one quant-type table (``quant.formats``), so a
repository's naming style needs no code: ``q4_k`` is llama-quantize's alias of Q4_K_M, and a name
such as ``Fin-R1-bf16-q8_0.gguf`` is a Q8_0 file (its header's file type) whose output and
embeddings were kept at BF16. What a file name cannot say (an uploader who kept a Q4_K file's
output and embeddings at Q8_0) the shipped catalog may state per file; a hub listing keeps it.
"""

from __future__ import annotations

import contextlib
import enum
import json
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from app.core.errors import (
    CatalogError,
    HubError,
    HubUnreachableError,
    OfflineModeError,
    QuantNotAvailableError,
)
from app.core.hub.client import HubConfig, RepoSnapshot, fetch_repo_snapshot
from app.core.installation.resources import resource_path
from foundation.atomic import atomic_output
from foundation.errors import DiskFullError
from foundation.jobs import CancelToken
from quant.formats import QUANT_TYPES, QuantType, TensorMix, quant_type, tensor_type

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CATALOG_RESOURCE = "catalog.toml"
_CACHE_VERSION = 1
_QUANT_NAMES = {name for quant in QUANT_TYPES for name in (quant.name, *quant.aliases)}
_SPLIT_GGUF = re.compile(r"-\d{5}-of-\d{5}\.gguf$", re.IGNORECASE)
# What a checkpoint download takes: weights in safetensors, config and tokenizer files, licence
# and card. Pickled weights (*.bin, *.pt) duplicate the safetensors and are never fetched.
_CHECKPOINT_SUFFIXES = (".json", ".safetensors", ".txt", ".model", ".tiktoken", ".jinja", ".md")
_CHECKPOINT_NAMES = ("LICENSE", "LICENSE.txt", "NOTICE")


# What a repository is for: Fin-R1 itself, or a draft model for speculative decoding.
RepoRole = Literal["fin-r1", "draft"]
REPO_ROLES: tuple[RepoRole, ...] = ("fin-r1", "draft")


class RepoKind(enum.Enum):
    """What a repository holds: ready GGUF files, or the original checkpoint to build from."""

    GGUF = "gguf"
    CHECKPOINT = "checkpoint"


@dataclass(frozen=True)
class CatalogFile:
    """One downloadable file. ``from_hub`` False means name and size come from the shipped catalog
    (the size an estimate, no hash yet); True means the hub listed it with these values.
    ``quant_type`` is the file type its header states (None: not one of the table's);
    ``mix`` the types its output and embeddings were kept at instead, where known."""

    filename: str
    quant_type: QuantType | None
    size_bytes: int | None
    sha256: str | None = None
    git_blob_id: str | None = None
    from_hub: bool = False
    mix: TensorMix = field(default_factory=TensorMix)

    @property
    def label(self) -> str:
        """``Q8_0 (output & embeddings BF16)``, ``Q4_K_M``; "" for a type outside the table."""
        return self.mix.label(self.quant_type) if self.quant_type is not None else ""


@dataclass(frozen=True)
class CatalogRepo:
    """A repository and its files. ``commit`` and ``refreshed_at`` are set once refreshed;
    ``title`` is English, ``title_zh`` its Chinese version ("" when there is none); ``role``:
    ``fin-r1`` or ``draft`` (a draft model for speculative decoding)."""

    repo_id: str
    kind: RepoKind
    title: str
    files: tuple[CatalogFile, ...]
    commit: str | None = None
    refreshed_at: float | None = None
    title_zh: str = ""
    role: RepoRole = "fin-r1"

    def title_in(self, language: str) -> str:
        """The title in ``language`` ("zh" or "en"), English when there is no translation."""
        return self.title_zh if language == "zh" and self.title_zh else self.title

    @property
    def quant_types(self) -> tuple[QuantType, ...]:
        """The quant types offered, in the table's order."""
        offered = {file.quant_type.name for file in self.files if file.quant_type is not None}
        return tuple(quant for quant in QUANT_TYPES if quant.name in offered)

    @property
    def total_bytes(self) -> int:
        """Sum of the known file sizes."""
        return sum(file.size_bytes or 0 for file in self.files)

    def quant_file(self, quant: QuantType | str) -> CatalogFile:
        """The file holding ``quant``, one without a mix of output and embedding types where
        there is one; QuantNotAvailableError lists what the repository offers."""
        wanted = quant if isinstance(quant, QuantType) else quant_type(quant)
        holding = [catalog_file for catalog_file in self.files if catalog_file.quant_type == wanted]
        if holding:
            return min(holding, key=lambda catalog_file: bool(catalog_file.mix))
        offered = ", ".join(q.label for q in self.quant_types) or "no recognised quant types"
        raise QuantNotAvailableError(
            f"{self.repo_id} has no {wanted.label} file (it offers {offered}); choose one of "
            "those with --quant, another repository, or name a file with --file"
        )


@dataclass(frozen=True)
class Catalog:
    """All known repositories, and which to use by default: Fin-R1's in ``repos``, draft models
    for speculative decoding in ``drafts``."""

    repos: tuple[CatalogRepo, ...]
    default_gguf_repo: str
    checkpoint_repo: str
    drafts: tuple[CatalogRepo, ...] = ()

    def repo(self, repo_id: str) -> CatalogRepo | None:
        """The entry of ``repo_id`` among Fin-R1's repositories and the draft models."""
        return next((repo for repo in (*self.repos, *self.drafts) if repo.repo_id == repo_id),
                    None)

    def with_repo(self, updated: CatalogRepo) -> Catalog:
        """This catalog with ``updated`` replacing (or added as) the entry of its repository,
        among the drafts when its role is ``draft``."""
        if updated.role == "draft":
            return replace(self, drafts=_replaced(self.drafts, updated))
        return replace(self, repos=_replaced(self.repos, updated))


def _replaced(repos: tuple[CatalogRepo, ...], updated: CatalogRepo) -> tuple[CatalogRepo, ...]:
    others = tuple(repo for repo in repos if repo.repo_id != updated.repo_id)
    position = next((index for index, repo in enumerate(repos)
                     if repo.repo_id == updated.repo_id), len(others))
    return (*others[:position], updated, *others[position:])


def quant_type_in_filename(filename: str) -> QuantType | None:
    """The quant type a GGUF file name states, or None (see ``quant_in_filename``)."""
    return quant_in_filename(filename)[0]


def quant_in_filename(filename: str) -> tuple[QuantType | None, TensorMix]:
    """The quant type a GGUF file name states (None if none), and the mix it states.

    The name is cut at dots and dashes (not underscores, which are part of ``q4_k_m``), and a part
    must equal a type's id or alias, case-insensitively: ``Fin-R1.Q4_K_M.gguf``,
    ``Fin-R1.i1-IQ3_M.gguf``, ``fin-r1-q8_0.gguf`` and ``Fin-R1-q4_k.gguf`` (llama-quantize's alias
    of Q4_K_M) are recognised, ``Fin-R1-q6_k_m.gguf`` is not. A 16/32-bit type right before a
    quantized one names what output and embeddings were kept at: ``Fin-R1-bf16-q8_0.gguf`` is
    Q8_0 with output & embeddings BF16.
    """
    stem = PurePosixPath(filename).name
    if stem.lower().endswith(".gguf"):
        stem = stem[:-len(".gguf")]
    found = [quant_type(part) for part in re.split(r"[.\-]", stem.lower()) if part in _QUANT_NAMES]
    if not found:
        return None, TensorMix()
    named = found[-1]
    if len(found) >= 2 and found[-2].bits_per_weight >= 16 > named.bits_per_weight:
        kept = tensor_type(found[-2].name)
        return named, TensorMix(output=kept, embeddings=kept)
    return named, TensorMix()


def is_checkpoint_file(path: str) -> bool:
    """Whether a checkpoint download takes ``path`` (top-level weights, config, tokenizer…)."""
    if "/" in path:
        return False
    return path.endswith(_CHECKPOINT_SUFFIXES) or path in _CHECKPOINT_NAMES


def repo_kind_of(snapshot: RepoSnapshot) -> RepoKind:
    """GGUF when the repository holds a .gguf file, else CHECKPOINT."""
    if any(file.path.lower().endswith(".gguf") for file in snapshot.files):
        return RepoKind.GGUF
    return RepoKind.CHECKPOINT


def repo_from_snapshot(snapshot: RepoSnapshot, kind: RepoKind | None = None,
                       title: str = "") -> CatalogRepo:
    """A catalog entry from the hub's file list: every single-file GGUF (for a GGUF repository)
    or every file a checkpoint download takes."""
    kind = kind or repo_kind_of(snapshot)
    if kind is RepoKind.GGUF:
        chosen = [file for file in snapshot.files if file.path.lower().endswith(".gguf")
                  and not _SPLIT_GGUF.search(file.path)
                  and not PurePosixPath(file.path).name.lower().startswith(("mmproj", "imatrix"))]
    else:
        chosen = [file for file in snapshot.files if is_checkpoint_file(file.path)]
    files = tuple(
        _listed_file(file.path, kind, file.size, file.sha256, file.git_blob_id)
        for file in sorted(chosen, key=lambda file: file.path)
    )
    return CatalogRepo(snapshot.repo_id, kind, title, files, snapshot.commit, time.time())


def _listed_file(filename: str, kind: RepoKind, size_bytes: int | None, sha256: str | None,
                 git_blob_id: str | None) -> CatalogFile:
    """A file as the hub lists it; a GGUF's type and mix read from its name."""
    quant, mix = quant_in_filename(filename) if kind is RepoKind.GGUF else (None, TensorMix())
    return CatalogFile(filename, quant, size_bytes, sha256, git_blob_id, from_hub=True, mix=mix)


def _with_known_mixes(listed: CatalogRepo, known: CatalogRepo | None) -> CatalogRepo:
    """``listed`` (a hub listing) with the mixes ``known`` (the shipped entry) states for files
    of the same name and type that their names do not reveal."""
    if known is None:
        return listed
    known_files = {file.filename: file for file in known.files}
    files = []
    for file in listed.files:
        shipped = known_files.get(file.filename)
        if shipped is not None and shipped.mix and not file.mix \
                and shipped.quant_type == file.quant_type:
            file = replace(file, mix=shipped.mix)
        files.append(file)
    return replace(listed, files=tuple(files))


def load_catalog(cache_file: Path | None = None) -> Catalog:
    """The shipped catalog, with each repository replaced by its cached hub listing when
    ``cache_file`` holds one. Makes no network call. Raises CatalogError when the shipped catalog
    is malformed; an unreadable cache is ignored (it is only a cache)."""
    catalog = _shipped_catalog(resource_path(CATALOG_RESOURCE))
    for cached in _read_cache(cache_file):
        shipped = catalog.repo(cached.repo_id)
        if shipped is not None:
            cached = replace(_with_known_mixes(cached, shipped), title=shipped.title,
                             title_zh=shipped.title_zh, role=shipped.role)
        catalog = catalog.with_repo(cached)
    return catalog


def refresh_repo(catalog: Catalog, repo_id: str, config: HubConfig, *,
                 cache_file: Path | None = None, revision: str = "main",
                 explicit: bool = False) -> Catalog:
    """The catalog with ``repo_id``'s entry replaced by the hub's listing (``fetch_repo_entry``,
    whose arguments and errors these are)."""
    return catalog.with_repo(fetch_repo_entry(catalog, repo_id, config, cache_file=cache_file,
                                              revision=revision, explicit=explicit))


def fetch_repo_entry(catalog: Catalog, repo_id: str, config: HubConfig, *,
                     cache_file: Path | None = None, revision: str = "main",
                     explicit: bool = False) -> CatalogRepo:
    """``repo_id``'s entry as the hub lists it at ``revision`` (one request): its files with sizes
    and hashes, ``commit`` and ``refreshed_at`` set, and the kind and titles the catalog knows.
    The listing is saved to ``cache_file`` when given.

    Honours offline mode (``explicit`` as in ``HubConfig.require_network``); raises the HubError
    subclasses of ``fetch_repo_snapshot``.
    """
    snapshot = fetch_repo_snapshot(config, repo_id, revision, explicit=explicit)
    known = catalog.repo(repo_id)
    updated = repo_from_snapshot(snapshot, known.kind if known else None,
                                 known.title if known else "")
    if known is not None:
        updated = replace(_with_known_mixes(updated, known), title_zh=known.title_zh,
                          role=known.role)
    if cache_file is not None:
        remember_repo(cache_file, updated)
    return updated


def refresh_quietly(catalog: Catalog, config: HubConfig, repo_ids: list[str] | None = None, *,
                    cache_file: Path | None = None, cancel: CancelToken | None = None) -> Catalog:
    """Refresh the repositories (default: all known) if the app may use the network on its own,
    for a start-up or a model-manager view: in offline mode nothing is asked and the catalog is
    returned as it is; a repository the hub cannot answer for keeps its current entry.

    Stops at the first "hub unreachable" (each further repository would only wait for the same
    timeout, up to ``METADATA_TIMEOUT_S``, e.g. behind a firewall that drops packets) and before
    the next repository once ``cancel`` is set (closing the app waits for this job)."""
    if config.offline:
        return catalog
    for repo_id in repo_ids if repo_ids is not None else [repo.repo_id for repo in catalog.repos]:
        if cancel is not None and cancel.cancelled:
            break
        try:
            catalog = refresh_repo(catalog, repo_id, config, cache_file=cache_file)
        except HubUnreachableError:
            break
        except (HubError, OfflineModeError):
            continue
    return catalog


def _shipped_catalog(path: Path) -> Catalog:
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise CatalogError(f"cannot read the hub catalog {path}: {error.strerror or error}; "
                           "reinstall the app") from error
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"the hub catalog {path} is not valid TOML: {error}") from error
    try:
        repos = tuple(_shipped_repo(entry) for entry in document["repos"])
        return Catalog(tuple(repo for repo in repos if repo.role != "draft"),
                       str(document["default_gguf_repo"]), str(document["checkpoint_repo"]),
                       tuple(repo for repo in repos if repo.role == "draft"))
    except (KeyError, TypeError, ValueError) as error:
        raise CatalogError(f"the hub catalog {path} is malformed: {error!r}") from error


def _shipped_repo(entry: dict[str, Any]) -> CatalogRepo:
    kind = RepoKind(entry["kind"])
    role = str(entry.get("role", "fin-r1"))
    if role not in REPO_ROLES:
        raise ValueError(f"role must be one of {', '.join(REPO_ROLES)}, not {role!r}")
    if kind is RepoKind.GGUF and "files" in entry:
        files = tuple(_shipped_gguf(item) for item in entry["files"])
    elif kind is RepoKind.GGUF:
        template = str(entry["file_template"])
        files = tuple(
            CatalogFile(
                filename=template.format(LABEL=quant.label, name=quant.name),
                quant_type=quant,
                size_bytes=quant.fin_r1_bytes(),
            )
            for quant in (quant_type(name) for name in entry["quant_types"])
        )
    else:
        files = tuple(
            CatalogFile(
                filename=str(item["name"]), quant_type=None,
                size_bytes=round(float(item["size_gb"]) * 1e9) if "size_gb" in item else None,
            )
            for item in entry["files"]
        )
    return CatalogRepo(str(entry["id"]), kind, str(entry.get("title", "")), files,
                       title_zh=str(entry.get("title_zh", "")), role=role)


def _shipped_gguf(item: dict[str, Any]) -> CatalogFile:
    """A GGUF the shipped catalog lists by name: its type and mix as the name says, unless the
    entry states them (``quant``, ``output``, ``embeddings``); its size the entry's ``size_gb``
    (a model other than Fin-R1), else estimated from them for Fin-R1."""
    filename = str(item["name"])
    quant, mix = quant_in_filename(filename)
    if "quant" in item:
        quant = quant_type(str(item["quant"]))
    if "output" in item or "embeddings" in item:
        mix = TensorMix(
            output=tensor_type(str(item["output"])) if "output" in item else None,
            embeddings=tensor_type(str(item["embeddings"])) if "embeddings" in item else None,
        )
    if "size_gb" in item:
        size_bytes: int | None = round(float(item["size_gb"]) * 1e9)
    else:
        size_bytes = quant.fin_r1_bytes(mix) if quant is not None else None
    return CatalogFile(filename, quant, size_bytes, mix=mix)


def _read_cache(cache_file: Path | None) -> list[CatalogRepo]:
    if cache_file is None:
        return []
    try:
        document = json.loads(cache_file.read_text(encoding="utf-8"))
        if document.get("version") != _CACHE_VERSION:
            return []
        return [_cached_repo(repo_id, entry) for repo_id, entry in document["repos"].items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _cached_repo(repo_id: str, entry: dict[str, Any]) -> CatalogRepo:
    kind = RepoKind(entry["kind"])
    files = tuple(
        _listed_file(str(item["filename"]), kind, item.get("size_bytes"), item.get("sha256"),
                     item.get("git_blob_id"))
        for item in entry["files"]
    )
    return CatalogRepo(repo_id, kind, str(entry.get("title", "")), files, entry.get("commit"),
                       entry.get("refreshed_at"))


def remember_repo(cache_file: Path, repo: CatalogRepo) -> None:
    """Merge a refreshed ``repo`` into the cache file (atomically), for later offline starts; a
    cache that cannot be written is skipped, since the catalog works without it."""
    document: dict[str, Any] = {"version": _CACHE_VERSION, "repos": {}}
    with contextlib.suppress(OSError, ValueError):
        existing = json.loads(cache_file.read_text(encoding="utf-8"))
        if existing.get("version") == _CACHE_VERSION and isinstance(existing.get("repos"), dict):
            document = existing
    document["repos"][repo.repo_id] = {
        "kind": repo.kind.value,
        "title": repo.title,
        "commit": repo.commit,
        "refreshed_at": repo.refreshed_at,
        "files": [
            {"filename": file.filename, "size_bytes": file.size_bytes, "sha256": file.sha256,
             "git_blob_id": file.git_blob_id}
            for file in repo.files
        ],
    }
    with contextlib.suppress(OSError, DiskFullError), atomic_output(cache_file) as temp_path:
        temp_path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")

"""How the app reaches the model hub: endpoint, token, offline mode, and the metadata it asks for.

Everything that talks to the hub goes through huggingface_hub, so its proxy handling (the usual
``HTTPS_PROXY``/``NO_PROXY`` variables), headers and token lookup apply; this module adds the app's
rules on top:

- **Endpoint**: the ``--endpoint`` flag, else ``HF_ENDPOINT``, else the endpoint setting, else
  ``https://huggingface.co``. Point it at a mirror (e.g. ``https://hf-mirror.com``) where the hub
  itself is blocked.
- **Token** (gated or private repositories): the ``--token`` flag, else the token setting, else
  huggingface_hub's own lookup (``HF_TOKEN``, a stored ``hf auth login``).
- **Offline mode** (``FINR1_OFFLINE=1``, ``HF_HUB_OFFLINE=1`` or the setting): the app makes no
  network call on its own (no catalog refresh, no look-ups). A download the person asks for is the
  one exception (``explicit=True``; a dry run, which only plans, is not), except under
  ``HF_HUB_OFFLINE``, huggingface_hub's own switch, which blocks every hub request of the
  process: it must be unset to download.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import httpx2
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers

from app.core.errors import (
    HubAccessError,
    HubError,
    HubFileNotFoundError,
    HubRepoNotFoundError,
    HubUnreachableError,
    OfflineModeError,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
MIRROR_HINT = "a mirror can be set with --endpoint or HF_ENDPOINT, e.g. https://hf-mirror.com"
APP_OFFLINE_ENV_VAR = "FINR1_OFFLINE"
HF_OFFLINE_ENV_VAR = "HF_HUB_OFFLINE"
METADATA_TIMEOUT_S = 30.0
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def _env_true(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in _TRUE_WORDS


def offline_mode(setting: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """True when the app must not use the network on its own (see the module docstring)."""
    environ = os.environ if environ is None else environ
    return (setting or _env_true(environ, APP_OFFLINE_ENV_VAR)
            or _env_true(environ, HF_OFFLINE_ENV_VAR))


def network_blocked(environ: Mapping[str, str] | None = None) -> bool:
    """True under ``HF_HUB_OFFLINE``, which blocks every hub request of the process, even one the
    person asked for."""
    return _env_true(os.environ if environ is None else environ, HF_OFFLINE_ENV_VAR)


@dataclass(frozen=True)
class HubConfig:
    """Where and how to reach the hub. ``token`` None means huggingface_hub's own lookup."""

    endpoint: str = DEFAULT_ENDPOINT
    token: str | None = None
    offline: bool = False

    @classmethod
    def resolve(cls, endpoint: str | None = None, token: str | None = None, *,
                setting_endpoint: str | None = None, setting_token: str | None = None,
                setting_offline: bool = False,
                environ: Mapping[str, str] | None = None) -> HubConfig:
        """Combine flags, environment and settings by the precedence in the module docstring."""
        environ = os.environ if environ is None else environ
        chosen = next((value.strip() for value in
                       (endpoint, environ.get("HF_ENDPOINT"), setting_endpoint)
                       if value and value.strip()), DEFAULT_ENDPOINT)
        chosen_token = next((value.strip() for value in (token, setting_token)
                             if value and value.strip()), None)
        return cls(chosen.rstrip("/"), chosen_token, offline_mode(setting_offline, environ))

    def require_network(self, action: str, *, explicit: bool,
                        environ: Mapping[str, str] | None = None) -> None:
        """Raise OfflineModeError unless ``action`` may use the network now.

        ``explicit`` says the person asked for this very action (a download); it lifts the app's
        offline mode but not huggingface_hub's ``HF_HUB_OFFLINE``.
        """
        if network_blocked(environ):
            raise OfflineModeError(
                f"cannot {action}: HF_HUB_OFFLINE is set, which blocks every hub request; unset it "
                "to download (FINR1_OFFLINE alone still allows downloads you ask for)"
            )
        if self.offline and not explicit:
            raise OfflineModeError(
                f"cannot {action}: offline mode is on (the setting or FINR1_OFFLINE); the app "
                "makes no network calls until it is turned off or you start a download"
            )

    def api(self) -> HfApi:
        return HfApi(endpoint=self.endpoint, token=self.token)

    def headers(self) -> dict[str, str]:
        """The request headers huggingface_hub would send (user agent, token)."""
        return build_hf_headers(token=self.token)

    def file_url(self, repo_id: str, filename: str, revision: str) -> str:
        """The ``resolve`` URL of one file at ``revision`` (a commit hash for a stable download)."""
        return hf_hub_url(repo_id, filename, revision=revision, endpoint=self.endpoint)


@dataclass(frozen=True)
class RemoteFile:
    """One file of a hub repository. ``sha256`` is the LFS hash (large files); small files stored
    in git have only ``git_blob_id`` (the git SHA-1 of the blob)."""

    path: str
    size: int | None
    sha256: str | None
    git_blob_id: str | None


@dataclass(frozen=True)
class RepoSnapshot:
    """A repository's file list at one commit."""

    repo_id: str
    commit: str
    files: tuple[RemoteFile, ...]


def fetch_repo_snapshot(config: HubConfig, repo_id: str, revision: str = "main", *,
                        explicit: bool) -> RepoSnapshot:
    """The file list of ``repo_id`` at ``revision`` with sizes and hashes (one hub request:
    ``GET /api/models/{repo}/revision/{rev}?blobs=True``).

    Raises OfflineModeError (see ``HubConfig.require_network``), HubRepoNotFoundError,
    HubAccessError, HubUnreachableError or HubError.
    """
    config.require_network(f"list the files of {repo_id}", explicit=explicit)
    with translate_hub_errors(config, repo_id):
        info = config.api().model_info(repo_id, revision=revision, files_metadata=True,
                                       timeout=METADATA_TIMEOUT_S)
    if not info.sha:
        raise HubError(f"the hub at {config.endpoint} did not say which commit {repo_id} is at")
    files = tuple(
        RemoteFile(
            path=sibling.rfilename,
            size=sibling.lfs.size if sibling.lfs else sibling.size,
            sha256=sibling.lfs.sha256.lower() if sibling.lfs else None,
            git_blob_id=sibling.blob_id,
        )
        for sibling in info.siblings or ()
    )
    return RepoSnapshot(repo_id, info.sha, files)


@contextlib.contextmanager
def translate_hub_errors(config: HubConfig, repo_id: str) -> Iterator[None]:
    """Turn huggingface_hub's and the HTTP client's exceptions into the app's HubError classes."""
    try:
        yield
    except GatedRepoError as error:
        raise HubAccessError(
            f"{repo_id} is gated: accept its terms on the hub, then pass a token (--token, the "
            "token setting or HF_TOKEN)"
        ) from error
    except RevisionNotFoundError as error:
        raise HubRepoNotFoundError(f"{repo_id} has no such revision: {error}") from error
    except RepositoryNotFoundError as error:
        raise HubRepoNotFoundError(
            f"{repo_id} was not found at {config.endpoint}: check the name; a private "
            "repository also needs a token"
        ) from error
    except RemoteEntryNotFoundError as error:
        raise HubFileNotFoundError(f"{repo_id}: {error}") from error
    except OfflineModeIsEnabled as error:
        raise OfflineModeError(
            "HF_HUB_OFFLINE is set, which blocks every hub request; unset it to download"
        ) from error
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status in (401, 403):
            raise HubAccessError(
                f"the hub refused access to {repo_id} (HTTP {status}); pass a valid token"
            ) from error
        raise HubError(f"the hub at {config.endpoint} answered an error for {repo_id}: {error}"
                       ) from error
    except httpx2.TransportError as error:
        raise HubUnreachableError(
            f"cannot reach {config.endpoint} ({type(error).__name__}: {error}); check the network "
            f"or proxy; {MIRROR_HINT}"
        ) from error

"""The catalog's draft models for speculative decoding: listed apart from Fin-R1's repositories,
with sizes of their own, kept apart through a hub refresh and an offline start, downloaded the
same way as Fin-R1's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.hub.catalog import RepoKind, fetch_repo_entry, load_catalog, refresh_repo
from app.core.hub.client import HubConfig
from app.core.hub.download import plan_download, run_download
from app.core.library.model_library import Library
from tests.support.local_hub import LocalHub

DRAFT_REPO = "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
DRAFT_FILE = "qwen2.5-0.5b-instruct-q8_0.gguf"


def test_the_catalog_offers_qwen25_05b_as_a_draft_model_apart_from_fin_r1s_repositories() -> None:
    catalog = load_catalog()
    draft = catalog.repo(DRAFT_REPO)
    assert draft is not None and draft.role == "draft" and draft.kind is RepoKind.GGUF
    assert [repo.repo_id for repo in catalog.drafts] == [DRAFT_REPO]
    assert DRAFT_REPO not in {repo.repo_id for repo in catalog.repos}
    assert all(repo.role == "fin-r1" for repo in catalog.repos)
    entry = draft.quant_file("q8_0")
    assert entry.filename == DRAFT_FILE
    assert entry.size_bytes == pytest.approx(0.5e9, rel=0.1)  # its own size, not Fin-R1's
    assert draft.title and draft.title_zh


def test_a_refreshed_draft_repository_stays_a_draft_online_and_offline(
        local_hub: LocalHub, tmp_path: Path) -> None:
    local_hub.add_repo(DRAFT_REPO, {DRAFT_FILE: b"GGUF", "README.md": b"card"})
    cache = tmp_path / "catalog-cache.json"
    config = HubConfig(endpoint=local_hub.endpoint)
    refreshed = refresh_repo(load_catalog(), DRAFT_REPO, config, cache_file=cache)
    listed = refreshed.repo(DRAFT_REPO)
    assert listed is not None and listed.role == "draft" and listed.files[0].from_hub
    assert [repo.repo_id for repo in refreshed.drafts] == [DRAFT_REPO]
    assert DRAFT_REPO not in {repo.repo_id for repo in refreshed.repos}
    remembered = load_catalog(cache)
    assert [repo.repo_id for repo in remembered.drafts] == [DRAFT_REPO]
    assert remembered.drafts[0].commit == listed.commit
    assert fetch_repo_entry(load_catalog(), DRAFT_REPO, config).role == "draft"


def test_a_draft_model_downloads_into_the_library_like_fin_r1(
        local_hub: LocalHub, library: Library, tiny_bf16_gguf: Path) -> None:
    local_hub.add_repo(DRAFT_REPO, {DRAFT_FILE: tiny_bf16_gguf.read_bytes()})
    config = HubConfig(endpoint=local_hub.endpoint)
    plan = plan_download(library, config, repo_id=DRAFT_REPO, quant="q8_0")
    entry = run_download(plan, library, config)
    assert entry.path.name == DRAFT_FILE and entry.path.is_file()

"""Downloads from a stand-in hub (tests/support/local_hub.py) into the library: progress, resume after a
dropped connection or a killed process, hash checks, cancel, retries, disk space, checkpoints,
gated repositories, and offline mode."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.errors import (
    ChecksumMismatchError,
    DownloadInProgressError,
    DownloadInterruptedError,
    HubAccessError,
    HubRepoNotFoundError,
    HubUnreachableError,
    NotEnoughDiskSpaceError,
    OfflineModeError,
    QuantNotAvailableError,
)
from app.core.hardware.machine import MachineInfo
from app.core.hub.catalog import load_catalog, refresh_quietly, refresh_repo
from app.core.hub.client import DEFAULT_ENDPOINT, HubConfig
from app.core.hub.download import plan_download, run_download
from app.core.hub.http_transfer import RetryPolicy
from app.core.library.model_library import Library, ModelKind, ModelStatus
from foundation.jobs import CancelToken, JobCancelled, Progress
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.local_hub import Fault, LocalHub

GGUF_REPO = "mradermacher/Fin-R1-GGUF"
CHECKPOINT_REPO = "SUFE-AIFLM-Lab/Fin-R1"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)
NO_RETRY = RetryPolicy(max_attempts=1)

_connections: list[object] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "socket.connect" and _connections is not None:
        _connections.append(args[1])


sys.addaudithook(_audit)


@contextlib.contextmanager
def recorded_connections() -> Iterator[list[object]]:
    """Every socket.connect this process makes inside the block (Python's audit events)."""
    global _connections
    _connections = []
    try:
        yield _connections
    finally:
        _connections = None


@pytest.fixture(scope="session")
def gguf_repo_files(tiny_gguf_factory: Callable[..., Path],
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Fin-R1-GGUF-like files: real tiny GGUFs named as mradermacher names Fin-R1's."""
    from quant.quantize import quantize_gguf

    q4_k_m = quantize_gguf(tiny_gguf_factory("bf16"),
                           tmp_path_factory.mktemp("quantized") / "tiny-q4_k_m.gguf", "q4_k_m")
    return {
        "Fin-R1.BF16.gguf": tiny_gguf_factory("bf16").read_bytes(),
        "Fin-R1.Q8_0.gguf": tiny_gguf_factory("q8_0").read_bytes(),
        "Fin-R1.Q4_K_M.gguf": Path(q4_k_m).read_bytes(),
        "README.md": b"# Fin-R1 GGUF\n",
        ".gitattributes": b"*.gguf filter=lfs diff=lfs merge=lfs -text\n",
    }


@pytest.fixture(scope="session")
def checkpoint_repo_files(tiny_checkpoint_factory: Callable[..., Path]) -> dict[str, bytes]:
    folder = tiny_checkpoint_factory(shards=2)
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    files["README.md"] = b"# Fin-R1\n"
    files["pytorch_model.bin"] = b"pickled duplicate weights, never fetched"
    return files


@pytest.fixture
def hub(local_hub: LocalHub, gguf_repo_files: dict[str, bytes],
        checkpoint_repo_files: dict[str, bytes]) -> LocalHub:
    local_hub.add_repo(GGUF_REPO, gguf_repo_files)
    local_hub.add_repo(CHECKPOINT_REPO, checkpoint_repo_files)
    return local_hub


@pytest.fixture
def config(hub: LocalHub) -> HubConfig:
    return HubConfig(endpoint=hub.endpoint)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def content_gets(hub: LocalHub, filename: str) -> list[tuple[str | None, int]]:
    """(Range header, body bytes sent) of each GET that carried ``filename``'s bytes."""
    return [(record.range, record.bytes_sent) for record in hub.content_gets(filename)
            if record.server == "cdn" or record.status in (200, 206)]


def library_files(library: Library) -> list[Path]:
    models = library.root / "models"
    return sorted(path for path in models.rglob("*") if path.is_file()) if models.exists() else []


def machine_with(ram_gb: float) -> MachineInfo:
    return MachineInfo("Linux", "x86_64", "test CPU", 8, 8, 4, "AVX2", ("avx2",),
                       int(ram_gb * 1e9), int(ram_gb * 1e9), (), False, "0.3.36")


# -- the usual path -----------------------------------------------------------------------------

def test_download_reports_progress_and_enters_the_library_verified(
        hub: LocalHub, config: HubConfig, library: Library,
        gguf_repo_files: dict[str, bytes]) -> None:
    content = gguf_repo_files["Fin-R1.Q8_0.gguf"]
    events: list[Progress] = []
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0")
    assert plan.files[0].sha256 == sha256(content)
    entry = run_download(plan, library, config, on_progress=events.append)
    assert entry.status is ModelStatus.OK and entry.quant_label == "Q8_0"
    assert entry.sha256 == sha256(content) and entry.path.read_bytes() == content
    assert entry.source["repo"] == GGUF_REPO and entry.source["revision"] == plan.commit
    assert {event.stage for event in events} == {"download"}
    assert [event.done for event in events] == sorted(event.done for event in events)
    assert events[-1].done == events[-1].total == len(content)
    assert not list(library.downloads_dir.rglob("*.part")), "no partial is left behind"


def test_default_download_is_the_quant_recommended_for_the_machine(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    plan = plan_download(library, config, repo_id=GGUF_REPO, machine=machine_with(32))
    assert plan.name == "Fin-R1.Q4_K_M.gguf"
    with pytest.raises(QuantNotAvailableError, match="fits"):
        plan_download(library, config, repo_id=GGUF_REPO, machine=machine_with(0.5))


def test_a_quant_the_repository_lacks_is_refused_listing_what_it_has(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    with pytest.raises(QuantNotAvailableError, match=r"no IQ3_XS file.*BF16, Q8_0, Q4_K_M"):
        plan_download(library, config, repo_id=GGUF_REPO, quant="iq3_xs")


def test_a_model_already_in_the_library_is_not_fetched_again(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    first = run_download(plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0"),
                         library, config)
    hub.clear_log()
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0")
    assert plan.existing is not None and "already in the library" in plan.describe()
    assert run_download(plan, library, config).id == first.id
    assert content_gets(hub, "Fin-R1.Q8_0.gguf") == []


def test_a_plan_keeps_what_the_catalog_knows_about_the_repository(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    shipped = load_catalog().repo(GGUF_REPO)
    assert shipped is not None and shipped.title_zh
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0")
    assert (plan.repo.title, plan.repo.title_zh) == (shipped.title, shipped.title_zh)
    assert plan.repo.commit == plan.commit == hub.repo(GGUF_REPO).commit
    assert plan.repo.quant_file("q8_0").from_hub


def test_a_plan_asks_the_hub_for_the_file_list_once(
        hub: LocalHub, config: HubConfig, library: Library, tmp_path: Path) -> None:
    hub.clear_log()
    plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0",
                  cache_file=tmp_path / "catalog-cache.json")
    listings = [record for record in hub.log if record.path.startswith("/api/models/")]
    assert len(listings) == 1


def test_unknown_repository_is_reported_clearly(hub: LocalHub, config: HubConfig,
                                                library: Library) -> None:
    with pytest.raises(HubRepoNotFoundError, match="nobody/Fin-R1-GGUF was not found"):
        plan_download(library, config, repo_id="nobody/Fin-R1-GGUF", quant="q8_0")


# -- interruptions ------------------------------------------------------------------------------

def test_connection_dropped_half_way_is_resumed_from_where_it_stopped(
        hub: LocalHub, config: HubConfig, library: Library,
        gguf_repo_files: dict[str, bytes]) -> None:
    size = len(gguf_repo_files["Fin-R1.BF16.gguf"])
    hub.inject("Fin-R1.BF16.gguf", Fault(drop_after_bytes=size // 2))
    entry = run_download(plan_download(library, config, repo_id=GGUF_REPO, quant="bf16"),
                         library, config, retry=FAST_RETRY)
    assert entry.status is ModelStatus.OK
    gets = content_gets(hub, "Fin-R1.BF16.gguf")
    assert gets == [(None, size // 2), (f"bytes={size // 2}-", size - size // 2)]
    assert sum(sent for _, sent in gets) == size


def test_a_failed_download_resumes_on_the_next_attempt(
        hub: LocalHub, config: HubConfig, library: Library,
        gguf_repo_files: dict[str, bytes]) -> None:
    size = len(gguf_repo_files["Fin-R1.BF16.gguf"])
    dropped_at = 1_000_000
    hub.inject("Fin-R1.BF16.gguf", Fault(drop_after_bytes=dropped_at))
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="bf16")
    with pytest.raises(DownloadInterruptedError, match="resumes"):
        run_download(plan, library, config, retry=NO_RETRY)
    assert library.models() == [] and library_files(library) == []
    retry_plan = plan_download(library, config, repo_id=GGUF_REPO, quant="bf16")
    assert retry_plan.resumable_bytes == dropped_at
    assert "resuming" in retry_plan.describe()
    entry = run_download(retry_plan, library, config, retry=NO_RETRY)
    assert entry.sha256 == sha256(gguf_repo_files["Fin-R1.BF16.gguf"])
    gets = content_gets(hub, "Fin-R1.BF16.gguf")
    assert gets[-1] == (f"bytes={dropped_at}-", size - dropped_at)
    assert sum(sent for _, sent in gets) == size


def test_a_killed_download_process_resumes_in_a_new_process(
        hub: LocalHub, tmp_path: Path, gguf_repo_files: dict[str, bytes]) -> None:
    size = len(gguf_repo_files["Fin-R1.BF16.gguf"])
    library_dir = tmp_path / "library"
    command = finr1_command("download", GGUF_REPO, "--quant", "bf16", "--endpoint", hub.endpoint,
                            "--library", str(library_dir))
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "FINR1_HOME": str(tmp_path)}
    partial = library_dir / "downloads" / "mradermacher--Fin-R1-GGUF" / "Fin-R1.BF16.gguf.part"
    hub.throttle(600_000)
    first = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while (not partial.exists() or partial.stat().st_size < 700_000) \
            and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    kept = partial.stat().st_size
    assert 0 < kept < size
    served_before_kill = sum(sent for _, sent in content_gets(hub, "Fin-R1.BF16.gguf"))
    hub.throttle(None)
    hub.clear_log()
    second = subprocess.run(command, env=environment, capture_output=True, text=True,
                            timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    assert content_gets(hub, "Fin-R1.BF16.gguf") == [(f"bytes={kept}-", size - kept)]
    assert served_before_kill + size - kept < 1.5 * size, "the second process did not start over"
    with Library(library_dir) as library:
        (entry,) = library.models()
    assert entry.status is ModelStatus.OK
    assert entry.sha256 == sha256(gguf_repo_files["Fin-R1.BF16.gguf"])


def test_transient_server_errors_are_retried_with_backoff(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    hub.inject("Fin-R1.Q8_0.gguf", Fault(status=503, times=2))
    entry = run_download(plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0"),
                         library, config, retry=FAST_RETRY)
    assert entry.status is ModelStatus.OK
    assert len(content_gets(hub, "Fin-R1.Q8_0.gguf")) == 3


def test_retries_stop_at_the_policy_limit_and_keep_the_partial(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    hub.inject("Fin-R1.Q8_0.gguf", Fault(status=503, times=50))
    with pytest.raises(DownloadInterruptedError,
                       match=r"failed 4 times in a row \(the server answered HTTP 503\)"):
        run_download(plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0"),
                     library, config, retry=FAST_RETRY)
    assert len(content_gets(hub, "Fin-R1.Q8_0.gguf")) == 4
    assert library.models() == []


def test_another_process_downloading_the_same_file_is_not_disturbed(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0")
    lock_path = plan.staging_dir / "Fin-R1.Q8_0.gguf.part.lock"
    plan.staging_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time, filelock
            with filelock.FileLock({str(lock_path)!r}):
                print("held", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DownloadInProgressError, match="another Fin-R1 Studio process"):
            run_download(plan, library, config)
    finally:
        holder.kill()
        holder.wait()
    assert content_gets(hub, "Fin-R1.Q8_0.gguf") == []


# -- verification, cancel, disk space -----------------------------------------------------------

def test_bytes_that_do_not_match_the_hub_hash_are_rejected_and_removed(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    hub.inject("Fin-R1.Q8_0.gguf", Fault(corrupt=True))
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0")
    with pytest.raises(ChecksumMismatchError, match="deleted"):
        run_download(plan, library, config)
    assert library.models() == [] and library_files(library) == []
    assert not list(plan.staging_dir.glob("*.part"))
    # the next attempt starts afresh and succeeds
    assert run_download(plan, library, config).status is ModelStatus.OK


def test_cancel_leaves_nothing_in_the_library_and_keeps_the_partial_for_a_resume(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    hub.throttle(2_000_000)
    token = CancelToken()

    def cancel_when_bytes_arrive(progress: Progress) -> None:
        if progress.done > 200_000:
            token.cancel()

    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="bf16")
    with pytest.raises(JobCancelled):
        run_download(plan, library, config, on_progress=cancel_when_bytes_arrive, cancel=token)
    assert library.models() == [] and library_files(library) == []
    assert plan_download(library, config, repo_id=GGUF_REPO, quant="bf16").resumable_bytes > 0


def test_cancel_can_discard_the_partial(hub: LocalHub, config: HubConfig,
                                        library: Library) -> None:
    hub.throttle(2_000_000)
    token = CancelToken()
    plan = plan_download(library, config, repo_id=GGUF_REPO, quant="bf16")
    with pytest.raises(JobCancelled):
        run_download(plan, library, config, on_progress=lambda _progress: token.cancel(),
                     cancel=token, discard_partial_on_cancel=True)
    assert library.models() == []
    assert not [path for path in plan.staging_dir.iterdir() if path.name.endswith(".part")]
    assert plan_download(library, config, repo_id=GGUF_REPO, quant="bf16").resumable_bytes == 0


def test_too_little_disk_space_is_refused_before_any_byte_is_fetched(
        hub: LocalHub, config: HubConfig, small_filesystem: Callable[[int], Path]) -> None:
    disk = small_filesystem(2 << 20)
    with Library(disk / "library") as library:
        plan = plan_download(library, config, repo_id=GGUF_REPO, quant="bf16")
        with pytest.raises(NotEnoughDiskSpaceError, match=r"needs 3\.31 MB"):
            run_download(plan, library, config)
    assert content_gets(hub, "Fin-R1.BF16.gguf") == []


def test_building_from_a_checkpoint_adds_the_build_space_to_the_check(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    plain = plan_download(library, config, repo_id=CHECKPOINT_REPO)
    building = plan_download(library, config, repo_id=CHECKPOINT_REPO, build_quant="q4_k_m")
    weights = sum(file.size for file in plain.files if file.filename.endswith(".safetensors"))
    assert building.needed_disk_bytes == plain.needed_disk_bytes + weights + weights * 4.91 // 16


# -- checkpoints --------------------------------------------------------------------------------

def test_checkpoint_downloads_as_a_folder_that_enters_the_library_only_when_complete(
        hub: LocalHub, config: HubConfig, library: Library,
        checkpoint_repo_files: dict[str, bytes]) -> None:
    second_shard = "model-00002-of-00002.safetensors"
    hub.inject(second_shard, Fault(drop_after_bytes=300_000))
    plan = plan_download(library, config, repo_id=CHECKPOINT_REPO)
    assert "pytorch_model.bin" not in {file.filename for file in plan.files}
    assert ".gitattributes" not in {file.filename for file in plan.files}
    with pytest.raises(DownloadInterruptedError):
        run_download(plan, library, config, retry=NO_RETRY)
    assert library.models() == [] and library_files(library) == []
    hub.clear_log()
    entry = run_download(plan_download(library, config, repo_id=CHECKPOINT_REPO), library,
                         config, retry=NO_RETRY)
    assert entry.kind is ModelKind.CHECKPOINT and entry.status is ModelStatus.OK
    assert entry.name == "Fin-R1" and entry.architecture == "qwen2"
    assert content_gets(hub, "model-00001-of-00002.safetensors") == [], "shard 1 was kept"
    assert content_gets(hub, second_shard) == [
        ("bytes=300000-", len(checkpoint_repo_files[second_shard]) - 300_000)]
    for file in entry.files:
        assert (entry.path / file.name).read_bytes() == checkpoint_repo_files[file.name]
    assert not list(library.downloads_dir.rglob("*.safetensors"))


def test_small_files_are_verified_against_their_git_hash(
        hub: LocalHub, config: HubConfig, library: Library) -> None:
    hub.inject("config.json", Fault(corrupt=True))
    with pytest.raises(ChecksumMismatchError, match=r"config\.json"):
        run_download(plan_download(library, config, repo_id=CHECKPOINT_REPO), library, config)
    assert library.models() == []


# -- access -------------------------------------------------------------------------------------

def test_gated_repository_needs_a_token_that_never_leaves_the_hub(
        local_hub: LocalHub, gguf_repo_files: dict[str, bytes], library: Library) -> None:
    local_hub.add_repo("gated/Fin-R1-GGUF", gguf_repo_files, token="hf_secret")
    with pytest.raises(HubAccessError, match="token"):
        plan_download(library, HubConfig(endpoint=local_hub.endpoint), repo_id="gated/Fin-R1-GGUF",
                      quant="q8_0")
    local_hub.clear_log()
    config = HubConfig(endpoint=local_hub.endpoint, token="hf_secret")
    entry = run_download(plan_download(library, config, repo_id="gated/Fin-R1-GGUF",
                                       quant="q8_0"), library, config)
    assert entry.status is ModelStatus.OK
    hub_requests = [record for record in local_hub.log if record.server == "hub"]
    cdn_requests = [record for record in local_hub.log if record.server == "cdn"]
    assert hub_requests and all(record.authorization for record in hub_requests)
    assert cdn_requests and not any(record.authorization for record in cdn_requests)


def test_endpoint_comes_from_the_flag_then_hf_endpoint_then_the_setting() -> None:
    environ = {"HF_ENDPOINT": "https://hf-mirror.com"}
    assert HubConfig.resolve("http://flag", environ=environ).endpoint == "http://flag"
    assert HubConfig.resolve(environ=environ, setting_endpoint="http://setting").endpoint == \
        "https://hf-mirror.com"
    assert HubConfig.resolve(environ={}, setting_endpoint="http://setting/").endpoint == \
        "http://setting"
    assert HubConfig.resolve(environ={}).endpoint == DEFAULT_ENDPOINT


def test_hf_endpoint_points_the_download_at_a_mirror(
        hub: LocalHub, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    config = HubConfig.resolve()
    entry = run_download(plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0"),
                         library, config)
    assert entry.source["endpoint"] == hub.endpoint


# -- offline mode -------------------------------------------------------------------------------

def test_offline_mode_makes_no_socket_connection_on_its_own(
        hub: LocalHub, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tiny_gguf_factory: Callable[..., Path]) -> None:
    from app.cli import main
    from app.core.hardware.fit import advise
    from app.core.hardware.machine import detect_machine

    monkeypatch.setenv("FINR1_OFFLINE", "1")
    monkeypatch.setenv("FINR1_HOME", str(tmp_path / "home"))
    config = HubConfig.resolve(hub.endpoint)
    with recorded_connections() as connections:
        catalog = load_catalog()
        with pytest.raises(OfflineModeError, match="offline mode is on"):
            refresh_repo(catalog, GGUF_REPO, config)
        assert refresh_quietly(catalog, config) == catalog
        advise(detect_machine())
        library.import_path(tiny_gguf_factory("q8_0"))
        library.verify()
        assert main(["doctor", "--json"]) == 0
        assert main(["models", "--library", str(library.root), "list"]) == 0
    capsys.readouterr()
    assert connections == []
    assert not [record for record in hub.log if record.server == "hub"]
    # a download the person asks for is the exception, and the recorder does see it
    with recorded_connections() as connections:
        run_download(plan_download(library, config, repo_id=GGUF_REPO, quant="q8_0"),
                     library, config)
    assert connections


def test_hf_hub_offline_blocks_even_an_explicit_download(
        hub: LocalHub, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with recorded_connections() as connections, \
            pytest.raises(OfflineModeError, match="HF_HUB_OFFLINE"):
        plan_download(library, HubConfig.resolve(hub.endpoint), repo_id=GGUF_REPO, quant="q8_0")
    assert connections == []


# -- catalog refresh against the hub ------------------------------------------------------------

def test_refresh_replaces_the_shipped_names_and_sizes_with_the_hubs(
        hub: LocalHub, config: HubConfig, tmp_path: Path,
        gguf_repo_files: dict[str, bytes]) -> None:
    cache = tmp_path / "catalog-cache.json"
    shipped = load_catalog(cache).repo(GGUF_REPO)
    assert shipped is not None and not any(file.from_hub for file in shipped.files)
    refreshed = refresh_repo(load_catalog(cache), GGUF_REPO, config, cache_file=cache)
    repo = refreshed.repo(GGUF_REPO)
    assert repo is not None and repo.commit == hub.repo(GGUF_REPO).commit
    assert [q.label for q in repo.quant_types] == ["BF16", "Q8_0", "Q4_K_M"]
    q8 = repo.quant_file("q8_0")
    content = gguf_repo_files["Fin-R1.Q8_0.gguf"]
    assert (q8.filename, q8.size_bytes, q8.sha256) == ("Fin-R1.Q8_0.gguf", len(content),
                                                       sha256(content))
    assert "README.md" not in {file.filename for file in repo.files}
    # an unreachable or unknown repository leaves its entry as it was
    quietly = refresh_quietly(load_catalog(), config, [GGUF_REPO, "nobody/missing"])
    assert quietly.repo(GGUF_REPO).files == repo.files
    assert quietly.repo("nobody/missing") is None
    # remembered for an offline start
    with recorded_connections() as connections:
        remembered = load_catalog(cache).repo(GGUF_REPO)
    assert connections == [] and remembered is not None
    assert remembered.quant_file("q8_0").sha256 == sha256(content)


def test_a_quiet_refresh_stops_at_the_first_unreachable_hub_and_on_cancel(
        hub: LocalHub, config: HubConfig) -> None:
    with socket.socket() as probe:  # a port nobody listens on: every connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = HubConfig(endpoint=f"http://127.0.0.1:{closed_port}")
    catalog = load_catalog()
    assert len(catalog.repos) >= 3
    with recorded_connections() as connections:
        assert refresh_quietly(catalog, unreachable) == catalog
    assert len(connections) == 1  # not one timeout per repository
    cancel = CancelToken()
    cancel.cancel()
    hub.clear_log()
    assert refresh_quietly(catalog, config, cancel=cancel) == catalog
    assert not [record for record in hub.log if record.server == "hub"]


def test_download_cli_prints_the_library_id_and_path(
        hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    monkeypatch.setenv("FINR1_HOME", str(tmp_path))
    arguments = ["download", GGUF_REPO, "--quant", "q8_0", "--endpoint", hub.endpoint]
    assert main([*arguments, "--dry-run"]) == 0
    assert "Fin-R1.Q8_0.gguf" in capsys.readouterr().err
    assert main(arguments) == 0
    model_id, path = capsys.readouterr().out.strip().split("\t")
    assert model_id == "fin-r1-q8_0" and Path(path).is_file()
    assert Path(path).is_relative_to(tmp_path / "library")


def test_saved_settings_supply_endpoint_token_and_offline_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli.library_option import hub_config
    from app.core.installation.settings import AppSettings, save_settings

    monkeypatch.setenv("FINR1_HOME", str(tmp_path))
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("FINR1_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    save_settings(AppSettings(hub_endpoint="https://hf-mirror.com", hub_token="hf_saved",
                              offline=True))
    config = hub_config()
    assert (config.endpoint, config.token, config.offline) == (
        "https://hf-mirror.com", "hf_saved", True)
    assert hub_config("http://flag", "hf_flag").endpoint == "http://flag"
    assert hub_config("http://flag", "hf_flag").token == "hf_flag"


def test_progress_bar_shows_bytes_speed_and_time_left() -> None:
    import io

    from app.cli.progress_bar import RATE_WINDOW_S, ProgressBar
    from foundation.job_rate import RateMeter

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [0.0]
    screen = Terminal()
    bar = ProgressBar(screen, min_interval_s=0)
    bar._rate = RateMeter(window_s=RATE_WINDOW_S, clock=lambda: now[0])
    for second in range(5):  # a resumed download: the first report starts at 1 GB
        now[0] = float(second)
        bar(Progress("download", 1_000_000_000 + second * 50_000_000, 2_000_000_000, "bytes",
                     "Fin-R1.Q4_K_M.gguf"))
    line = screen.getvalue().split("\r")[-1]
    assert "1.20 GB/2.00 GB" in line
    assert "50.0 MB/s" in line and "0:16 left" in line


# -- dry runs --------------------------------------------------------------------------------------

_NETWORK_RECORDER = """
import json, sys
events = []
def audit(event, args):
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                 "socket.connect", "socket.sendto"):
        events.append([event, repr(args)[:200]])
sys.addaudithook(audit)
from app.cli import main
status = main(sys.argv[1:])
print(json.dumps(events), file=sys.stderr)
sys.exit(status)
"""


def _dry_run_offline(tmp_path: Path, *arguments: str) -> tuple[subprocess.CompletedProcess[str],
                                                               str | None]:
    """``finr1 download … --dry-run`` in offline mode, in its own process, its hub an address
    that cannot resolve. Python's audit events record every name lookup and connection it makes
    (the last line of stderr); under strace, where there is one, the kernel's record too (every
    network system call of the process and its children, C libraries included)."""
    environ = {**os.environ, "FINR1_OFFLINE": "1", "FINR1_HOME": str(tmp_path / "home")}
    environ.pop("HF_HUB_OFFLINE", None)
    command = [sys.executable, "-c", _NETWORK_RECORDER, "download", *arguments, "--dry-run",
               "--endpoint", "http://hub.invalid"]
    trace_file = tmp_path / "network.trace"
    strace = shutil.which("strace")
    if strace is not None and subprocess.run([strace, "-o", os.devnull, "true"],
                                             capture_output=True, check=False).returncode == 0:
        command = [strace, "-f", "-qq", "-e", "trace=network", "-o", str(trace_file), *command]
    result = subprocess.run(command, cwd=REPO_ROOT, env=environ, capture_output=True, text=True,
                            timeout=300, check=False)
    trace = trace_file.read_text() if trace_file.exists() else None
    return result, trace


def test_an_offline_dry_run_plans_without_touching_the_network(tmp_path: Path) -> None:
    result, trace = _dry_run_offline(tmp_path, GGUF_REPO, "--quant", "q8_0")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert json.loads(lines[-1]) == []  # no lookup, no connection, not even to resolve a name
    assert "Fin-R1.Q8_0.gguf" in result.stderr
    assert "offline mode is on, so the hub was not asked" in result.stderr
    assert "needs about" in result.stderr
    if trace is not None:
        internet = [line for line in trace.splitlines() if "AF_INET" in line or "nscd" in line]
        assert internet == []


def test_an_offline_dry_run_plans_from_the_hubs_last_listing_when_there_is_one(
        hub: LocalHub, library: Library, tmp_path: Path) -> None:
    cache = tmp_path / "catalog-cache.json"
    refresh_repo(load_catalog(cache), GGUF_REPO, HubConfig(endpoint=hub.endpoint),
                 cache_file=cache)
    hub.clear_log()
    offline = HubConfig(endpoint=hub.endpoint, offline=True)
    with recorded_connections() as connections:
        plan = plan_download(library, offline, repo_id=GGUF_REPO, quant="q8_0",
                             catalog=load_catalog(cache), dry_run=True)
    assert connections == [] and hub.log == []
    assert not plan.from_hub
    assert plan.commit == hub.repo(GGUF_REPO).commit
    assert plan.files[0].sha256 is not None
    assert "the hub's listing of" in plan.describe()
    with pytest.raises(ValueError, match="dry run"):
        run_download(plan, library, offline)


def test_a_dry_run_plans_from_the_catalog_when_the_hub_cannot_be_reached(
        library: Library) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = HubConfig(endpoint=f"http://127.0.0.1:{closed_port}")
    plan = plan_download(library, unreachable, repo_id=GGUF_REPO, quant="q8_0",
                         catalog=load_catalog(), dry_run=True)
    assert not plan.from_hub and plan.commit is None
    assert "could not be reached: planned from the app's catalog" in plan.describe()
    with pytest.raises(HubUnreachableError):  # a real download still needs the hub
        plan_download(library, unreachable, repo_id=GGUF_REPO, quant="q8_0")


def test_an_offline_dry_run_of_a_repository_the_app_never_listed_is_one_line(
        tmp_path: Path) -> None:
    result, _trace = _dry_run_offline(tmp_path, "someone/unknown-model")
    assert result.returncode == 2
    assert "finr1: error: cannot plan a download of someone/unknown-model: offline mode is on" \
        in result.stderr
    assert "Traceback" not in result.stderr

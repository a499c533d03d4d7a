"""``finr1-studio --self-test`` as the installer runs it: a separate process, no display, a real
model; and the verdicts it is built on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.core.installation.self_test import (
    SelfTestReport,
    check_rendered_reply,
    check_reply,
    check_screenshot,
)
from tests.support.llm_support import PROSE_GRAMMAR, steered_python

PNG = b"\x89PNG\r\n\x1a\n"


def run_self_test(tmp_path: Path, *args: str,
                  steered_to_text: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m app --self-test ARGS``; with ``steered_to_text`` (the model) its reply is
    steered to plain text (tests/support/llm_support.py), which a model with random weights might
    otherwise not write, differently on each CPU."""
    environ = {**os.environ, "FINR1_HOME": str(tmp_path / "home")}
    environ.pop("DISPLAY", None)
    environ.pop("WAYLAND_DISPLAY", None)
    environ.pop("QT_QPA_PLATFORM", None)
    command = [sys.executable, "-m", "app"]
    if steered_to_text is not None:
        command, steering = steered_python(steered_to_text, module="app", grammar=PROSE_GRAMMAR)
        environ.update(steering)
    return subprocess.run([*command, "--self-test", *args], env=environ,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_self_test_passes_on_a_real_model_and_saves_a_screenshot(tmp_path: Path,
                                                                     tiny_bf16_gguf: Path) -> None:
    shot = tmp_path / "shots" / "window.png"
    done = run_self_test(tmp_path, "--model", str(tiny_bf16_gguf), "--scenario", "calculation",
                         "--max-tokens", "16", "--screenshot", str(shot),
                         steered_to_text=tiny_bf16_gguf)
    assert done.returncode == 0, done.stdout + done.stderr
    for step in ("chat view", "model load", "reply", "rendering", "screenshot"):
        assert f"self-test: ok   {step}" in done.stdout
    assert done.stdout.rstrip().endswith("self-test: passed")
    assert shot.read_bytes()[:8] == PNG
    assert not (tmp_path / "home" / "settings.json").exists(), "the self-test saves no settings"


def test_the_self_test_fails_with_the_reason_when_the_model_is_missing(tmp_path: Path) -> None:
    done = run_self_test(tmp_path, "--model", str(tmp_path / "absent.gguf"))
    assert done.returncode == 1
    assert "self-test: FAIL model file" in done.stdout


def test_the_self_test_fails_when_the_file_is_not_a_model(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a gguf at all")
    done = run_self_test(tmp_path, "--model", str(fake), "--timeout", "120")
    assert done.returncode == 1
    assert "self-test: FAIL model load" in done.stdout


def test_a_report_passes_only_when_every_step_did() -> None:
    report = SelfTestReport()
    assert not report.passed
    report.record("one", None)
    assert report.passed and report.exit_code == 0
    report.record("two", "it broke")
    assert not report.passed and report.exit_code == 1
    assert report.lines()[-2:] == ["self-test: FAIL two: it broke", "self-test: FAILED"]


def test_replies_that_do_not_count() -> None:
    assert check_reply("text", "stop") is None and check_reply("text", "length") is None
    assert "cancelled" in check_reply("text", "cancelled")
    assert check_reply("  ", "stop") == "the model produced no text"


def test_the_page_must_show_a_finished_reply() -> None:
    finished = {"status": "done", "think": {"shown": True}, "answer": {"shown": True,
                "openBlocks": 0}, "metrics": "1 tok/s", "error": None}
    assert check_rendered_reply([finished]) is None
    assert check_rendered_reply([]) == "the chat view shows no reply"
    assert "streaming" in check_rendered_reply([{**finished, "status": "streaming"}])
    assert "metrics" in check_rendered_reply([{**finished, "metrics": ""}])


def test_a_screenshot_must_be_a_png(tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(PNG + b"rest")
    (tmp_path / "bad.png").write_bytes(b"GIF89a")
    assert check_screenshot(tmp_path / "good.png") is None
    assert "not a PNG" in check_screenshot(tmp_path / "bad.png")
    assert "not written" in check_screenshot(tmp_path / "none.png")

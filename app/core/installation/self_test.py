"""The self-test's verdicts, without a screen: what counts as each step having worked.

``finr1-studio --self-test --model PATH`` drives the real window (``app.ui.self_test``); this
module decides, from plain data, whether each step passed and keeps the report. A step fails with
a sentence saying what was wrong, and the exit status is 0 only when every step passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_SCENARIO = "compliance"
EXIT_PASSED = 0
EXIT_FAILED = 1


@dataclass(frozen=True)
class StepResult:
    """One step: its ``name``, whether it passed, and a detail for the person."""

    name: str
    passed: bool
    detail: str


@dataclass
class SelfTestReport:
    """The steps run so far, in order."""

    steps: list[StepResult] = field(default_factory=list)

    def record(self, name: str, problem: str | None, detail: str = "") -> bool:
        """Record step ``name``: passed when ``problem`` is None. Returns whether it passed."""
        self.steps.append(StepResult(name, problem is None, problem or detail))
        return problem is None

    @property
    def passed(self) -> bool:
        """True when there were steps and all of them passed."""
        return bool(self.steps) and all(step.passed for step in self.steps)

    @property
    def exit_code(self) -> int:
        return EXIT_PASSED if self.passed else EXIT_FAILED

    def lines(self) -> list[str]:
        """One line per step and a verdict, for the terminal."""
        lines = [f"self-test: {'ok  ' if step.passed else 'FAIL'} {step.name}"
                 + (f": {step.detail}" if step.detail else "") for step in self.steps]
        lines.append("self-test: passed" if self.passed else "self-test: FAILED")
        return lines


def check_model_file(path: Path) -> str | None:
    """Why ``path`` cannot be the self-test's model, or None."""
    if not path.is_file():
        return f"{path} is not a file; pass the GGUF model with --model PATH"
    return None


def check_reply(reply_text: str | None, finish_reason: str) -> str | None:
    """Why the generated reply does not count, or None: it must have text and must have ended
    by itself or at the token limit (not stopped, not failed)."""
    if finish_reason not in ("stop", "length"):
        return f"the reply ended with {finish_reason!r} instead of finishing"
    if not reply_text or not reply_text.strip():
        return "the model produced no text"
    return None


def check_rendered_reply(page: list[dict[str, Any]]) -> str | None:
    """Why the chat view's state (``ChatView.inspect``'s list) does not show a finished reply,
    or None. The last reply must be finished, show its reasoning or its answer, and carry its
    metrics line; no block may still be marked as streaming."""
    if not page:
        return "the chat view shows no reply"
    reply = page[-1]
    if reply.get("status") not in ("done", "length"):
        return f"the reply's status on the page is {reply.get('status')!r}, not finished"
    think, answer = reply.get("think", {}), reply.get("answer", {})
    if not (think.get("shown") or answer.get("shown")):
        return "neither the reasoning nor the answer is shown"
    if answer.get("openBlocks"):
        return "an answer block is still marked as streaming"
    if not reply.get("metrics"):
        return "the metrics line is missing"
    if reply.get("error"):
        return f"the page shows an error: {reply['error']}"
    return None


def check_screenshot(path: Path) -> str | None:
    """Why ``path`` is not a saved PNG screenshot, or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(PNG_SIGNATURE))
    except OSError as error:
        return f"the screenshot {path} was not written ({error.strerror})"
    if head != PNG_SIGNATURE:
        return f"{path} is not a PNG image"
    return None

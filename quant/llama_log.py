"""Read libllama's quantizer log as it streams: per-tensor progress plus a tail of everything else.

``llama_model_quantize`` reports progress only through its log (``src/llama-quant.cpp``). For each
tensor it logs, in separate fragments that together make one line (wrapped here)::

    [   6/  27] blk.0.attn_q.weight                  - [   256,    256,      1,      1],
    type =   bf16, converting to q4_K .. size =     0.12 MiB ->     0.04 MiB

(or ``size = 0.001 MiB`` for a tensor that is copied as is). The header fragment, up to
``type = bf16, ``, arrives before the tensor is processed and the line ends after it is written,
so a tensor is *started* when a header is seen and *done* when its line ends. Any other line
(warnings, errors, the closing summary) is kept in a short tail for error messages; a line this
parser does not understand is never an error.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

_TENSOR_HEADER = re.compile(
    r"^\s*\[\s*(?P<index>\d+)\s*/\s*(?P<total>\d+)\s*\]\s+(?P<name>\S+)\s+-\s+\[[^\]]*\],"
    r"\s*type\s*=\s*\w+,"
)
_SIZE = re.compile(r"\bsize\s*=\s*[\d.]+\s*MiB")
_FAILURE = re.compile(r"failed to quantize:\s*(?P<reason>.+)$")

DEFAULT_TAIL_LINES = 30


@dataclass(frozen=True)
class TensorStarted:
    """libllama began tensor ``index`` (1-based) of ``total``."""

    index: int
    total: int
    name: str


@dataclass(frozen=True)
class TensorDone:
    """libllama finished writing tensor ``index`` (1-based) of ``total``."""

    index: int
    total: int
    name: str


@dataclass(frozen=True)
class LogLine:
    """A complete log line that is not a tensor's progress line."""

    text: str


LogEvent = TensorStarted | TensorDone | LogLine


class QuantizeLogParser:
    """Turns the raw text fragments of libllama's log callback into ``LogEvent``s.

    ``feed`` takes fragments in arrival order (they need not end at line breaks) and returns the
    events they complete. A tensor is done only once a ``size = …`` follows its header, so a
    header cut short by an error (or by the imatrix notice libllama inserts mid-line) is not
    counted; such a header is kept in the tail, where it names the tensor that failed. ``tail``
    holds the last ``tail_lines`` non-progress lines and ``failure`` the reason from libllama's
    ``failed to quantize: …`` line, if one came. Never raises on odd input.
    """

    def __init__(self, tail_lines: int = DEFAULT_TAIL_LINES) -> None:
        self._partial = ""
        self._announced_header = False
        self._open_tensor: tuple[int, int, str] | None = None
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.failure: str | None = None

    def feed(self, fragment: str) -> list[LogEvent]:
        """Add one fragment; return the events it completes, oldest first."""
        events: list[LogEvent] = []
        *complete_lines, self._partial = (self._partial + fragment).split("\n")
        for line in complete_lines:
            events.extend(self._complete_line(line))
        if not self._announced_header:
            header = _TENSOR_HEADER.match(self._partial)
            if header is not None:
                self._announced_header = True
                events.append(TensorStarted(*_header_fields(header)))
        return events

    def flush(self) -> list[LogEvent]:
        """End of log: treat an unfinished last line as complete."""
        line, self._partial = self._partial, ""
        return self._complete_line(line) if line else []

    def _complete_line(self, line: str) -> list[LogEvent]:
        announced, self._announced_header = self._announced_header, False
        header = _TENSOR_HEADER.match(line)
        if header is not None:
            fields = _header_fields(header)
            events: list[LogEvent] = [] if announced else [TensorStarted(*fields)]
            if _SIZE.search(line, header.end()):
                return [*events, TensorDone(*fields)]
            self._open_tensor = fields
            return [*events, *self._log_line(line)]
        if self._open_tensor is not None and _SIZE.search(line):
            fields, self._open_tensor = self._open_tensor, None
            return [TensorDone(*fields)]
        return self._log_line(line)

    def _log_line(self, line: str) -> list[LogEvent]:
        text = line.rstrip()
        if not text.strip():
            return []
        failure = _FAILURE.search(text)
        if failure is not None:
            self.failure = failure.group("reason").strip()
        self.tail.append(text)
        return [LogLine(text)]


def _header_fields(header: re.Match[str]) -> tuple[int, int, str]:
    return int(header.group("index")), int(header.group("total")), header.group("name")

r"""Incremental parser of Fin-R1 replies: text chunks in, section events out.

Fin-R1 answers as ``<think>\n…\n</think>\n<answer>\n…\n</answer>`` and boxes its final answer
in ``\boxed{…}``. ``ReasoningParser`` takes the reply as it streams, in chunks split at any
character (a tag may arrive as ``"</thi"`` + ``"nk>"``), and turns it into events the chat view,
the history and the CLI consume. ``ReplyAccumulator`` / ``ParsedReply.from_events`` fold the events
into the finished sections; ``parse_text`` does both for a whole text.

How a reply is read (each rule is a deliberate choice for the model's real habits):

* Whitespace before ``<think>`` is ignored. A reply that does not start with ``<think>`` has no
  reasoning: all of it is answer.
* ``<think>`` without ``</think>`` (the 4,000-token cap hit mid-thought): all of it is reasoning and
  ``Done(truncated=True)`` ends the stream; no ``ThinkEnded`` is sent, the model never ended it.
  An ``<answer>`` tag inside the reasoning also ends it, as the model sometimes skips ``</think>``.
* After ``</think>`` everything is answer, with or without ``<answer>`` tags. ``<answer>`` and
  ``</answer>`` are removed wherever they occur in the answer, and text after ``</answer>`` is
  kept as answer: it is what the model wrote, and dropping it silently could hide half a reply.
  Other text that looks like a tag (a stray ``</think>`` in the answer, ``<b>``) is kept verbatim.
* Whitespace just inside a section is trimmed: neither section starts or ends with whitespace.
  Whitespace before a removed answer tag is dropped, whitespace after it is kept when text follows.
* Boxes are found by the one box rule (``app.core.reasoning.boxed``: ``\boxed{…}`` or
  ``boxed{…}``, nested braces, escapes), section by section: a box still open when its section or
  the stream ends is not reported. Boxes are reported from both sections
  (``BoxedFound.section``); the reply's boxes are the answer's, or, when the answer has none and
  the reasoning was finished, the reasoning's (Fin-R1 sometimes boxes inside ``<think>``). A reply
  cut off inside its reasoning has no final answer: a box there is a step of unfinished
  reasoning, not a conclusion.
* ``final`` is the last box cleaned for display (``clean_latex(…, keep_math=True)``); ``boxed``
  keeps them raw.

Streaming contract: text is emitted as soon as it cannot be part of a tag. The parser holds back
only a suffix that could still begin a tag (at most 8 characters) and whitespace that may turn out
to be trailing a section (it is trimmed if a closing tag or the end follows, emitted with the next
visible character otherwise). Each ``feed`` costs time proportional to its chunk: no text is scanned
twice, boxes included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from app.core.reasoning.boxed import BoxScanner
from app.core.reasoning.latex_text import clean_latex

Section = Literal["think", "answer"]


@dataclass(frozen=True)
class ThinkStarted:
    """The reply opened its reasoning with ``<think>``."""


@dataclass(frozen=True)
class ThinkText:
    """More reasoning text; the pieces concatenated are ``ParsedReply.think``."""

    text: str


@dataclass(frozen=True)
class ThinkEnded:
    """The model closed its reasoning (``</think>``, or ``<answer>`` without it)."""


@dataclass(frozen=True)
class AnswerText:
    """More answer text; the pieces concatenated are ``ParsedReply.answer``."""

    text: str


@dataclass(frozen=True)
class BoxedFound:
    r"""A complete ``\boxed{…}`` was read: ``content`` is what stood between its braces, raw.

    ``index`` counts the boxes of ``section`` from 0, in order of appearance.
    """

    content: str
    index: int
    section: Section = "answer"


@dataclass(frozen=True)
class Done:
    """The stream ended; ``truncated`` is true when it ended inside the reasoning."""

    truncated: bool


Event = ThinkStarted | ThinkText | ThinkEnded | AnswerText | BoxedFound | Done


class ParserFinishedError(RuntimeError):
    """``feed`` or ``finish`` was called on a parser that has already finished."""


_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_ANSWER_OPEN = "<answer>"
_ANSWER_CLOSE = "</answer>"
_THINK_TAGS = re.compile(f"{re.escape(_THINK_CLOSE)}|{re.escape(_ANSWER_OPEN)}")
_ANSWER_TAGS = re.compile(f"{re.escape(_ANSWER_OPEN)}|{re.escape(_ANSWER_CLOSE)}")
_THINK_TAG_TEXTS = (_THINK_CLOSE, _ANSWER_OPEN)
_ANSWER_TAG_TEXTS = (_ANSWER_OPEN, _ANSWER_CLOSE)

def _partial_tag_length(text: str, start: int, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text[start:]`` that is a proper prefix of a tag."""
    longest = min(max(len(tag) for tag in tags) - 1, len(text) - start)
    if "<" not in text[len(text) - longest:]:
        return 0
    for length in range(longest, 0, -1):
        suffix = text[len(text) - length:]
        if any(tag.startswith(suffix) for tag in tags):
            return length
    return 0


class _SectionWriter:
    """Emits one section's text with the whitespace just inside its tags trimmed."""

    def __init__(self, section: Section) -> None:
        self._section: Section = section
        self._event_type = ThinkText if section == "think" else AnswerText
        self._boxes = BoxScanner()
        self._box_count = 0
        self._has_text = False
        self._pending_whitespace: list[str] = []  # a list: a long run of blank chunks stays linear

    def write(self, text: str, events: list[Event]) -> None:
        """Emit ``text`` (holding back trailing whitespace) and the boxes it completes."""
        if not self._has_text:
            text = text.lstrip()
        visible = text.rstrip()
        if not visible:
            if self._has_text:
                self._pending_whitespace.append(text)
            return
        emitted = "".join(self._pending_whitespace) + visible
        self._pending_whitespace = [text[len(visible):]]
        self._has_text = True
        events.append(self._event_type(emitted))
        for content in self._boxes.feed(emitted):
            events.append(BoxedFound(content, self._box_count, self._section))
            self._box_count += 1

    def drop_pending_whitespace(self) -> None:
        """Forget whitespace held so far: it stood just before a tag."""
        self._pending_whitespace = []

    def close(self) -> None:
        """The section ended: held whitespace and an open box are dropped."""
        self._pending_whitespace = []
        self._boxes.close()


class _Phase(Enum):
    START = "start"  # nothing but whitespace read yet
    THINK = "think"
    ANSWER = "answer"
    FINISHED = "finished"


class ReasoningParser:
    """Turns a streamed Fin-R1 reply into section events (see the module docstring for the rules).

    Call ``feed`` with each chunk as it arrives, then ``finish`` once. Both return the events that
    became certain, in order; ``finish`` always ends with one ``Done``. Calling either after
    ``finish`` raises ``ParserFinishedError``. Not thread-safe: feed it from one thread.
    """

    def __init__(self) -> None:
        self._phase = _Phase.START
        self._held = ""  # a suffix that may still begin a tag
        self._think = _SectionWriter("think")
        self._answer = _SectionWriter("answer")

    def feed(self, chunk: str) -> list[Event]:
        """Consume the next ``chunk`` of the reply; returns the events it made certain."""
        self._check_not_finished()
        events: list[Event] = []
        text = self._held + chunk
        self._held = ""
        position = 0
        while position < len(text):
            if self._phase is _Phase.START:
                position = self._read_start(text, position, events)
            elif self._phase is _Phase.THINK:
                position = self._read_think(text, position, events)
            else:
                position = self._read_answer(text, position, events)
        return events

    def finish(self) -> list[Event]:
        """End the stream: flush held text, close the sections; the last event is ``Done``."""
        self._check_not_finished()
        events: list[Event] = []
        held, self._held = self._held, ""
        if self._phase is _Phase.THINK:
            self._think.write(held, events)
        elif held:
            self._answer.write(held, events)
        truncated = self._phase is _Phase.THINK
        self._think.close()
        self._answer.close()
        self._phase = _Phase.FINISHED
        events.append(Done(truncated=truncated))
        return events

    def _check_not_finished(self) -> None:
        if self._phase is _Phase.FINISHED:
            raise ParserFinishedError("this reply was already finished; use a new ReasoningParser")

    def _read_start(self, text: str, position: int, events: list[Event]) -> int:
        rest = text[position:].lstrip()
        if not rest:
            return len(text)
        if rest.startswith(_THINK_OPEN):
            events.append(ThinkStarted())
            self._phase = _Phase.THINK
            return len(text) - len(rest) + len(_THINK_OPEN)
        if _THINK_OPEN.startswith(rest):
            self._held = rest
            return len(text)
        self._phase = _Phase.ANSWER
        return len(text) - len(rest)

    def _read_think(self, text: str, position: int, events: list[Event]) -> int:
        tag = _THINK_TAGS.search(text, position)
        if tag is None:
            return self._write_until_possible_tag(text, position, _THINK_TAG_TEXTS, self._think,
                                                  events)
        self._think.write(text[position:tag.start()], events)
        self._think.close()
        events.append(ThinkEnded())
        self._phase = _Phase.ANSWER
        return tag.end()

    def _read_answer(self, text: str, position: int, events: list[Event]) -> int:
        tag = _ANSWER_TAGS.search(text, position)
        if tag is None:
            return self._write_until_possible_tag(text, position, _ANSWER_TAG_TEXTS, self._answer,
                                                  events)
        self._answer.write(text[position:tag.start()], events)
        self._answer.drop_pending_whitespace()
        return tag.end()

    def _write_until_possible_tag(self, text: str, position: int, tags: tuple[str, ...],
                                  writer: _SectionWriter, events: list[Event]) -> int:
        held_length = _partial_tag_length(text, position, tags)
        writer.write(text[position:len(text) - held_length], events)
        self._held = text[len(text) - held_length:]
        return len(text)


@dataclass(frozen=True)
class ParsedReply:
    """A reply split into its parts.

    ``think``: the reasoning ("" when there was none). ``answer``: the answer, tags removed.
    ``boxed``: the raw contents of the answer's boxes, or of the reasoning's when the answer has
    none and the reasoning was finished. ``final``: the last of ``boxed`` cleaned for display
    (``clean_latex(…, keep_math=True)``), or None. ``truncated``: the reply ended inside its
    reasoning.
    """

    think: str = ""
    answer: str = ""
    boxed: list[str] = field(default_factory=list)
    final: str | None = None
    truncated: bool = False

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> ParsedReply:
        """Fold a parser's events (in order) into a reply."""
        accumulator = ReplyAccumulator()
        accumulator.add(events)
        return accumulator.reply()

    def to_dict(self) -> dict[str, object]:
        """The reply as JSON-ready data with exactly the keys think, answer, boxed, final,
        truncated."""
        return {"think": self.think, "answer": self.answer, "boxed": list(self.boxed),
                "final": self.final, "truncated": self.truncated}


class ReplyAccumulator:
    """Collects events as they arrive; ``reply()`` gives the reply so far at any moment."""

    def __init__(self) -> None:
        self._think: list[str] = []
        self._answer: list[str] = []
        self._boxes: dict[Section, list[str]] = {"think": [], "answer": []}
        self._think_ended = False
        self._truncated = False

    def add(self, events: Iterable[Event]) -> None:
        """Take the next events, in the order the parser produced them."""
        for event in events:
            if isinstance(event, ThinkText):
                self._think.append(event.text)
            elif isinstance(event, AnswerText):
                self._answer.append(event.text)
            elif isinstance(event, BoxedFound):
                self._boxes[event.section].append(event.content)
            elif isinstance(event, ThinkEnded):
                self._think_ended = True
            elif isinstance(event, Done):
                self._truncated = event.truncated

    def reply(self) -> ParsedReply:
        """The reply as the events so far describe it."""
        boxed = self._boxes["answer"]
        if not boxed and self._think_ended:
            boxed = self._boxes["think"]
        return ParsedReply(
            think="".join(self._think),
            answer="".join(self._answer),
            boxed=list(boxed),
            final=clean_latex(boxed[-1], keep_math=True) if boxed else None,
            truncated=self._truncated,
        )


def parse_text(text: str) -> ParsedReply:
    """Parse a whole reply at once; the same result as streaming it in any chunks."""
    parser = ReasoningParser()
    events = parser.feed(text)
    events.extend(parser.finish())
    return ParsedReply.from_events(events)

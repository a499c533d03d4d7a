"""From generated tokens to text that can be shown at once.

A token may carry part of a UTF-8 character (a Chinese character is often split over two or three
byte-level tokens), and a stop string may arrive over several tokens. ``Utf8Assembler`` emits only
whole characters; ``StopStringFilter`` holds back text that may still turn out to be the start of a
stop string, and cuts the reply where one appears. Both take time proportional to their input.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence


class Utf8Assembler:
    """Bytes in, whole characters out; invalid bytes become U+FFFD instead of raising."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, data: bytes) -> str:
        """The characters completed by ``data`` (may be "" while a character is incomplete)."""
        return self._decoder.decode(data)

    def flush(self) -> str:
        """End of stream: an incomplete trailing character becomes U+FFFD."""
        return self._decoder.decode(b"", final=True)


class StopStringFilter:
    """Cuts a stream of text at the first occurrence of any of ``stop_strings``.

    ``push`` returns the text that is certainly not part of a stop string and whether a stop
    string was found (the text before it is returned, the stop string and what follows are not).
    ``flush`` returns what was held back when the stream ends without a stop string.
    """

    def __init__(self, stop_strings: Sequence[str]) -> None:
        self._stops = tuple(stop for stop in stop_strings if stop)
        self._first_chars = frozenset(stop[0] for stop in self._stops)
        self._longest = max((len(stop) for stop in self._stops), default=0)
        self._held = ""

    def push(self, text: str) -> tuple[str, bool]:
        if not self._stops:
            return text, False
        text = self._held + text
        self._held = ""
        found = min((index for index in (text.find(stop) for stop in self._stops) if index >= 0),
                    default=-1)
        if found >= 0:
            return text[:found], True
        keep = self._partial_stop_length(text)
        if keep:
            self._held = text[-keep:]
            return text[:-keep], False
        return text, False

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _partial_stop_length(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
        window = min(self._longest - 1, len(text))
        if not any(char in self._first_chars for char in text[len(text) - window:]):
            return 0
        for length in range(window, 0, -1):
            suffix = text[len(text) - length:]
            if any(stop.startswith(suffix) for stop in self._stops):
                return length
        return 0

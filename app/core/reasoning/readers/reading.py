r"""What every answer reader shares: the reading base class and the text a box gives.

A reader takes two plain strings, so it does not depend on how the reply was parsed: the answer
section's text and the final ``\boxed{…}`` content (raw or cleaned; None when the answer has no
box). ``box_text`` and ``clean_latex`` make both plain by the one box rule (``boxed``) and the one
LaTeX cleaner (``latex_text``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, ClassVar

from app.core.reasoning.boxed import find_boxes
from app.core.reasoning.latex_text import clean_latex


class Reading:
    """Base of the readings: a frozen dataclass whose ``kind`` names the reader that made it."""

    kind: ClassVar[str]

    def as_dict(self) -> dict[str, Any]:
        """The reading as JSON-ready data, with ``kind`` naming the reader that produced it."""
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


def box_text(final_boxed: str | None, answer_text: str) -> str:
    """The final box cleaned for reading; without one (None), the last box written in the answer
    text (the parser may not have been used); "" when there is none."""
    if final_boxed is None:
        boxes = find_boxes(answer_text)
        final_boxed = boxes[-1] if boxes else None
    return clean_latex(final_boxed) if final_boxed else ""


def last_match(matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
    """The last of ``matches`` (consumed), None when there are none."""
    remaining = deque(matches, maxlen=1)
    return remaining[0] if remaining else None

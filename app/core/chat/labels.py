"""The texts the chat view writes around a reply, in the window's language.

The page's labels ("Thinking… 12 s", "Thought for 12 s · 812 tokens", the metrics line, the
verdict badges, the page's buttons) are decided in Python by ``app.core.chat.reply_document`` and
``app.core.chat.reading_badges``, which hold no Qt; so, like the scenario texts, they come from a data
file with both languages, ``resources/chat/labels.toml``, rather than from Qt's ``.ts`` catalogs
(those translate the widgets). The conversation export (``app.core.history.export``) labels its documents
from the same file, so a document says what the chat view said. ``chat_labels("zh")`` gives the
Chinese set; every text is a ``str.format`` pattern with the same fields in both languages.
"""

from __future__ import annotations

import string
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.core.errors import ChatLabelsError
from app.core.installation.resources import resource_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LANGUAGES = ("en", "zh")
LABELS_FILE = ("chat", "labels.toml")


def _fields(pattern: str) -> list[str]:
    return sorted(field for _text, field, _spec, _conversion in string.Formatter().parse(pattern)
                  if field is not None)


@dataclass(frozen=True)
class ChatLabels:
    """One language's chat texts: ``text(group, key, *values)`` formats one;
    ``page_texts()`` gives the page's own (button) texts for its script."""

    language: str
    texts: dict[str, dict[str, str]]

    def text(self, group: str, key: str, *values: object) -> str:
        return self.texts[group][key].format(*values)

    def duration(self, seconds: float) -> str:
        """"0.4 s", "12 s", "2 min 05 s": precise when short, calm when long."""
        if seconds < 10:
            return self.text("duration", "seconds_precise", seconds)
        if seconds < 60:
            return self.text("duration", "seconds", seconds)
        minutes, rest = divmod(round(seconds), 60)
        return self.text("duration", "minutes", minutes, rest)

    def tokens(self, count: int) -> str:
        """"1 token", "812 tokens"."""
        return self.text("reply", "tokens_one" if count == 1 else "tokens_many", count)

    def metrics_line(self, rate: float | None, first_token_s: float | None, think_tokens: int,
                     answer_tokens: int, *, prompt_tokens: int | None = None,
                     dropped_messages: int = 0,
                     reasoning_stopped_at: int | None = None, draft_tokens: int = 0,
                     accepted_tokens: int = 0) -> str:
        """The per-message metrics line, e.g. "21.5 tok/s · first token 0.4 s · think 120 ·
        answer 180 tokens": the decode ``rate`` and the time to the first token are left out when
        None (not measured); the prompt's tokens are shown when given, the earlier messages
        left out to fit the context when there were any, and "reasoning stopped at N tokens"
        when the engine closed the reasoning at its budget; "drafts accepted 40/52 (77%)" when
        speculative decoding drafted (``draft_tokens`` checked, ``accepted_tokens`` kept; nothing
        when none were drafted)."""
        parts = []
        if rate is not None:
            parts.append(self.text("reply", "rate", rate))
        if first_token_s is not None:
            parts.append(self.text("reply", "first_token", self.duration(first_token_s)))
        if prompt_tokens is not None:
            parts.append(self.text("reply", "prompt", self.tokens(prompt_tokens)))
        parts.append(self.text("reply", "split", think_tokens, self.tokens(answer_tokens)))
        if dropped_messages:
            parts.append(self.text("reply", "dropped", dropped_messages))
        if reasoning_stopped_at is not None:
            parts.append(self.text("reply", "reasoning_stopped", reasoning_stopped_at))
        if draft_tokens:
            parts.append(self.text("reply", "drafts_accepted", accepted_tokens, draft_tokens,
                                   accepted_tokens / draft_tokens))
        return " · ".join(parts)

    def page_texts(self) -> dict[str, str]:
        return dict(self.texts["page"]) | {"thinking": self.texts["reply"]["thinking"]}


def load_chat_labels(path: Path) -> dict[str, ChatLabels]:
    """Both languages' labels from ``path``. Raises ChatLabelsError (naming the file and the text)
    when a text is missing in a language or its fields differ between the languages."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ChatLabelsError(f"{path}: the chat labels cannot be read: {error}") from error
    by_language: dict[str, dict[str, dict[str, str]]] = {language: {} for language in LANGUAGES}
    for group, entries in document.items():
        for key, translations in entries.items():
            name = f"{group}.{key}"
            if not isinstance(translations, dict) or set(translations) != set(LANGUAGES):
                raise ChatLabelsError(f"{path}: {name} needs exactly the languages {LANGUAGES}")
            if _fields(translations["en"]) != _fields(translations["zh"]):
                raise ChatLabelsError(f"{path}: {name} has other {{…}} fields in Chinese than in "
                                    "English")
            for language in LANGUAGES:
                by_language[language].setdefault(group, {})[key] = translations[language]
    return {language: ChatLabels(language, texts) for language, texts in by_language.items()}


@cache
def _shipped() -> dict[str, ChatLabels]:
    return load_chat_labels(resource_path(*LABELS_FILE))


def chat_labels(language: str = "en") -> ChatLabels:
    """The shipped labels for ``language`` ("en" or "zh"; "zh_CN" and other Chinese variants
    read as "zh", anything else as English)."""
    return _shipped()["zh" if language.lower().startswith("zh") else "en"]

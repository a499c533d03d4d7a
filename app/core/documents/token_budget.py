"""An attached document against the context: an estimate when the model cannot count, the
prompt the document shares the context with, and the document cut into parts that each fit.

- ``estimate_tokens``: a stand-in tokenizer for when no local model is loaded, or the model runs
  on a server (whose tokenizer the app cannot run): one token per Chinese, Japanese or Korean
  character (and full-width punctuation), one per ``OTHER_CHARS_PER_TOKEN`` other characters.
  Qwen2's tokenizer (Fin-R1's) gives about that for Chinese and English financial text; a
  person is told the count is an estimate.
- ``prompt_around_field``: the scenario's prompt with the document's field left as a stand-in,
  so its tokens can be kept aside (``context_fit.measure_context_fit``'s ``reserved_tokens``).
- ``split_to_fit``: the text cut into consecutive parts of at most a number of tokens each, at
  paragraph, then line, then sentence or word, then character boundaries; joined again they are
  the text, character for character.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.core.documents.context_fit import Tokenize
from app.core.errors import InvalidFieldValueError
from app.core.scenarios.scenario import Field, Scenario

OTHER_CHARS_PER_TOKEN = 4
# CJK punctuation, kana, Hangul, CJK ideographs (extension A, unified, compatibility), full-width
# forms: characters a BPE vocabulary for Chinese holds about one a token
_WIDE_CHARACTERS = re.compile(
    "[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff00-\uffef]")
# where a part may end, best first; past the last, a part ends anywhere
_BOUNDARIES = ("\n\n", "\n", "。", ". ", " ")
# what stands in the form for the document and for required fields still empty
_STAND_IN = "…"


def estimate_token_count(text: str) -> int:
    """The estimated tokens of ``text`` (see the module docstring), rounded up."""
    wide = len(text) - len(_WIDE_CHARACTERS.sub("", text))
    return wide + -(-(len(text) - wide) // OTHER_CHARS_PER_TOKEN)


def estimate_tokens(text: str) -> Sequence[int]:
    """A ``Tokenize`` for ``measure_context_fit`` and ``split_to_fit`` that estimates: a sequence
    as long as ``estimate_token_count(text)`` (no ids; nothing is allocated)."""
    return range(estimate_token_count(text))


def prompt_around_field(scenario: Scenario, values: Mapping[str, str], field_name: str,
                        prompt_language: str) -> str:
    """The prompt ``scenario`` renders from ``values`` with a one-character stand-in added to
    ``field_name`` (after its text, if any): the text an attached document shares the context
    with. Required fields still empty get stand-ins too (a choice: its first option), and a value
    the scenario refuses (a number field holding text) is replaced, so this never raises for a
    form being filled in. KeyError when the scenario has no field ``field_name``."""
    scenario.field(field_name)
    filled = {name: str(value) for name, value in values.items()}
    filled[field_name] = (filled.get(field_name, "").rstrip() + "\n" + _STAND_IN).lstrip()
    for field in scenario.fields:
        if field.required and not filled.get(field.name, "").strip():
            filled[field.name] = _stand_in(field)
    for _attempt in range(len(scenario.fields) + 1):
        try:
            return scenario.render_prompt(filled, "en", prompt_language)
        except InvalidFieldValueError as error:
            filled[error.field_name] = _stand_in(scenario.field(error.field_name))
    raise AssertionError("every field holds a stand-in the scenario accepts")


def _stand_in(field: Field) -> str:
    if field.type == "choice":
        return field.options[0].value
    return "0" if field.type == "number" else _STAND_IN


@dataclass(frozen=True)
class TextPart:
    """One part of a split text and its tokens (counted alone)."""

    text: str
    tokens: int


def split_to_fit(text: str, tokenize: Tokenize, max_tokens: int) -> tuple[TextPart, ...]:
    """``text`` cut into consecutive parts of at most ``max_tokens`` tokens each, as counted by
    ``tokenize`` (see the module docstring); ``"".join`` of their texts is ``text``. One part when
    it fits already; none for an empty text. ValueError when ``max_tokens`` < 1."""
    if max_tokens < 1:
        raise ValueError(f"a part holds at least one token, not {max_tokens}")
    if not text:
        return ()
    parts: list[list[TextPart]] = [[]]
    for piece in _pieces(text, tokenize, max_tokens, 0):
        current = parts[-1]
        if current and sum(part.tokens for part in current) + piece.tokens > max_tokens:
            parts.append([piece])
        else:
            current.append(piece)
    return tuple(_fitted(parts, tokenize, max_tokens))


def _pieces(text: str, tokenize: Tokenize, max_tokens: int, level: int) -> list[TextPart]:
    """``text`` in pieces of at most ``max_tokens`` each, cut at ``_BOUNDARIES[level:]``."""
    tokens = len(tokenize(text))
    if tokens <= max_tokens or len(text) == 1:
        return [TextPart(text, tokens)]
    if level < len(_BOUNDARIES):
        chunks = _split_after(text, _BOUNDARIES[level])
        if len(chunks) == 1:
            return _pieces(text, tokenize, max_tokens, level + 1)
        return [piece for chunk in chunks
                for piece in _pieces(chunk, tokenize, max_tokens, level + 1)]
    middle = len(text) // 2
    return [*_pieces(text[:middle], tokenize, max_tokens, level),
            *_pieces(text[middle:], tokenize, max_tokens, level)]


def _split_after(text: str, boundary: str) -> list[str]:
    """``text`` cut after each ``boundary`` (which stays with the text before it)."""
    chunks = text.split(boundary)
    return [chunk + boundary for chunk in chunks[:-1]] + ([chunks[-1]] if chunks[-1] else [])


def _fitted(groups: list[list[TextPart]], tokenize: Tokenize,
            max_tokens: int) -> list[TextPart]:
    """Each group of pieces joined into one part, counted whole: pieces counted apart can take a
    token more together (a word cut at a boundary), so a part that does not fit gives its last
    piece to the next."""
    parts: list[TextPart] = []
    pending = [group for group in groups if group]
    while pending:
        group = pending.pop(0)
        joined = "".join(piece.text for piece in group)
        tokens = len(tokenize(joined))
        if tokens > max_tokens and len(group) > 1:
            pending.insert(0, group[:-1])
            if len(pending) > 1:
                pending[1] = [group[-1], *pending[1]]
            else:
                pending.append([group[-1]])
            continue
        parts.append(TextPart(joined, tokens))
    return parts

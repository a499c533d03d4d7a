r"""Scoring a batch: a reply's answer against the expected one, and two models' answers against
each other.

Fin-R1's own evaluation scores objective questions by rule-based (regular-expression) matching of
the final answer; this module does the same with the scenario's answer reader
(``app.core.reasoning.readers``), so a reply is read for scoring exactly as the chat view reads it.
An answer is reduced to its *key*: the few values that decide whether two answers are the same.

- ``verdict``: compliant / non-compliant ("unclear" is no answer).
- ``risk_grade``: the level (R1–R5 scale), the letter rating, the probability of default.
- ``esg_scores``: E, S, G and overall, as fractions of the reading's scale.
- ``number``: the value with multipliers and percent removed (56.87万元 = 568,700元), and as written.
- ``allocation``: asset → share; ``code_blocks``: the code of each block.
- otherwise (and for an expected cell the reader cannot read) the final ``\boxed{}`` text, compared
  without case, spaces or punctuation; an expected answer of choice letters ("A", "B、D") is
  compared with the letters standing alone in the box.

The expected cell is read with the same reader ("是", "No", "non_compliant", "中高风险", "R4",
"BBB-", "56.87万元", "E: 70, S: 60, G: 80"; a bare number is the overall ESG score). Numbers and
scores match within ``tolerance``: relative for values and probabilities (0.01 = 1 %), of the
scale for ESG scores (0.01 = 1 point of 100); an expected number may carry its own, "100 ± 0.5"
(absolute) or "7.8% ± 2%" (relative). Only what the expected cell states is checked (an expected
grade "R4" ignores the probability of default).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers import (
    AdvisoryReading,
    AnswerReading,
    CodeReading,
    EsgReading,
    NumberReading,
    RiskReading,
    VerdictReading,
    read_answer,
    read_verdict,
)
from app.core.scenarios.scenario import Scenario

DEFAULT_TOLERANCE = 0.01

AnswerKey = dict[str, Any]
"""The deciding values of an answer (JSON-ready; see the module docstring)."""

Outcome = Literal["correct", "wrong", "no_answer"]
"""How a row scored: ``no_answer`` when the reply has nothing readable (counted as not correct)."""

_YES_EXTRA = ["true", "t", "y", "1", "对", "正确"]
_NO_EXTRA = ["false", "f", "n", "0", "错", "错误"]
_OWN_TOLERANCE = re.compile(r"\s*(?:±|\+/-|\+-)\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*$")
_CHOICES = re.compile(r"[A-Fa-f](?:\s*[,，、/;；\s]\s*[A-Fa-f])*")
_LONE_LETTER = re.compile(r"(?<![A-Za-z])([A-F])(?![A-Za-z])")
_NOT_TEXT = re.compile(r"[\W_]+")
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class ExpectedAnswer:
    """An expected cell as read: its ``key`` (kind ``reader``, ``choices`` or ``text``), with
    the tolerance it states itself (``absolute``/``relative``; None: the run's)."""

    text: str
    key: AnswerKey
    absolute: float | None = None
    relative: float | None = None


def answer_key(reading: AnswerReading | None, final_box: str | None) -> AnswerKey | None:
    """The key of a reply: from its reading when it has one that decides, else from its final
    box; None when the reply gives no answer (no reading, an unclear verdict, no box)."""
    key = _reading_key(reading) if reading is not None else None
    if key is not None:
        return key
    if final_box is not None and _plain(final_box):
        return {"kind": "text", "text": _plain(final_box), "choices": _lone_letters(final_box)}
    return None


def _reading_key(reading: AnswerReading) -> AnswerKey | None:
    if isinstance(reading, VerdictReading):
        return None if reading.verdict == "unclear" else {"kind": "verdict",
                                                           "verdict": reading.verdict}
    if isinstance(reading, RiskReading):
        return {"kind": "risk_grade", "level": reading.level,
                "rating": reading.rating.upper() if reading.rating else None,
                "pd": reading.probability_of_default}
    if isinstance(reading, EsgReading):
        scores = {name: getattr(reading, name) / reading.scale
                  for name in ("environmental", "social", "governance", "overall")
                  if getattr(reading, name) is not None and reading.scale}
        return {"kind": "esg_scores", **scores} if scores else None
    if isinstance(reading, NumberReading):
        return {"kind": "number", "base": reading.base_value, "value": reading.value,
                "unit": reading.base_unit or reading.unit}
    if isinstance(reading, AdvisoryReading):
        shares = {a.asset: a.percent for a in reading.allocations}
        return {"kind": "allocation", "shares": shares} if shares else None
    if isinstance(reading, CodeReading):
        return {"kind": "code_blocks", "code": [" ".join(b.code.split()) for b in reading.blocks]}
    return None


def read_expected(scenario: Scenario, text: str) -> ExpectedAnswer | None:
    """An expected cell (see the module docstring) as an ``ExpectedAnswer``; None for an empty
    cell. Pure function."""
    text = text.strip()
    if not text:
        return None
    absolute = relative = None
    own = _OWN_TOLERANCE.search(text)
    if own and scenario.answer_reader.name == "number":
        amount = float(own.group(1))
        absolute, relative = (None, amount / 100) if own.group(2) else (amount, None)
        text = text[:own.start()].strip()
    key = _expected_reading_key(scenario, text)
    if key is None and _CHOICES.fullmatch(text):
        key = {"kind": "choices", "choices": "".join(sorted(set(text.upper()) & set("ABCDEF")))}
    if key is None:
        key = {"kind": "text", "text": _plain(text)}
    return ExpectedAnswer(text, key, absolute, relative)


def _expected_reading_key(scenario: Scenario, text: str) -> AnswerKey | None:
    reader = scenario.answer_reader.name
    # "non_compliant", "medium_high" (the readings' own names) read as the words they stand for
    readable = text.replace("_", "-")
    reading: AnswerReading | None
    if reader == "verdict":  # a cell may also say true/false, Y/N, 1/0, 对/错
        params = scenario.answer_reader.params
        reading = read_verdict("", readable, [*params["yes_words"], *_YES_EXTRA],
                               [*params["no_words"], *_NO_EXTRA])
    else:
        reading = read_answer(scenario, readable, readable)
    key = _reading_key(reading) if reading is not None else None
    if key is None and reader == "esg_scores" and _PLAIN_NUMBER.fullmatch(text):
        scale = float(scenario.answer_reader.params["scale"])
        key = {"kind": "esg_scores", "overall": float(text) / scale}
    return key


def score(expected: ExpectedAnswer, key: AnswerKey | None, final_box: str | None,
          tolerance: float = DEFAULT_TOLERANCE) -> Outcome:
    """Whether a reply with answer ``key`` and final box ``final_box`` gives the ``expected``
    answer (only what the expected cell states is checked)."""
    wanted = expected.key
    if wanted["kind"] == "choices":
        letters = _lone_letters(final_box or "")
        return "no_answer" if not letters else "correct" if letters == wanted["choices"] \
            else "wrong"
    if wanted["kind"] == "text":
        if final_box is None or not _plain(final_box):
            return "no_answer" if key is None else "wrong"
        return "correct" if _plain(final_box) == wanted["text"] else "wrong"
    if key is None:
        return "no_answer"
    if key["kind"] != wanted["kind"]:
        return "wrong"
    relative = expected.relative if expected.relative is not None else tolerance
    return "correct" if _covers(wanted, key, relative, expected.absolute) else "wrong"


def same_answer(first: AnswerKey | None, second: AnswerKey | None,
                tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two replies gave the same answer: both have one, and each key covers the other
    (every value either states, the other states alike, numbers within ``tolerance``)."""
    if first is None or second is None or first["kind"] != second["kind"]:
        return False
    return _covers(first, second, tolerance, None) and _covers(second, first, tolerance, None)


def _covers(wanted: AnswerKey, key: AnswerKey, relative: float, absolute: float | None) -> bool:
    """Every value ``wanted`` states, ``key`` states alike."""
    kind = wanted["kind"]
    if kind == "number":
        if _close(wanted["base"], key["base"], relative, absolute):
            return True
        # one side without a unit ("7.8" for "7.8%", "56.87" for "56.87万元"): as written
        return (not wanted["unit"] or not key["unit"]) and _close(
            wanted["value"], key["value"], relative, absolute)
    if kind == "esg_scores":
        return all(name in key and abs(value - key[name]) <= relative + 1e-12
                   for name, value in wanted.items() if name != "kind")
    if kind == "risk_grade":
        return all(key[name] is not None and (
            _close(value, key[name], relative, None) if name == "pd" else value == key[name])
            for name, value in wanted.items() if name != "kind" and value is not None)
    if kind == "allocation":
        shares = key["shares"]
        return set(shares) == set(wanted["shares"]) and all(
            _close(value, shares[asset], relative, None)
            for asset, value in wanted["shares"].items())
    return dict(wanted) == dict(key)


def _close(first: float, second: float, relative: float, absolute: float | None) -> bool:
    if absolute is not None:
        return abs(first - second) <= absolute + 1e-12
    return math.isclose(first, second, rel_tol=relative, abs_tol=1e-12)


def _plain(text: str) -> str:
    """Box or cell text as compared: LaTeX cleaned, NFKC, no case, no spaces or punctuation."""
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", clean_latex(text))).casefold()


def _lone_letters(text: str) -> str:
    """The choice letters A–F standing alone in ``text`` ("B", "A、C", "选B"), sorted."""
    return "".join(sorted(set(_LONE_LETTER.findall(unicodedata.normalize("NFKC", text)))))


# -- summaries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelScore:
    """One engine's figures over a run: rows answered, rows scored (with an expected answer)
    and correct, tokens generated and the seconds spent answering."""

    rows_done: int
    rows_failed: int
    rows_scored: int
    rows_correct: int
    completion_tokens: int
    seconds: float

    @property
    def accuracy(self) -> float | None:
        """Correct / scored, None when no row was scored."""
        return self.rows_correct / self.rows_scored if self.rows_scored else None

    @property
    def tokens_per_s(self) -> float | None:
        """Tokens generated per second of answering (prompt evaluation included)."""
        return self.completion_tokens / self.seconds if self.seconds > 0 else None


def model_score(outcomes: Sequence[Outcome | None], failed: int, tokens: int,
                seconds: float) -> ModelScore:
    """A ``ModelScore`` from the outcomes of an engine's answered rows (None: not scored)."""
    scored = [outcome for outcome in outcomes if outcome is not None]
    return ModelScore(len(outcomes), failed, len(scored),
                      sum(outcome == "correct" for outcome in scored), tokens, seconds)


@dataclass(frozen=True)
class Agreement:
    """How often the engines gave the same answer: ``per_row`` (row index → True/False, for
    rows every engine answered), ``pairs`` ((engine i, engine j) → share of those rows on which
    the two agreed)."""

    per_row: Mapping[int, bool]
    pairs: Mapping[tuple[int, int], float]

    @property
    def rate(self) -> float | None:
        """Share of the compared rows on which all engines agreed; None when none compared."""
        return sum(self.per_row.values()) / len(self.per_row) if self.per_row else None


def agreement(keys_by_engine: Sequence[Mapping[int, AnswerKey | None]],
              tolerance: float = DEFAULT_TOLERANCE) -> Agreement:
    """Agreement over the rows every engine answered; ``keys_by_engine[e][row]`` is engine
    ``e``'s answer key for the row. A row where an engine gave no answer counts as not agreed."""
    if len(keys_by_engine) < 2:
        return Agreement({}, {})
    rows = sorted(set.intersection(*(set(keys) for keys in keys_by_engine)))
    per_row = {row: all(same_answer(keys_by_engine[0][row], keys[row], tolerance)
                        for keys in keys_by_engine[1:]) for row in rows}
    pairs = {}
    for first in range(len(keys_by_engine)):
        for second in range(first + 1, len(keys_by_engine)):
            agreed = sum(same_answer(keys_by_engine[first][row], keys_by_engine[second][row],
                                     tolerance) for row in rows)
            pairs[(first, second)] = agreed / len(rows) if rows else 0.0
    return Agreement(per_row, pairs)

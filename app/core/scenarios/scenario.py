"""A scenario and how it renders a prompt: the model the rest of the app works with.

A scenario has its id and display order, title and help in Chinese and English, the form fields,
one prompt template per prompt language (each with an instruction fixing the reply language), the
answer reader that interprets the model's reply, and worked examples. Scenarios come from files
(``scenario_file``, which checks them); nothing here reads a file.

Templates use ``{{field_name}}`` placeholders, so LaTeX such as ``\\boxed{}`` needs no escaping. A
template line holding a placeholder of an optional field left empty is dropped, so optional
details vanish from the prompt instead of leaving a dangling label. The rendered prompt is the
template followed, on its own line, by the language instruction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from app.core.errors import InvalidFieldValueError, MissingFieldsError

Language = Literal["zh", "en"]
UI_LANGUAGES: tuple[Language, ...] = get_args(Language)
FieldType = Literal["text", "multiline", "number", "choice"]
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)

# A ``{{field_name}}`` placeholder in a prompt template.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")

_MISSING_MESSAGE = {
    "zh": "请填写必填项：{labels}",
    "en": "Please fill in the required fields: {labels}",
}
_LABEL_SEPARATOR = {"zh": "、", "en": ", "}
_NOT_A_NUMBER = {
    "zh": "“{label}”应填写数字，当前为“{value}”",
    "en": "“{label}” must be a number, not “{value}”",
}
_NOT_AN_OPTION = {
    "zh": "“{label}”只能选择：{options}（当前为“{value}”）",
    "en": "“{label}” must be one of: {options} (not “{value}”)",
}


@dataclass(frozen=True)
class Choice:
    """One option of a choice field.

    ``value`` is what callers pass in ``values``; ``label`` is shown in the form; ``prompt`` is the
    text put into the prompt (per language; the label when the file gives none).
    """

    value: str
    label: Mapping[str, str]
    prompt: Mapping[str, str]


@dataclass(frozen=True)
class Field:
    """One form field of type text, multiline, number or choice (``options`` only for choice).

    ``example`` is a short hint to show in the empty input, per UI language; ``{}`` when the file
    gives none.
    """

    name: str
    label: Mapping[str, str]
    type: FieldType
    required: bool
    options: tuple[Choice, ...]
    example: Mapping[str, str]

    def find_option(self, value: str) -> Choice | None:
        """The option whose value, or label in any language, equals ``value`` (stripped)."""
        wanted = value.strip()
        for option in self.options:
            if wanted == option.value or wanted in option.label.values():
                return option
        return None


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt in one language: the template and the sentence fixing the reply language."""

    template: str
    language_instruction: str


@dataclass(frozen=True)
class ReaderSpec:
    """Which answer reader interprets replies, with its parameters (defaults filled in)."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Example:
    """A worked example: a title per UI language and field values per prompt language."""

    title: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Scenario:
    """One scenario, as checked and built from its file (``source``)."""

    id: str
    order: int
    title: Mapping[str, str]
    help: Mapping[str, str]
    fields: tuple[Field, ...]
    prompts: Mapping[str, PromptTemplate]
    answer_reader: ReaderSpec
    examples: tuple[Example, ...]
    source: Path
    # the most reasoning tokens a reply gets (GenerationSettings.think_budget); None: no limit
    think_budget: int | None = None

    @property
    def prompt_languages(self) -> tuple[str, ...]:
        """The languages the scenario has prompts in (``calculation_en`` has only ``en``)."""
        return tuple(self.prompts)

    def prompt_language(self, lang: str) -> str:
        """The language the prompt is written in when the form is shown in ``lang``.

        ``lang`` itself when the scenario has a prompt in it, else its first prompt language.
        """
        return lang if lang in self.prompts else self.prompt_languages[0]

    def field(self, name: str) -> Field:
        """The field called ``name``; KeyError if there is none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def render_prompt(self, values: Mapping[str, str], lang: Language,
                      prompt_lang: str | None = None) -> str:
        """The user prompt for ``values`` (field name → text), with the form shown in ``lang``.

        The prompt is written in ``prompt_language(prompt_lang or lang)``: a window in English
        may ask in Chinese. Values are stripped; a choice value may be an option's value or its
        label. Unknown keys in ``values`` are ignored.

        Raises ``MissingFieldsError`` naming every empty required field (labels in ``lang``) and
        ``InvalidFieldValueError`` for a number field that is not a number or a choice that is not
        an option. Error messages are in ``lang``.
        """
        ui_lang = lang if lang in UI_LANGUAGES else "en"
        prompt_lang = self.prompt_language(prompt_lang or lang)
        cleaned = {f.name: str(values.get(f.name, "") or "").strip() for f in self.fields}
        missing = [f for f in self.fields if f.required and not cleaned[f.name]]
        if missing:
            labels = _LABEL_SEPARATOR[ui_lang].join(f.label[ui_lang] for f in missing)
            raise MissingFieldsError(
                _MISSING_MESSAGE[ui_lang].format(labels=labels),
                tuple(f.name for f in missing),
            )
        substitutions = {
            f.name: self._prompt_text(f, cleaned[f.name], prompt_lang, ui_lang)
            for f in self.fields
        }
        prompt = self.prompts[prompt_lang]
        lines = [
            PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], line)
            for line in prompt.template.splitlines()
            if all(substitutions[name] for name in PLACEHOLDER.findall(line))
        ]
        return "\n".join(lines).rstrip() + "\n" + prompt.language_instruction

    def example_values(self, n: int, lang: Language = "zh") -> dict[str, str]:
        """Field values of worked example ``n`` (0-based) for a form shown in ``lang``.

        The values are in the prompt language (``prompt_language(lang)``). IndexError when the
        scenario has no example ``n``.
        """
        return dict(self.examples[n].values[self.prompt_language(lang)])

    @staticmethod
    def _prompt_text(field: Field, value: str, prompt_lang: str, ui_lang: str) -> str:
        if not value:
            return ""
        if field.type == "number" and not _NUMBER.match(value.replace(",", "")):
            message = _NOT_A_NUMBER[ui_lang].format(label=field.label[ui_lang], value=value)
            raise InvalidFieldValueError(message, field.name)
        if field.type == "choice":
            option = field.find_option(value)
            if option is None:
                names = " / ".join(o.label[ui_lang] for o in field.options)
                message = _NOT_AN_OPTION[ui_lang].format(
                    label=field.label[ui_lang], options=names, value=value
                )
                raise InvalidFieldValueError(message, field.name)
            return option.prompt[prompt_lang]
        return value


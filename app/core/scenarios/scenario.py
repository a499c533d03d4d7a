"""Scenarios as data: one TOML file per scenario under ``resources/scenarios/``.

A scenario file holds its id and display order, title and help in Chinese and English, the form
fields, one prompt template per prompt language (each with an instruction fixing the reply
language), the answer reader that interprets the model's reply, and worked examples. Adding a
scenario adds a file; nothing in code lists the scenarios.

Templates use ``{{field_name}}`` placeholders, so LaTeX such as ``\\boxed{}`` needs no escaping. A
template line holding a placeholder of an optional field left empty is dropped, so optional
details vanish from the prompt instead of leaving a dangling label. The rendered prompt is the
template followed, on its own line, by the language instruction.

Every file is validated on load; a problem raises ``ScenarioFileError`` naming the file and the
offending key.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.core.errors import (
    InvalidFieldValueError,
    MissingFieldsError,
    ScenarioFileError,
    UnknownScenarioError,
)
from app.core.installation.resources import resource_path
from app.core.reasoning.answer_readers import READERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

Language = Literal["zh", "en"]
UI_LANGUAGES: tuple[Language, ...] = ("zh", "en")
FIELD_TYPES = ("text", "multiline", "number", "choice")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")

_TOP_KEYS = {"id", "order", "title", "help", "prompt_languages", "fields", "prompt", "answer",
             "examples", "think_budget"}
_FIELD_KEYS = {"name", "label", "type", "required", "options", "example"}
_OPTION_KEYS = {"value", "label", "prompt"}
_PROMPT_KEYS = {"template", "language_instruction"}
_ANSWER_KEYS = {"reader", "params"}
_EXAMPLE_KEYS = {"title", "values"}

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
    type: str
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
    """One scenario, as loaded and validated from its file (``source``)."""

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
            _PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], line)
            for line in prompt.template.splitlines()
            if all(substitutions[name] for name in _PLACEHOLDER.findall(line))
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


def default_scenarios_dir() -> Path:
    """Where the shipped scenario files live (``resources/scenarios``, see
    ``app.core.installation.resources``)."""
    return resource_path("scenarios")


def load_scenarios(directory: Path | None = None) -> list[Scenario]:
    """Every ``*.toml`` scenario in ``directory`` (default: the shipped ones), sorted by order, id.

    Raises ``ScenarioFileError`` when the directory is missing or holds no scenario file, when a
    file is not valid TOML or fails validation, or when two files share an id. Reads files only.
    """
    directory = default_scenarios_dir() if directory is None else Path(directory)
    if not directory.is_dir():
        raise ScenarioFileError(
            f"Scenario folder {directory} does not exist; reinstall the app or set "
            f"FINR1_RESOURCES to the folder that holds 'scenarios/'."
        )
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise ScenarioFileError(f"No scenario files (*.toml) in {directory}.")
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for path in paths:
        scenario = load_scenario_file(path)
        if scenario.id in seen:
            raise ScenarioFileError(
                f"{path}: id '{scenario.id}' is already used by {seen[scenario.id]}; "
                "give each scenario its own id."
            )
        seen[scenario.id] = path
        scenarios.append(scenario)
    return sorted(scenarios, key=lambda s: (s.order, s.id))


def get_scenario(scenario_id: str, directory: Path | None = None) -> Scenario:
    """The scenario with id ``scenario_id`` from ``load_scenarios(directory)``.

    Raises ``UnknownScenarioError`` (listing the known ids) when there is none, and whatever
    ``load_scenarios`` raises.
    """
    scenarios = load_scenarios(directory)
    for scenario in scenarios:
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(s.id for s in scenarios)
    raise UnknownScenarioError(f"Unknown scenario '{scenario_id}'; known scenarios: {known}.")


def load_scenario_file(path: Path) -> Scenario:
    """One scenario file, parsed and validated; ``ScenarioFileError`` naming ``path`` otherwise."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise ScenarioFileError(f"{path}: cannot be read ({error.strerror}).") from error
    except tomllib.TOMLDecodeError as error:
        raise ScenarioFileError(f"{path}: not valid TOML: {error}") from error
    except UnicodeDecodeError as error:
        raise ScenarioFileError(f"{path}: not UTF-8 text: {error}") from error
    try:
        return _ScenarioBuilder(document, path).build()
    except _Invalid as problem:
        raise ScenarioFileError(f"{path}: {problem}") from None


class _Invalid(Exception):
    """A validation problem inside one file; turned into ScenarioFileError with the file name."""


class _ScenarioBuilder:
    """Turns one parsed TOML document into a Scenario, checking every key on the way."""

    def __init__(self, document: dict[str, Any], path: Path) -> None:
        self.document = document
        self.path = path

    def build(self) -> Scenario:
        doc = self.document
        _check_keys(doc, _TOP_KEYS, "the file")
        scenario_id = _require(doc, "id", str, "the file")
        if scenario_id != self.path.stem:
            raise _Invalid(f"id '{scenario_id}' must equal the file name '{self.path.stem}'")
        order = _require(doc, "order", int, "the file")
        prompt_languages = self._prompt_languages()
        fields = self._fields(prompt_languages)
        prompts = self._prompts(prompt_languages, {f.name for f in fields})
        return Scenario(
            id=scenario_id,
            order=order,
            title=_bilingual(doc, "title", "the file"),
            help=_bilingual(doc, "help", "the file"),
            fields=fields,
            prompts=prompts,
            answer_reader=self._reader(),
            examples=self._examples(fields, prompt_languages),
            source=self.path,
            think_budget=self._think_budget(),
        )

    def _think_budget(self) -> int | None:
        if "think_budget" not in self.document:
            return None
        budget = _require(self.document, "think_budget", int, "the file")
        if budget < 1:
            raise _Invalid(f"the file: 'think_budget' must be at least 1 token, not {budget}")
        return budget

    def _prompt_languages(self) -> tuple[str, ...]:
        languages = self.document.get("prompt_languages", list(UI_LANGUAGES))
        if (
            not isinstance(languages, list)
            or not languages
            or any(lang not in UI_LANGUAGES for lang in languages)
            or len(set(languages)) != len(languages)
        ):
            raise _Invalid("'prompt_languages' must be a non-empty list of distinct 'zh' / 'en'")
        return tuple(languages)

    def _fields(self, prompt_languages: tuple[str, ...]) -> tuple[Field, ...]:
        raw_fields = _require(self.document, "fields", list, "the file")
        if not raw_fields:
            raise _Invalid("'fields' is empty; a scenario needs at least one form field")
        fields: list[Field] = []
        for index, raw in enumerate(raw_fields):
            where = f"fields[{index}]"
            if not isinstance(raw, dict):
                raise _Invalid(f"{where} must be a table")
            _check_keys(raw, _FIELD_KEYS, where)
            name = _require(raw, "name", str, where)
            if not _FIELD_NAME.match(name):
                raise _Invalid(f"{where}: name '{name}' must be lower_snake_case")
            if any(f.name == name for f in fields):
                raise _Invalid(f"{where}: field name '{name}' is used twice")
            where = f"field '{name}'"
            field_type = _require(raw, "type", str, where)
            if field_type not in FIELD_TYPES:
                raise _Invalid(
                    f"{where}: type '{field_type}' is not one of {', '.join(FIELD_TYPES)}"
                )
            fields.append(
                Field(
                    name=name,
                    label=_bilingual(raw, "label", where),
                    type=field_type,
                    required=_require(raw, "required", bool, where),
                    options=self._options(raw, field_type, where, prompt_languages),
                    example=_bilingual(raw, "example", where) if "example" in raw else {},
                )
            )
        return tuple(fields)

    @staticmethod
    def _options(
        raw: dict[str, Any], field_type: str, where: str, prompt_languages: tuple[str, ...]
    ) -> tuple[Choice, ...]:
        if field_type != "choice":
            if "options" in raw:
                raise _Invalid(f"{where}: only choice fields have 'options'")
            return ()
        raw_options = _require(raw, "options", list, where)
        if not raw_options:
            raise _Invalid(f"{where}: a choice field needs at least one option")
        options: list[Choice] = []
        for index, option in enumerate(raw_options):
            option_where = f"{where} options[{index}]"
            if not isinstance(option, dict):
                raise _Invalid(f"{option_where} must be a table")
            _check_keys(option, _OPTION_KEYS, option_where)
            label = _bilingual(option, "label", option_where)
            prompt = (
                _languages(option, "prompt", option_where, prompt_languages)
                if "prompt" in option
                else label
            )
            options.append(
                Choice(_require(option, "value", str, option_where), label, prompt)
            )
        if len({o.value for o in options}) != len(options):
            raise _Invalid(f"{where}: two options share a value")
        return tuple(options)

    def _prompts(
        self, prompt_languages: tuple[str, ...], field_names: set[str]
    ) -> dict[str, PromptTemplate]:
        raw_prompts = _require(self.document, "prompt", dict, "the file")
        extra = set(raw_prompts) - set(prompt_languages)
        if extra:
            raise _Invalid(
                f"prompt.{sorted(extra)[0]} is not among prompt_languages "
                f"({', '.join(prompt_languages)})"
            )
        prompts: dict[str, PromptTemplate] = {}
        for lang in prompt_languages:
            where = f"prompt.{lang}"
            if lang not in raw_prompts:
                raise _Invalid(f"missing [{where}]: every prompt language needs a template")
            raw = raw_prompts[lang]
            if not isinstance(raw, dict):
                raise _Invalid(f"[{where}] must be a table")
            _check_keys(raw, _PROMPT_KEYS, where)
            template = _require_text(raw, "template", where)
            _check_placeholders(template, field_names, where)
            prompts[lang] = PromptTemplate(
                template=template,
                language_instruction=_require_text(raw, "language_instruction", where).strip(),
            )
        return prompts

    def _reader(self) -> ReaderSpec:
        raw = _require(self.document, "answer", dict, "the file")
        _check_keys(raw, _ANSWER_KEYS, "[answer]")
        name = _require(raw, "reader", str, "[answer]")
        if name not in READERS:
            raise _Invalid(
                f"[answer] reader '{name}' is unknown; known readers: "
                f"{', '.join(sorted(READERS))}"
            )
        defaults = READERS[name].defaults
        given = raw.get("params", {})
        if not isinstance(given, dict):
            raise _Invalid("[answer.params] must be a table")
        for key, value in given.items():
            if key not in defaults:
                allowed = ", ".join(sorted(defaults)) or "none"
                raise _Invalid(
                    f"[answer.params] '{key}' is not a parameter of reader '{name}' "
                    f"(its parameters: {allowed})"
                )
            default = defaults[key]
            if type(value) is not type(default) or (
                isinstance(value, list) and not all(isinstance(item, str) for item in value)
            ):
                kind = "a list of strings" if isinstance(default, list) else _KIND_NAMES.get(
                    type(default), "a " + type(default).__name__
                )
                raise _Invalid(f"[answer.params] '{key}' must be {kind}")
        return ReaderSpec(name=name, params={**defaults, **given})

    def _examples(
        self, fields: tuple[Field, ...], prompt_languages: tuple[str, ...]
    ) -> tuple[Example, ...]:
        raw_examples = self.document.get("examples", [])
        if not isinstance(raw_examples, list):
            raise _Invalid("'examples' must be an array of tables ([[examples]])")
        by_name = {f.name: f for f in fields}
        examples: list[Example] = []
        for index, raw in enumerate(raw_examples):
            where = f"examples[{index}]"
            if not isinstance(raw, dict):
                raise _Invalid(f"{where} must be a table")
            _check_keys(raw, _EXAMPLE_KEYS, where)
            raw_values = _require(raw, "values", dict, where)
            values: dict[str, dict[str, str]] = {}
            for lang in prompt_languages:
                lang_values = raw_values.get(lang)
                if not isinstance(lang_values, dict):
                    raise _Invalid(f"{where}: missing [values.{lang}]")
                _check_example_values(lang_values, by_name, f"{where}.values.{lang}")
                values[lang] = dict(lang_values)
            examples.append(Example(title=_bilingual(raw, "title", where), values=values))
        return tuple(examples)


def _check_example_values(values: dict[str, Any], fields: dict[str, Field], where: str) -> None:
    for name, value in values.items():
        if name not in fields:
            raise _Invalid(f"{where}: '{name}' is not a field of this scenario")
        if not isinstance(value, str):
            raise _Invalid(f"{where}: '{name}' must be a string")
        field = fields[name]
        if field.type == "choice" and field.find_option(value) is None:
            raise _Invalid(f"{where}: '{value}' is not an option of field '{name}'")
    for field in fields.values():
        if field.required and not str(values.get(field.name, "")).strip():
            raise _Invalid(f"{where}: required field '{field.name}' has no value")


def _check_placeholders(template: str, field_names: set[str], where: str) -> None:
    for name in _PLACEHOLDER.findall(template):
        if name not in field_names:
            raise _Invalid(f"{where}: the template uses {{{{{name}}}}} but no field is named '{name}'")
    leftover = _PLACEHOLDER.sub("", template)
    if "{{" in leftover or "}}" in leftover:
        raise _Invalid(f"{where}: the template has a malformed '{{{{…}}}}' placeholder")


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _Invalid(
            f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})"
        )


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise _Invalid(f"{where}: missing '{key}'")
    value = table[key]
    # bool is an int subclass; an order of `true` is a mistake, not 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Invalid(f"{where}: '{key}' must be {_KIND_NAMES.get(kind, 'a ' + kind.__name__)}")
    return value


def _require_text(table: dict[str, Any], key: str, where: str) -> str:
    text = _require(table, key, str, where)
    if not text.strip():
        raise _Invalid(f"{where}: '{key}' is empty")
    return text


def _bilingual(table: dict[str, Any], key: str, where: str) -> dict[str, str]:
    return _languages(table, key, where, UI_LANGUAGES)


def _languages(
    table: dict[str, Any], key: str, where: str, languages: tuple[str, ...]
) -> dict[str, str]:
    texts = _require(table, key, dict, where)
    result: dict[str, str] = {}
    for lang in languages:
        text = texts.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise _Invalid(f"{where}: '{key}' has no text in language '{lang}'")
        result[lang] = text
    unknown = sorted(set(texts) - set(UI_LANGUAGES))
    if unknown:
        raise _Invalid(f"{where}: '{key}' has text in unknown language '{unknown[0]}'")
    return result


_KIND_NAMES = {str: "a string", int: "an integer", bool: "a boolean (true/false)", list: "a list",
               dict: "a table"}

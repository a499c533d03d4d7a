"""Scenario files: one TOML file per scenario under ``resources/scenarios/``, checked on load.

The file format is declared below as pydantic models, one per TOML table (``ScenarioFile`` is the
whole file); rules that span tables (prompt languages, placeholders, examples) are the
``ScenarioFile`` validators. Adding a scenario adds a file; nothing in code lists the scenarios.

Every problem raises ``ScenarioFileError`` naming the file, where in it (``field 'scale'
options[0]``, ``prompt.en``, ``[answer.params]``) and what is wrong, one line per problem.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import Field as Rule
from pydantic_core import ErrorDetails, PydanticCustomError

from app.core.errors import ScenarioFileError, UnknownScenarioError
from app.core.installation.resources import resource_path
from app.core.reasoning.readers import READERS
from app.core.scenarios.scenario import (
    PLACEHOLDER,
    UI_LANGUAGES,
    Choice,
    Example,
    Field,
    FieldType,
    PromptTemplate,
    ReaderSpec,
    Scenario,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _texts_in(required_languages: tuple[str, ...]) -> AfterValidator:
    """A check of a ``{zh = …, en = …}`` table: text in each required language, no blank text,
    no language the app does not know."""
    def check(texts: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        def no_text_in(lang: str) -> ValueError:
            return ValueError(f"'{info.field_name}' has no text in language '{lang}'")
        for lang in required_languages:
            if not texts.get(lang, "").strip():
                raise no_text_in(lang)
        unknown = sorted(set(texts) - set(UI_LANGUAGES))
        if unknown:
            raise ValueError(f"'{info.field_name}' has text in unknown language '{unknown[0]}'")
        for lang, text in texts.items():
            if not text.strip():
                raise no_text_in(lang)
        return texts
    return AfterValidator(check)


def _not_blank(text: str, info: ValidationInfo) -> str:
    if not text.strip():
        raise ValueError(f"'{info.field_name}' is empty")
    return text


def _table_problem(message: str) -> PydanticCustomError:
    """A problem with a whole table, raised by its model validators: shown after the table's
    place in the file (a field validator's ValueError is shown after the table holding the key)."""
    return PydanticCustomError("table_problem", message)


Bilingual = Annotated[dict[str, str], _texts_in(UI_LANGUAGES)]
# Per prompt language; which languages must be there is the file's rule (ScenarioFile).
PromptTexts = Annotated[dict[str, str], _texts_in(())]
NonBlankText = Annotated[str, AfterValidator(_not_blank)]


class _Table(BaseModel):
    """A TOML table: values of exactly the declared types, no keys beyond the declared ones."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _only_known_keys(cls, data: Any) -> Any:
        unknown = sorted(set(data) - set(cls.model_fields)) if isinstance(data, dict) else []
        if unknown:
            allowed = ", ".join(sorted(cls.model_fields))
            raise _table_problem(f"unknown key '{unknown[0]}' (allowed: {allowed})")
        return data


class OptionTable(_Table):
    """``[[fields.options]]``: one option of a choice field; ``prompt`` defaults to the label."""

    value: str
    label: Bilingual
    prompt: PromptTexts | None = None

    def to_choice(self) -> Choice:
        return Choice(self.value, self.label, self.prompt or self.label)


class FieldTable(_Table):
    """``[[fields]]``: one form field."""

    name: str
    label: Bilingual
    type: FieldType
    required: bool
    options: list[OptionTable] | None = None
    example: Bilingual | None = None

    @field_validator("name")
    @classmethod
    def _snake_case(cls, name: str) -> str:
        if not _FIELD_NAME.match(name):
            raise ValueError(f"name '{name}' must be lower_snake_case")
        return name

    @model_validator(mode="after")
    def _options_for_choices_only(self) -> FieldTable:
        if self.type != "choice":
            if self.options is not None:
                raise _table_problem("only choice fields have 'options'")
        elif not self.options:
            raise _table_problem("a choice field needs 'options': at least one [[fields.options]]")
        elif len({option.value for option in self.options}) != len(self.options):
            raise _table_problem("two options share a value")
        return self

    def to_field(self) -> Field:
        return Field(self.name, self.label, self.type, self.required,
                     tuple(option.to_choice() for option in self.options or ()), self.example or {})


class PromptTable(_Table):
    """``[prompt.<lang>]``: the template in one language and its reply-language instruction."""

    template: NonBlankText
    language_instruction: NonBlankText

    @field_validator("template")
    @classmethod
    def _well_formed_placeholders(cls, template: str) -> str:
        leftover = PLACEHOLDER.sub("", template)
        if "{{" in leftover or "}}" in leftover:
            raise ValueError("the template has a malformed '{{…}}' placeholder")
        return template


class AnswerTable(_Table):
    """``[answer]``: the reader that interprets replies and its ``params`` (see ``READERS``)."""

    reader: str
    params: dict[str, Any] = {}

    @field_validator("reader")
    @classmethod
    def _known_reader(cls, name: str) -> str:
        if name not in READERS:
            raise ValueError(f"reader '{name}' is unknown; known readers: "
                             f"{', '.join(sorted(READERS))}")
        return name

    @model_validator(mode="after")
    def _params_of_the_reader(self) -> AnswerTable:
        defaults = READERS[self.reader].defaults
        for key, value in self.params.items():
            if key not in defaults:
                raise _table_problem(f"params '{key}' is not a parameter of reader "
                                     f"'{self.reader}' (its parameters: "
                                     f"{', '.join(sorted(defaults)) or 'none'})")
            default = defaults[key]
            if type(value) is not type(default) or (
                    isinstance(value, list) and not all(isinstance(item, str) for item in value)):
                kind = ("a list of strings" if isinstance(default, list)
                        else _KIND_OF_TYPE.get(type(default), "a " + type(default).__name__))
                raise _table_problem(f"params '{key}' must be {kind}")
        return self

    def to_reader_spec(self) -> ReaderSpec:
        return ReaderSpec(self.reader, {**READERS[self.reader].defaults, **self.params})


class ExampleTable(_Table):
    """``[[examples]]``: a title per UI language and field values per prompt language."""

    title: Bilingual
    values: dict[str, dict[str, str]]


class ScenarioFile(_Table):
    """A whole scenario file. Validate with ``context={"file_stem": …}``: the id must match it."""

    id: str
    order: int
    title: Bilingual
    help: Bilingual
    prompt_languages: list[str] = list(UI_LANGUAGES)
    fields: Annotated[list[FieldTable], Rule(min_length=1)]
    prompt: dict[str, PromptTable]
    answer: AnswerTable
    examples: list[ExampleTable] = []
    # the most reasoning tokens a reply gets (GenerationSettings.think_budget); None: no limit
    think_budget: Annotated[int | None, Rule(ge=1)] = None

    @field_validator("id")
    @classmethod
    def _id_is_the_file_name(cls, scenario_id: str, info: ValidationInfo) -> str:
        file_stem = (info.context or {}).get("file_stem", scenario_id)
        if scenario_id != file_stem:
            raise ValueError(f"id '{scenario_id}' must equal the file name '{file_stem}'; "
                             "rename one of them")
        return scenario_id

    @field_validator("prompt_languages")
    @classmethod
    def _distinct_ui_languages(cls, languages: list[str]) -> list[str]:
        if (not languages or len(set(languages)) != len(languages)
                or not set(languages) <= set(UI_LANGUAGES)):
            raise ValueError("'prompt_languages' must be a non-empty list of distinct 'zh' / 'en'")
        return languages

    @field_validator("fields")
    @classmethod
    def _distinct_field_names(cls, fields: list[FieldTable]) -> list[FieldTable]:
        names = [field.name for field in fields]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice is not None:
            raise ValueError(f"field name '{twice}' is used twice; give each field its own name")
        return fields

    @model_validator(mode="after")
    def _a_prompt_per_language(self) -> ScenarioFile:
        extra = sorted(set(self.prompt) - set(self.prompt_languages))
        if extra:
            raise _table_problem(f"prompt.{extra[0]} is not among prompt_languages "
                                 f"({', '.join(self.prompt_languages)})")
        for lang in self.prompt_languages:
            if lang not in self.prompt:
                raise _table_problem(f"missing [prompt.{lang}]: every prompt language needs a "
                                     "template")
        return self

    @model_validator(mode="after")
    def _placeholders_name_fields(self) -> ScenarioFile:
        names = {field.name for field in self.fields}
        for lang, prompt in self.prompt.items():
            for name in PLACEHOLDER.findall(prompt.template):
                if name not in names:
                    raise _table_problem(f"prompt.{lang}: the template uses {{{{{name}}}}} but "
                                         f"no field is named '{name}'")
        return self

    @model_validator(mode="after")
    def _option_prompts_in_every_prompt_language(self) -> ScenarioFile:
        for field in self.fields:
            for index, option in enumerate(field.options or ()):
                missing = [lang for lang in self.prompt_languages
                           if option.prompt is not None and lang not in option.prompt]
                if missing:
                    raise _table_problem(f"field '{field.name}' options[{index}]: 'prompt' has "
                                         f"no text in language '{missing[0]}'")
        return self

    @model_validator(mode="after")
    def _examples_fill_the_form(self) -> ScenarioFile:
        fields = {field.name: field.to_field() for field in self.fields}
        for index, example in enumerate(self.examples):
            for lang in self.prompt_languages:
                where = f"examples[{index}].values.{lang}"
                if lang not in example.values:
                    raise _table_problem(f"examples[{index}]: missing [values.{lang}]")
                _check_example_values(example.values[lang], fields, where)
        return self

    def to_scenario(self, source: Path) -> Scenario:
        return Scenario(
            id=self.id,
            order=self.order,
            title=self.title,
            help=self.help,
            fields=tuple(field.to_field() for field in self.fields),
            prompts={lang: PromptTemplate(self.prompt[lang].template,
                                          self.prompt[lang].language_instruction.strip())
                     for lang in self.prompt_languages},
            answer_reader=self.answer.to_reader_spec(),
            examples=tuple(Example(example.title, {lang: dict(example.values[lang])
                                                   for lang in self.prompt_languages})
                           for example in self.examples),
            source=source,
            think_budget=self.think_budget,
        )


def _check_example_values(values: dict[str, str], fields: dict[str, Field], where: str) -> None:
    for name, value in values.items():
        if name not in fields:
            raise _table_problem(f"{where}: '{name}' is not a field of this scenario")
        if fields[name].type == "choice" and fields[name].find_option(value) is None:
            raise _table_problem(f"{where}: '{value}' is not an option of field '{name}'")
    for field in fields.values():
        if field.required and not values.get(field.name, "").strip():
            raise _table_problem(f"{where}: required field '{field.name}' has no value")


# -- loading ------------------------------------------------------------------------------------

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
    """One scenario file, parsed and checked; ``ScenarioFileError`` naming ``path`` and every
    problem found otherwise."""
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
        checked = ScenarioFile.model_validate(document, context={"file_stem": path.stem})
    except ValidationError as invalid:
        problems = [_describe(error, document) for error in invalid.errors()]
        raise ScenarioFileError("\n".join(f"{path}: {problem}" for problem in problems)) from None
    return checked.to_scenario(path)


# -- problems in words --------------------------------------------------------------------------

_KIND_OF_TYPE = {str: "a string", int: "an integer", bool: "a boolean (true/false)",
                 list: "a list", dict: "a table"}
# pydantic's error types for a value of the wrong TOML type, and the type a person should write
_KIND_OF_ERROR = {"string_type": _KIND_OF_TYPE[str], "int_type": _KIND_OF_TYPE[int],
                  "bool_type": _KIND_OF_TYPE[bool], "list_type": _KIND_OF_TYPE[list],
                  "dict_type": _KIND_OF_TYPE[dict], "model_type": _KIND_OF_TYPE[dict]}


def _describe(error: ErrorDetails, document: dict[str, Any]) -> str:
    """One pydantic error as a sentence: where in the file, then the problem.

    A table problem is about the table at ``loc``; pydantic's own errors and the field validators'
    ValueErrors are about the key that ends ``loc`` (the latter name it themselves), or about a
    list item when ``loc`` ends in an index.
    """
    loc, kind, context = error["loc"], error["type"], error.get("ctx", {})
    if kind == "table_problem":
        return _at(_where(loc, document), error["msg"])
    if not loc or not isinstance(loc[-1], str):  # a list item itself, e.g. fields = [5]
        item = _where(loc, document)
        return (f"{item} must be {_KIND_OF_ERROR[kind]}" if kind in _KIND_OF_ERROR
                else _at(item, error["msg"]))
    key = loc[-1]
    if kind == "value_error":
        problem = str(context["error"])
    elif kind == "missing":
        problem = f"missing '{key}'"
    elif kind in _KIND_OF_ERROR:
        problem = f"'{key}' must be {_KIND_OF_ERROR[kind]}"
    elif kind == "literal_error":
        problem = f"{key} '{error['input']}' is not one of {context['expected']}"
    elif kind == "too_short":
        problem = f"'{key}' is empty; give at least one"
    elif kind == "greater_than_equal":
        problem = f"'{key}' must be at least {context['ge']}, not {error['input']}"
    else:
        problem = f"'{key}': {error['msg']}"
    return _at(_where(loc[:-1], document), problem)


def _at(where: str, problem: str) -> str:
    return f"{where}: {problem}" if where else problem


def _where(loc: tuple[int | str, ...], document: dict[str, Any]) -> str:
    """A place in the file as a person finds it: ``field 'scale' options[0]``, ``prompt.en``."""
    prefix, rest = "", loc
    if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
        raw_fields = document.get("fields")
        raw = raw_fields[loc[1]] if isinstance(raw_fields, list) else None
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            prefix, rest = f"field '{raw['name']}'", loc[2:]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)
    path = path.lstrip(".")
    return f"{prefix} {path}" if prefix and path else prefix or path

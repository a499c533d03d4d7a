"""``finr1 scenarios``: list the scenarios with their titles and form fields.

Text output shows one block per scenario (id, title, then one line per field; ``*`` marks a
required field) in one language: ``--lang``, else the locale's (Chinese for a ``zh_*`` locale,
English otherwise). ``--json`` prints a JSON list for scripts that carries every text in both
languages (``"title": {"zh": …, "en": …}``, as in the scenario files), whatever the locale.
"""

from __future__ import annotations

import argparse
import json
import locale
import os
from collections.abc import Mapping
from typing import Any

from app.core.scenarios.scenario import UI_LANGUAGES, Field, Language, Scenario
from app.core.scenarios.scenario_file import load_scenarios

# POSIX's order for the locale of messages: the first of these that is set decides.
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scenarios`` subcommand."""
    parser = subparsers.add_parser(
        "scenarios",
        help="list the finance scenarios and their form fields",
        description="List the finance scenarios, their titles and form fields.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print JSON carrying every text in both languages instead of text")
    parser.add_argument(
        "--lang", choices=UI_LANGUAGES,
        help="language of the text output's titles and labels (default: the locale's; "
             "--json always carries both)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the scenarios; returns 0. Raises ScenarioFileError if a scenario file is broken."""
    scenarios = load_scenarios()
    if args.json:
        print(json.dumps([scenario_summary(s) for s in scenarios], ensure_ascii=False, indent=2))
    else:
        lang = args.lang or locale_language()
        print("\n".join(_text_block(s, lang) for s in scenarios), end="")
    return 0


def locale_language(environ: Mapping[str, str] | None = None) -> Language:
    """The language the locale asks for: "zh" when the first of LC_ALL, LC_MESSAGES and LANG
    that is set in ``environ`` (default ``os.environ``) names Chinese ("zh_CN.UTF-8", "zh_TW"),
    else "en" ("C", "C.UTF-8", "en_US.UTF-8"). With none set (Windows), the process's locale
    decides ("Chinese (Simplified)_China" is Chinese)."""
    variables = os.environ if environ is None else environ
    name = next((variables[v] for v in _LOCALE_VARIABLES if variables.get(v)), None)
    if name is None:
        name = locale.getlocale()[0] or ""
    return "zh" if name.lower().startswith(("zh", "chinese")) else "en"


def scenario_summary(scenario: Scenario) -> dict[str, Any]:
    """A scenario as JSON-ready data, each text as ``{"zh": …, "en": …}``."""
    return {
        "id": scenario.id,
        "order": scenario.order,
        "title": _both(scenario.title),
        "help": _both(scenario.help),
        "prompt_languages": list(scenario.prompt_languages),
        "reader": scenario.answer_reader.name,
        "examples": [_both(example.title) for example in scenario.examples],
        "fields": [_field_summary(field) for field in scenario.fields],
    }


def _both(texts: Mapping[str, str]) -> dict[str, str]:
    return {lang: texts[lang] for lang in UI_LANGUAGES}


def _field_summary(field: Field) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "name": field.name,
        "label": _both(field.label),
        "type": field.type,
        "required": field.required,
    }
    if field.options:
        summary["options"] = [
            {"value": option.value, "label": _both(option.label)} for option in field.options
        ]
    return summary


def _text_block(scenario: Scenario, lang: str) -> str:
    lines = [f"{scenario.id}  {scenario.title[lang]}"]
    width = max(len(field.name) for field in scenario.fields) + 2
    for field in scenario.fields:
        name = field.name + (" *" if field.required else "")
        kind: str = field.type
        if field.options:
            kind += ": " + ", ".join(option.value for option in field.options)
        lines.append(f"    {name:<{width}}  {field.label[lang]}  [{kind}]")
    return "\n".join(lines) + "\n"

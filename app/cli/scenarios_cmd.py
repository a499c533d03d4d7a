"""``finr1 scenarios``: list the scenarios with their titles and form fields.

Text output shows one block per scenario (id, title, then one line per field; ``*`` marks a
required field); ``--json`` prints the same as a JSON list for scripts. ``--lang`` picks the
language of titles and labels.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.core.scenarios import UI_LANGUAGES, Field, Scenario, load_scenarios


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scenarios`` subcommand."""
    parser = subparsers.add_parser(
        "scenarios",
        help="list the finance scenarios and their form fields",
        description="List the finance scenarios, their titles and form fields.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--lang", choices=UI_LANGUAGES, default="zh", help="language of titles and labels"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the scenarios; returns 0. Raises ScenarioFileError if a scenario file is broken."""
    scenarios = load_scenarios()
    if args.json:
        print(json.dumps([scenario_summary(s, args.lang) for s in scenarios],
                         ensure_ascii=False, indent=2))
    else:
        print("\n".join(_text_block(s, args.lang) for s in scenarios), end="")
    return 0


def scenario_summary(scenario: Scenario, lang: str) -> dict[str, Any]:
    """A scenario as JSON-ready data, with texts in ``lang``."""
    return {
        "id": scenario.id,
        "order": scenario.order,
        "title": scenario.title[lang],
        "help": scenario.help[lang],
        "prompt_languages": list(scenario.prompt_languages),
        "reader": scenario.answer_reader.name,
        "examples": [example.title[lang] for example in scenario.examples],
        "fields": [_field_summary(field, lang) for field in scenario.fields],
    }


def _field_summary(field: Field, lang: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "name": field.name,
        "label": field.label[lang],
        "type": field.type,
        "required": field.required,
    }
    if field.options:
        summary["options"] = [
            {"value": option.value, "label": option.label[lang]} for option in field.options
        ]
    return summary


def _text_block(scenario: Scenario, lang: str) -> str:
    lines = [f"{scenario.id}  {scenario.title[lang]}"]
    width = max(len(field.name) for field in scenario.fields) + 2
    for field in scenario.fields:
        name = field.name + (" *" if field.required else "")
        kind = field.type
        if field.options:
            kind += ": " + ", ".join(option.value for option in field.options)
        lines.append(f"    {name:<{width}}  {field.label[lang]}  [{kind}]")
    return "\n".join(lines) + "\n"

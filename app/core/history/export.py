"""A stored conversation as a document an analyst can file: Markdown or standalone HTML, each turn
with its question, form values, reasoning (optional), answer, final answer and a provenance block
(model file and SHA-256, quant type, sampling settings, seed, app version, time, how the reply
ended and what it cost). The PDF is the HTML printed by Qt (``app.ui.history.pdf_export``).

HTML renders the answer and reasoning as the chat view does (``app.core.chat.rich_text``: highlighted
code, math as MathML, the scenario's reading badges) with ``resources/export/export.css`` inlined,
so the file needs nothing else to be read or printed. Markdown writes the question and answer as
the Markdown they are, mended only where they would break the document (``app.core.history.export_markdown``).

Documents are labelled in English or Chinese (``language``) with the chat view's texts
(``app.core.chat.labels``): the same metrics line and badges a reply had on screen. The
conversation's own text is never translated.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from app.core.chat.labels import LANGUAGES, ChatLabels, chat_labels
from app.core.chat.markdown_stream import split_blocks
from app.core.chat.reading_badges import reading_html
from app.core.chat.rich_text import RichTextRenderer, boxed_chip_html
from app.core.errors import ExportError
from app.core.history.export_markdown import contained_markdown
from app.core.history.store import Conversation, StoredTurn
from app.core.installation.resources import resource_path
from app.core.reasoning.parser import ParsedReply, parse_text
from app.core.reasoning.readers import read_reply
from app.core.scenarios.scenario import Scenario
from foundation.atomic import atomic_output

EXPORT_FORMATS = ("md", "html", "pdf")
_LINE_BREAK = re.compile(r"[ \t]*[\r\n][ \t\r\n]*")


def _labels(language: str) -> ChatLabels:
    if language not in LANGUAGES:
        raise ExportError(f"documents can be labelled in {', '.join(LANGUAGES)}, not {language!r}")
    return chat_labels(language)


def _scenario_title(scenario_id: str | None, scenarios: Mapping[str, Scenario],
                    labels: ChatLabels) -> str:
    if scenario_id is None:
        return labels.text("export", "free_chat")
    scenario = scenarios.get(scenario_id)
    return scenario.title[labels.language] if scenario is not None else scenario_id


def _reply(turn: StoredTurn) -> ParsedReply:
    return parse_text(turn.reply_text)


def form_rows(turn: StoredTurn, scenarios: Mapping[str, Scenario],
              language: str) -> list[tuple[str, str]]:
    """The turn's form values as (field label, value) rows; a choice shows its option's label."""
    scenario = scenarios.get(turn.scenario_id or "")
    rows = []
    for name, value in turn.form_values.items():
        label, shown = name, value
        if scenario is not None:
            try:
                field = scenario.field(name)
            except KeyError:
                field = None
            if field is not None:
                label = field.label[language]
                option = field.find_option(value) if field.options and value else None
                shown = option.label[language] if option is not None else value
        rows.append((label, shown))
    return rows


def provenance_rows(turn: StoredTurn, labels: ChatLabels) -> list[tuple[str, str]]:
    """The provenance block of one turn as (label, value) rows, in ``labels``' language."""
    record = turn.provenance
    sampling: dict[str, Any] = record.get("sampling") or {}
    metrics = turn.metrics or {}
    label = partial(labels.text, "export")
    unknown = label("unknown")
    sampling_text = ", ".join(
        f"{name} {sampling[key]}" for key, name in (
            ("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"),
            ("min_p", "min_p"), ("repeat_penalty", "repeat_penalty"),
            ("repeat_last_n", "repeat_last_n"), ("max_new_tokens", "max_new_tokens"))
        if key in sampling) or unknown
    seed = metrics.get("seed", sampling.get("seed"))
    if record.get("server_url"):  # a remote engine answered: the server and its model id
        rows = [(label("server"), str(record["server_url"])),
                (label("server_model"), str(record.get("server_model") or unknown))]
    else:
        rows = [
            (label("model_file"), str(record.get("model_file") or unknown)),
            (label("sha256"), str(record.get("model_sha256") or unknown)),
            (label("quant"), str(record.get("model_quant") or unknown)),
        ]
    if record.get("library_id"):
        rows.append((label("library_id"), str(record["library_id"])))
    rows += [
        (label("sampling"), sampling_text),
        (label("seed"), str(seed) if seed is not None else unknown),
        (label("system_prompt"), str(sampling.get("system_prompt") or label("none"))),
        (label("app_version"), str(record.get("app_version") or unknown)),
        (label("time"), str(record.get("time") or unknown)),
        (label("ended"), _ending(turn, labels) + (f": {turn.error}" if turn.error else "")),
    ]
    if metrics:
        rows.append((label("metrics"), _metrics_text(metrics, labels)))
    return rows


def _ending(turn: StoredTurn, labels: ChatLabels) -> str:
    """How the turn ended, in words; a status this app version does not know, as stored."""
    if turn.status in labels.texts["ended"]:
        return labels.text("ended", turn.status)
    return turn.status


def _metrics_text(metrics: Mapping[str, Any], labels: ChatLabels) -> str:
    """The chat view's metrics line for a stored turn's ``metrics`` (``TurnMetrics.to_dict``),
    with the prompt's tokens; a count the record lacks reads 0."""
    return labels.metrics_line(
        metrics.get("tokens_per_s"), metrics.get("ttft_s"), metrics.get("think_tokens", 0),
        metrics.get("answer_tokens", 0), prompt_tokens=metrics.get("prompt_tokens", 0),
        dropped_messages=metrics.get("dropped_messages", 0),
        reasoning_stopped_at=metrics.get("reasoning_stopped_at"),
        draft_tokens=metrics.get("draft_tokens", 0),
        accepted_tokens=metrics.get("accepted_tokens", 0))


def _subtitle(conversation: Conversation, scenarios: Mapping[str, Scenario],
              labels: ChatLabels) -> str:
    scenario = _scenario_title(conversation.summary.scenario_id, scenarios, labels)
    return labels.text("export", "subtitle", scenario, time.strftime("%Y-%m-%d %H:%M:%S %z"))


# -- Markdown -----------------------------------------------------------------------------------


def conversation_markdown(conversation: Conversation, scenarios: Mapping[str, Scenario], *,
                          include_think: bool = True, language: str = "en") -> str:
    """The conversation as Markdown (math left as the model wrote it, in ``$…$``)."""
    labels = _labels(language)
    label = partial(labels.text, "export")
    lines = [f"# {_one_line(conversation.title)}", "",
             f"_{_subtitle(conversation, scenarios, labels)}_", ""]
    for turn in conversation.turns:
        reply = _reply(turn)
        lines += [f"## {label('turn', turn.position)}", "",
                  f"### {label('question')}", "", contained_markdown(turn.question.strip()), ""]
        if turn.form_values:
            lines += [f"### {label('form')}", "", "| | |", "|---|---|"]
            lines += [f"| {_md_cell(name)} | {_md_cell(value)} |"
                      for name, value in form_rows(turn, scenarios, language)]
            lines.append("")
        if include_think and reply.think.strip():
            lines += [f"### {label('reasoning')}", ""]
            lines += [f"> {line}" if line else ">" for line in reply.think.strip().splitlines()]
            lines.append("")
        elif not include_think and reply.think.strip():
            lines += [f"_{label('think_omitted')}_", ""]
        lines += [f"### {label('answer')}", "", contained_markdown(reply.answer.strip()), ""]
        if reply.final is not None:
            lines += [f"**{labels.text('page', 'final_answer')}:** {_one_line(reply.final)}", ""]
        lines += [f"### {label('provenance')}", "", "| | |", "|---|---|"]
        lines += [f"| {_md_cell(name)} | {_md_cell(value)} |"
                  for name, value in provenance_rows(turn, labels)]
        lines.append("")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """``text`` with each line break (and the spaces around it) as one space, as a Markdown
    reader shows a paragraph, so no line of it can start a block of its own."""
    return _LINE_BREAK.sub(" ", text)


def _md_cell(text: str) -> str:
    """``text`` as one Markdown table cell that shows it literally: HTML in it is escaped (model
    and form text must not become markup) and every kind of line break is a ``<br>``, since a raw
    ``\\r`` ends the table row in Markdown readers."""
    escaped = html.escape(text, quote=False).replace("|", "\\|")
    return "<br>".join(escaped.splitlines())


# -- HTML ---------------------------------------------------------------------------------------


def render_markdown(text: str, renderer: RichTextRenderer) -> str:
    """A whole section's markdown as HTML, block by block, as the chat view renders it."""
    return "\n".join(renderer.render(block) for block in split_blocks(text))


def conversation_html(conversation: Conversation, scenarios: Mapping[str, Scenario], *,
                      include_think: bool = True, language: str = "en") -> str:
    """The conversation as one standalone HTML document (styles inlined, math as MathML)."""
    labels = _labels(language)
    label = partial(labels.text, "export")
    renderer = RichTextRenderer()
    escape = html.escape
    body = [f"<h1>{escape(conversation.title)}</h1>",
            f'<p class="subtitle">{escape(_subtitle(conversation, scenarios, labels))}</p>']
    for turn in conversation.turns:
        reply = _reply(turn)
        body += [f'<h2 class="turn">{escape(label("turn", turn.position))}</h2>',
                 _part(label("question")),
                 f'<div class="question">{escape(turn.question.strip())}</div>']
        if turn.form_values:
            body.append(_part(label("form")))
            body.append(_table(form_rows(turn, scenarios, language), "form"))
        if include_think and reply.think.strip():
            body += [_part(label("reasoning")),
                     f'<div class="think">{render_markdown(reply.think, renderer)}</div>']
        elif reply.think.strip():
            body.append(f'<p class="status">{escape(label("think_omitted"))}</p>')
        body.append(_part(label("answer")))
        badges = _reading(turn, reply, scenarios, labels)
        if badges:
            body.append(f'<div class="reading">{badges}</div>')
        if reply.boxed:
            body.append(f'<div class="final">{escape(labels.text("page", "final_answer"))}: '
                        f"{boxed_chip_html(reply.boxed[-1])}</div>")
        body.append(f'<div class="answer">{render_markdown(reply.answer, renderer)}</div>')
        body.append(f'<section class="provenance"><h3>{escape(label("provenance"))}</h3>'
                    f'{_table(provenance_rows(turn, labels), "provenance")}</section>')
    style = resource_path("export", "export.css").read_text(encoding="utf-8")
    return ("<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if language == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{escape(conversation.title)}</title>"
            f"<style>{style}\n{_code_styles()}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _reading(turn: StoredTurn, reply: ParsedReply, scenarios: Mapping[str, Scenario],
             labels: ChatLabels) -> str:
    reading = read_reply(scenarios.get(turn.scenario_id or ""), reply)
    return reading_html(reading, labels=labels)


def _part(label: str) -> str:
    return f'<h3 class="part">{html.escape(label)}</h3>'


def _table(rows: list[tuple[str, str]], css_class: str) -> str:
    cells = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                    for label, value in rows)
    return f'<table class="{css_class}">{cells}</table>'


def _code_styles() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


# -- files --------------------------------------------------------------------------------------


def export_text(conversation: Conversation, scenarios: Mapping[str, Scenario],
                export_format: str, *, include_think: bool = True,
                language: str = "en") -> str:
    """The document of ``export_format`` ``md`` or ``html``; ExportError for another format."""
    if export_format == "md":
        return conversation_markdown(conversation, scenarios, include_think=include_think,
                                     language=language)
    if export_format == "html":
        return conversation_html(conversation, scenarios, include_think=include_think,
                                 language=language)
    raise ExportError(f"the format {export_format!r} is not written as text; choose md or html "
                      "(pdf is printed by the app)")


def write_export(text: str, output_path: Path) -> Path:
    """Write an exported document atomically (no half-written file under its name); returns
    the path. Raises ExportError when it cannot be written."""
    output_path = Path(output_path)
    try:
        with atomic_output(output_path) as partial:
            partial.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ExportError(f"cannot write {output_path}: {error.strerror or error}; choose "
                          "another place") from error
    return output_path

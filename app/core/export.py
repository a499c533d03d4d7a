"""A stored conversation as a document an analyst can file: Markdown or standalone HTML, each turn
with its question, form values, reasoning (optional), answer, final answer and a provenance block
(model file and SHA-256, quant type, sampling settings, seed, app version, time, how the reply
ended and what it cost). The PDF is the HTML printed by Qt (``app.ui.pdf_export``).

HTML renders the answer and reasoning as the chat view does (``app.core.rich_text``: highlighted
code, math as MathML, the scenario's reading badges) with ``resources/export/export.css`` inlined,
so the file needs nothing else to be read or printed. Documents are labelled in English or
Chinese (``language``); the conversation's own text is never translated.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.core.answer_readers import read_reply
from app.core.chat_labels import chat_labels
from app.core.errors import ExportError
from app.core.history import Conversation, StoredTurn
from app.core.markdown_stream import BlockSplitter
from app.core.reading_badges import reading_html
from app.core.reasoning import ParsedReply, parse_text
from app.core.resources import resource_path
from app.core.rich_text import RichTextRenderer, boxed_chip_html
from app.core.scenarios import Scenario
from quant.atomic import atomic_output

EXPORT_FORMATS = ("md", "html", "pdf")
LANGUAGES = ("en", "zh")

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "scenario": "Scenario", "free_chat": "Free chat", "exported": "Exported",
        "by": "by Fin-R1 Studio", "turn": "Turn", "question": "Question", "form": "Form input",
        "reasoning": "Reasoning", "answer": "Answer", "final": "Final answer",
        "provenance": "Provenance", "model_file": "Model file", "sha256": "Model SHA-256",
        "quant": "Quant type", "library_id": "Library model", "sampling": "Sampling",
        "seed": "Seed", "system_prompt": "System prompt", "app_version": "App version",
        "time": "Time", "ended": "Ended", "metrics": "Metrics", "unknown": "unknown",
        "none": "none", "think_omitted": "Reasoning omitted from this export.",
        "status_done": "finished", "status_length": "stopped at the token limit",
        "status_stopped": "stopped by the user", "status_error": "failed",
        "status_interrupted": "interrupted (the app stopped before the reply finished)",
        "status_streaming": "still being generated",
    },
    "zh": {
        "scenario": "场景", "free_chat": "自由对话", "exported": "导出时间",
        "by": "由 Fin-R1 Studio 导出", "turn": "第", "question": "问题", "form": "表单输入",
        "reasoning": "推理过程", "answer": "回答", "final": "最终答案",
        "provenance": "来源信息", "model_file": "模型文件", "sha256": "模型 SHA-256",
        "quant": "量化类型", "library_id": "模型库条目", "sampling": "采样参数",
        "seed": "随机种子", "system_prompt": "系统提示词", "app_version": "应用版本",
        "time": "时间", "ended": "结束方式", "metrics": "性能指标", "unknown": "未知",
        "none": "无", "think_omitted": "本导出未包含推理过程。",
        "status_done": "正常结束", "status_length": "达到长度上限而停止",
        "status_stopped": "被用户停止", "status_error": "失败",
        "status_interrupted": "中断（应用在回答完成前退出）",
        "status_streaming": "仍在生成中",
    },
}


def _labels(language: str) -> dict[str, str]:
    if language not in _LABELS:
        raise ExportError(f"documents can be labelled in {', '.join(LANGUAGES)}, not {language!r}")
    return _LABELS[language]


def _turn_heading(labels: dict[str, str], position: int, language: str) -> str:
    return f"第 {position} 轮" if language == "zh" else f"{labels['turn']} {position}"


def _scenario_title(scenario_id: str | None, scenarios: Mapping[str, Scenario],
                    labels: dict[str, str], language: str) -> str:
    if scenario_id is None:
        return labels["free_chat"]
    scenario = scenarios.get(scenario_id)
    return scenario.title[language] if scenario is not None else scenario_id


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


def provenance_rows(turn: StoredTurn, labels: dict[str, str]) -> list[tuple[str, str]]:
    """The provenance block of one turn as (label, value) rows, in the document's language."""
    record = turn.provenance
    sampling: dict[str, Any] = record.get("sampling") or {}
    metrics = turn.metrics or {}
    unknown = labels["unknown"]
    sampling_text = ", ".join(
        f"{name} {sampling[key]}" for key, name in (
            ("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"),
            ("min_p", "min_p"), ("repeat_penalty", "repeat_penalty"),
            ("repeat_last_n", "repeat_last_n"), ("max_new_tokens", "max_new_tokens"))
        if key in sampling) or unknown
    seed = metrics.get("seed", sampling.get("seed"))
    rows = [
        (labels["model_file"], str(record.get("model_file") or unknown)),
        (labels["sha256"], str(record.get("model_sha256") or unknown)),
        (labels["quant"], str(record.get("model_quant") or unknown)),
    ]
    if record.get("library_id"):
        rows.append((labels["library_id"], str(record["library_id"])))
    rows += [
        (labels["sampling"], sampling_text),
        (labels["seed"], str(seed) if seed is not None else unknown),
        (labels["system_prompt"], str(sampling.get("system_prompt") or labels["none"])),
        (labels["app_version"], str(record.get("app_version") or unknown)),
        (labels["time"], str(record.get("time") or unknown)),
        (labels["ended"], labels.get(f"status_{turn.status}", turn.status)
         + (f": {turn.error}" if turn.error else "")),
    ]
    if metrics:
        rows.append((labels["metrics"], _metrics_text(metrics)))
    return rows


def _metrics_text(metrics: Mapping[str, Any]) -> str:
    parts = []
    if metrics.get("tokens_per_s") is not None:
        parts.append(f"{metrics['tokens_per_s']:.1f} tok/s")
    if metrics.get("ttft_s") is not None:
        parts.append(f"first token {metrics['ttft_s']:.2f} s")
    parts.append(f"prompt {metrics.get('prompt_tokens', 0)} tokens")
    parts.append(f"think {metrics.get('think_tokens', 0)} · answer "
                 f"{metrics.get('answer_tokens', 0)} tokens")
    if metrics.get("dropped_messages"):
        parts.append(f"{metrics['dropped_messages']} earlier messages left out to fit the context")
    return " · ".join(parts)


def _header(conversation: Conversation, scenarios: Mapping[str, Scenario],
            labels: dict[str, str], language: str) -> tuple[str, str]:
    scenario = _scenario_title(conversation.summary.scenario_id, scenarios, labels, language)
    exported = time.strftime("%Y-%m-%d %H:%M:%S %z")
    return scenario, f"{labels['scenario']}: {scenario} · {labels['exported']}: {exported} " \
                     f"{labels['by']}"


# -- Markdown -----------------------------------------------------------------------------------


def conversation_markdown(conversation: Conversation, scenarios: Mapping[str, Scenario], *,
                          include_think: bool = True, language: str = "en") -> str:
    """The conversation as Markdown (math left as the model wrote it, in ``$…$``)."""
    labels = _labels(language)
    _scenario, subtitle = _header(conversation, scenarios, labels, language)
    lines = [f"# {conversation.title}", "", f"_{subtitle}_", ""]
    for turn in conversation.turns:
        reply = _reply(turn)
        lines += [f"## {_turn_heading(labels, turn.position, language)}", "",
                  f"### {labels['question']}", "", turn.question.strip(), ""]
        if turn.form_values:
            lines += [f"### {labels['form']}", "", "| | |", "|---|---|"]
            lines += [f"| {_md_cell(label)} | {_md_cell(value)} |"
                      for label, value in form_rows(turn, scenarios, language)]
            lines.append("")
        if include_think and reply.think.strip():
            lines += [f"### {labels['reasoning']}", ""]
            lines += [f"> {line}" if line else ">" for line in reply.think.strip().splitlines()]
            lines.append("")
        elif not include_think and reply.think.strip():
            lines += [f"_{labels['think_omitted']}_", ""]
        lines += [f"### {labels['answer']}", "", reply.answer.strip(), ""]
        if reply.final is not None:
            lines += [f"**{labels['final']}:** {reply.final}", ""]
        lines += [f"### {labels['provenance']}", "", "| | |", "|---|---|"]
        lines += [f"| {_md_cell(label)} | {_md_cell(value)} |"
                  for label, value in provenance_rows(turn, labels)]
        lines.append("")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    """``text`` as one Markdown table cell that shows it literally: HTML in it is escaped (model
    and form text must not become markup) and every kind of line break is a ``<br>``, since a raw
    ``\\r`` ends the table row in Markdown readers."""
    escaped = html.escape(text, quote=False).replace("|", "\\|")
    return "<br>".join(escaped.splitlines())


# -- HTML ---------------------------------------------------------------------------------------


def render_markdown(text: str, renderer: RichTextRenderer) -> str:
    """A whole section's markdown as HTML, block by block, as the chat view renders it."""
    splitter = BlockSplitter()
    splitter.feed(text)
    splitter.finish()
    return "\n".join(renderer.render(block) for block in splitter.closed)


def conversation_html(conversation: Conversation, scenarios: Mapping[str, Scenario], *,
                      include_think: bool = True, language: str = "en") -> str:
    """The conversation as one standalone HTML document (styles inlined, math as MathML)."""
    labels = _labels(language)
    _scenario, subtitle = _header(conversation, scenarios, labels, language)
    renderer = RichTextRenderer()
    escape = html.escape
    body = [f"<h1>{escape(conversation.title)}</h1>",
            f'<p class="subtitle">{escape(subtitle)}</p>']
    for turn in conversation.turns:
        reply = _reply(turn)
        heading = escape(_turn_heading(labels, turn.position, language))
        body += [f'<h2 class="turn">{heading}</h2>',
                 _part(labels["question"]),
                 f'<div class="question">{escape(turn.question.strip())}</div>']
        if turn.form_values:
            body.append(_part(labels["form"]))
            body.append(_table(form_rows(turn, scenarios, language), "form"))
        if include_think and reply.think.strip():
            body += [_part(labels["reasoning"]),
                     f'<div class="think">{render_markdown(reply.think, renderer)}</div>']
        elif reply.think.strip():
            body.append(f'<p class="status">{escape(labels["think_omitted"])}</p>')
        body.append(_part(labels["answer"]))
        badges = _reading(turn, reply, scenarios, language)
        if badges:
            body.append(f'<div class="reading">{badges}</div>')
        if reply.boxed:
            body.append(f'<div class="final">{escape(labels["final"])}: '
                        f"{boxed_chip_html(reply.boxed[-1])}</div>")
        body.append(f'<div class="answer">{render_markdown(reply.answer, renderer)}</div>')
        body.append(f'<section class="provenance"><h3>{escape(labels["provenance"])}</h3>'
                    f'{_table(provenance_rows(turn, labels), "provenance")}</section>')
    style = resource_path("export", "export.css").read_text(encoding="utf-8")
    return ("<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if language == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{escape(conversation.title)}</title>"
            f"<style>{style}\n{_code_styles()}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _reading(turn: StoredTurn, reply: ParsedReply, scenarios: Mapping[str, Scenario],
             language: str) -> str:
    reading = read_reply(scenarios.get(turn.scenario_id or ""), reply)
    return reading_html(reading, labels=chat_labels(language))


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

"""The conversation export speaks as the chat view does: its labels, the metrics line and the
reading badges come from ``resources/chat/labels.toml`` in the document's language. And the text
of a turn, Markdown or HTML by nature, cannot break the document the export builds around it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from app.core.chat.labels import chat_labels
from app.core.chat.reply_document import ReplyDocument, ReplyOutcome
from app.core.chat.rich_text import RichTextRenderer
from app.core.engine.turn_metrics import FinishReason, TurnMetrics
from app.core.history.export import conversation_html, conversation_markdown
from app.core.history.store import Conversation, HistoryStore
from app.core.reasoning.parser import parse_text
from app.core.scenarios.scenario_file import load_scenarios
from tests.support.fin_r1_replies import COMPLIANCE

SCENARIOS = {scenario.id: scenario for scenario in load_scenarios()}
METRICS = TurnMetrics(prompt_tokens=90, prompt_eval_tokens=90, prompt_eval_s=0.2,
                      completion_tokens=300, ttft_s=0.4, decode_s=13.9, tokens_per_s=21.5,
                      think_tokens=120, think_s=5.0, answer_tokens=180, answer_s=8.9, seed=4242,
                      dropped_messages=3)
HOSTILE = "</details></div><script>alert(1)</script>"


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def saved(store: HistoryStore, reply_text: str, *, question: str = "Is this structuring?",
          finish_reason: FinishReason = "stop", metrics: TurnMetrics = METRICS) -> Conversation:
    """A one-turn compliance conversation as the app records it (metrics from TurnMetrics)."""
    conversation_id = store.create_conversation(question, "compliance")
    turn_id = store.begin_turn(conversation_id, question, scenario_id="compliance",
                               provenance={"model_file": "Fin-R1.Q4_K_M.gguf"})
    reply = parse_text(reply_text)
    store.finish_turn(turn_id, reply_text=reply_text, think=reply.think, answer=reply.answer,
                      finish_reason=finish_reason, metrics=metrics.to_dict())
    return store.conversation(conversation_id)


def table_row(markdown_text: str, label: str) -> str:
    """The value of the Markdown table row labelled ``label``."""
    prefix = f"| {label} | "
    return next(line[len(prefix):-2] for line in markdown_text.splitlines()
                if line.startswith(prefix))


def answer_section(markdown_text: str) -> str:
    """What the Markdown export wrote between its Answer heading and its Provenance heading."""
    found = re.search(r"\n### Answer\n\n(.*?)\n\n### Provenance\n", markdown_text, re.DOTALL)
    assert found is not None, markdown_text
    return found.group(1)


def chat_view_metrics(language: str, metrics: TurnMetrics = METRICS) -> str:
    """The metrics line the chat view shows under a reply measured as ``metrics``."""
    document = ReplyDocument("t1", RichTextRenderer(), 0.0, labels=chat_labels(language))
    ops = document.finish(ReplyOutcome(parse_text(COMPLIANCE), "stop", metrics), 14.0)
    return next(op[2] for op in ops if op[0] == "metrics")


# -- labels ---------------------------------------------------------------------------------------


def test_a_chinese_export_writes_the_metrics_line_and_badges_in_chinese(
        store: HistoryStore) -> None:
    conversation = saved(store, COMPLIANCE)
    chinese_metrics = ("21.5 词元/秒 · 首词元 0.4 秒 · 提示词 90 个词元 · 思考 120 · 答案 180 个词元"
                       " · 为适应上下文省略了 3 条较早的消息")
    text = conversation_markdown(conversation, SCENARIOS, language="zh")
    assert table_row(text, "性能指标") == chinese_metrics
    page = conversation_html(conversation, SCENARIOS, language="zh")
    assert f"<th>性能指标</th><td>{chinese_metrics}</td>" in page
    assert '<span class="badge-label">结论</span> 不合规' in page
    for english in ("tok/s", "first token", "tokens", "Verdict", "Non-compliant"):
        assert english not in text and english not in page


@pytest.mark.parametrize(("language", "byline", "headings", "final", "rows"), [
    pytest.param("en", ("_Scenario: {title} · Exported: ", " by Fin-R1 Studio_"),
                 ("## Turn 1", "### Question", "### Reasoning", "### Answer", "### Provenance"),
                 "**Final answer:** ", {"Ended": "finished", "Model SHA-256": "unknown"},
                 id="English"),
    pytest.param("zh", ("_场景: {title} · 导出时间: ", " 由 Fin-R1 Studio 导出_"),
                 ("## 第 1 轮", "### 问题", "### 推理过程", "### 回答", "### 来源信息"),
                 "**最终答案:** ", {"结束方式": "正常结束", "模型 SHA-256": "未知"}, id="Chinese"),
])
def test_an_export_keeps_its_labels_in_its_language(
        store: HistoryStore, language: str, byline: tuple[str, str], headings: tuple[str, ...],
        final: str, rows: dict[str, str]) -> None:
    text = conversation_markdown(saved(store, COMPLIANCE), SCENARIOS, language=language)
    lines = text.splitlines()
    opening, ending = byline
    assert lines[2].startswith(opening.format(title=SCENARIOS["compliance"].title[language]))
    assert lines[2].endswith(ending)
    assert [heading for heading in headings if heading not in lines] == []
    assert any(line.startswith(final) for line in lines)
    assert {label: table_row(text, label) for label in rows} == rows


def test_an_english_export_names_the_model_file_and_measures_the_reply(
        store: HistoryStore) -> None:
    text = conversation_markdown(saved(store, COMPLIANCE), SCENARIOS)
    assert table_row(text, "Model file") == "Fin-R1.Q4_K_M.gguf"
    assert table_row(text, "Metrics") == (
        "21.5 tok/s · first token 0.4 s · prompt 90 tokens · think 120 · answer 180 tokens"
        " · 3 earlier messages left out to fit the context")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_exported_metrics_line_is_the_chat_views_with_the_prompt_and_lost_context(
        store: HistoryStore, language: str) -> None:
    label = "性能指标" if language == "zh" else "Metrics"
    exported = table_row(conversation_markdown(saved(store, COMPLIANCE), SCENARIOS,
                                               language=language), label).split(" · ")
    shown = chat_view_metrics(language).split(" · ")
    assert [part for part in exported if part in shown] == shown
    assert len(exported) == len(shown) + 2  # the prompt's tokens and the messages left out


@pytest.mark.parametrize(("language", "drafts"), [("en", "drafts accepted 39/52 (75%)"),
                                                  ("zh", "草稿接受 39/52（75%）")])
def test_an_export_of_a_drafted_turn_says_how_many_drafts_were_accepted_as_the_chat_view_did(
        store: HistoryStore, language: str, drafts: str) -> None:
    drafted = dataclasses.replace(METRICS, draft_tokens=52, accepted_tokens=39)
    label = "性能指标" if language == "zh" else "Metrics"
    exported = table_row(conversation_markdown(saved(store, COMPLIANCE, metrics=drafted),
                                               SCENARIOS, language=language), label)
    assert exported.split(" · ")[-1] == drafts
    assert drafts in chat_view_metrics(language, drafted)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_export_of_a_turn_without_drafts_says_nothing_of_them(
        store: HistoryStore, language: str) -> None:
    text = conversation_markdown(saved(store, COMPLIANCE), SCENARIOS, language=language)
    assert "drafts" not in text and "草稿" not in text


# -- the model's text inside the document -----------------------------------------------------------


@pytest.mark.parametrize(("answer", "written"), [
    # A fence glued to the prose before it is moved onto its own line, as the chat view draws it
    # (strictly it is no fence, and the reply's closing ``` would open one).
    ("Code follows:```python\nprint(1)\n```", "Code follows:\n```python\nprint(1)\n```"),
    ("代码如下：```\nSELECT 1;```\n完毕。", "代码如下：\n```\nSELECT 1;\n```\n完毕。"),
    # Cut off at the token limit inside its code.
    ("```python\nx = 1", "```python\nx = 1\n```"),
    # A closing fence left of its list item's code ends the item and opens a block of its own:
    # the code is written as a block of the document, fenced at the margin.
    ("1. Step\n   ```python\n   x = 1\n  ```", "1. Step\n```python\n   x = 1\n```"),
])
def test_a_fence_the_answer_leaves_open_is_closed_before_the_documents_own_lines(
        store: HistoryStore, answer: str, written: str) -> None:
    conversation = saved(store, f"<think>t</think>{answer}", finish_reason="length")
    assert answer_section(conversation_markdown(conversation, SCENARIOS)) == written


def test_the_question_cannot_leave_a_fence_open_either(store: HistoryStore) -> None:
    question = "Why does this fail?\n```sql\nSELECT 1"
    text = conversation_markdown(saved(store, COMPLIANCE, question=question), SCENARIOS)
    section = text.split("### Question\n\n", 1)[1].split("\n\n### ", 1)[0]
    assert section == question + "\n```"


def test_well_formed_markdown_is_written_as_the_model_wrote_it(store: HistoryStore) -> None:
    answer = ("1. Step\n   ```python\n   x = 1\n   ```\n2. Next\n\n~~~text\n```\n~~~\n\n"
              "A <b>bold</b> word and `<div>` in code.\n\n<https://example.com>\n\n"
              "````\n```html\n<div>\n```\n````")
    conversation = saved(store, f"<think>t</think>{answer}")
    assert answer_section(conversation_markdown(conversation, SCENARIOS)) == answer


def test_a_line_that_would_open_a_raw_html_block_is_shown_as_text_in_markdown(
        store: HistoryStore) -> None:
    answer = "<!-- hidden\n\n<script>alert(1)\n\n</details>\n\n  <div>\n**after**"
    conversation = saved(store, f"<think>t</think>{answer}")
    assert answer_section(conversation_markdown(conversation, SCENARIOS)) == (
        "\\<!-- hidden\n\n\\<script>alert(1)\n\n\\</details>\n\n  \\<div>\n**after**")


def test_the_title_and_the_final_answer_stay_on_their_line(store: HistoryStore) -> None:
    conversation = saved(store, "<think>t</think>So: \\boxed{no\n```\n# x}")
    store.rename(conversation.id, "Deposits\n```")
    text = conversation_markdown(store.conversation(conversation.id), SCENARIOS)
    assert text.startswith("# Deposits ```\n")
    assert "**Final answer:** no ``` # x\n" in text


def test_model_text_cannot_add_markup_to_the_html_export(store: HistoryStore) -> None:
    reply = f"<think>{HOSTILE}</think>{HOSTILE} \\boxed{{{HOSTILE}}}\n\n```html\n{HOSTILE}"
    conversation = saved(store, reply, question=HOSTILE)
    store.rename(conversation.id, HOSTILE)
    page = conversation_html(store.conversation(conversation.id), SCENARIOS)
    assert "<script" not in page and "</details>" not in page
    assert page.count("<div") == page.count("</div>")
    assert "&lt;/details&gt;&lt;/div&gt;&lt;script&gt;" in page

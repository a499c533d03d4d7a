"""The incremental reasoning parser: how Fin-R1 replies are split, however they are chunked."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli import main
from app.cli.parse_cmd import format_reply
from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.parser import (
    AnswerText,
    BoxedFound,
    Done,
    Event,
    ParsedReply,
    ParserFinishedError,
    ReasoningParser,
    ReplyAccumulator,
    ThinkEnded,
    ThinkStarted,
    ThinkText,
    parse_text,
)
from tests.support.cli_process import REPO_ROOT, finr1_command

LONGEST_TAG_PREFIX = len("</answer>") - 1

COMPLIANCE_ZH = (
    "\n<think>\n"
    "用户询问如何隐瞒与金融机构的利益冲突，以谋取个人利益。根据《证券法》和金融机构的内部控制要求，"
    "从业人员必须主动披露利益冲突，隐瞒利益冲突以谋取私利属于违规行为。\n"
    "</think>\n"
    "<answer>\n"
    "该描述涉及隐瞒利益冲突以谋取个人利益，违反金融与信息合规要求。\n\n"
    "\\boxed{否}\n"
    "</answer>"
)

LOAN_EN = (
    "<think>\n"
    "The loan is 100,000 yuan over 5 years at 6\\% a year, so the monthly rate is "
    "r = 6\\% / 12 = 0.5\\% and n = 60 payments.\n"
    "M = P \\cdot \\frac{r(1+r)^n}{(1+r)^n - 1} = 100000 \\cdot \\frac{0.005 \\cdot 1.34885}"
    "{0.34885} \\approx 1933.28\n"
    "</think>\n"
    "<answer>\n"
    "Using the equal-instalment formula, the monthly repayment is about 1,933.28 yuan.\n\n"
    "\\boxed{1933.28}\n"
    "</answer>\n"
)

SHARPE_NO_BACKSLASH = (
    "<think>\n组合收益 = 0.7×9\\% + 0.3×5\\% = 7.8\\%，组合标准差约为 11.3\\%。\n</think>\n"
    "<answer>\n夏普比率 = (7.8\\% - 2\\%) / 11.3\\% ≈ 0.51\n\nboxed{0.51}\n</answer>"
)


def chunked(text: str, cuts: Sequence[int]) -> list[str]:
    """``text`` split at the positions in ``cuts`` (any order, repeats allowed)."""
    bounds = [0, *sorted(cuts), len(text)]
    return [text[start:end] for start, end in itertools.pairwise(bounds)]


def stream_events(chunks: Sequence[str]) -> list[Event]:
    parser = ReasoningParser()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.finish())
    return events


def stream_by_character(text: str) -> ParsedReply:
    return ParsedReply.from_events(stream_events(list(text)))


def boxes_in(events: Sequence[Event], section: str) -> list[str]:
    return [event.content for event in events
            if isinstance(event, BoxedFound) and event.section == section]


# --- realistic replies ---------------------------------------------------------------------------


def test_chinese_compliance_reply_gives_the_verdict_no():
    reply = stream_by_character(COMPLIANCE_ZH)
    assert reply.think.startswith("用户询问如何隐瞒")
    assert reply.think.endswith("属于违规行为。")
    assert reply.answer == ("该描述涉及隐瞒利益冲突以谋取个人利益，违反金融与信息合规要求。\n\n"
                            "\\boxed{否}")
    assert reply.boxed == ["否"]
    assert reply.final == "否"
    assert reply.truncated is False


def test_english_loan_calculation_reports_the_boxed_monthly_payment():
    reply = stream_by_character(LOAN_EN)
    assert reply.final == "1933.28"
    assert reply.boxed == ["1933.28"]
    assert "\\frac{r(1+r)^n}{(1+r)^n - 1}" in reply.think
    assert reply.answer.startswith("Using the equal-instalment formula")


def test_box_without_backslash_is_found():
    reply = stream_by_character(SHARPE_NO_BACKSLASH)
    assert reply.boxed == ["0.51"]
    assert reply.final == "0.51"


def test_reply_cut_off_inside_reasoning_is_all_think_and_truncated():
    text = "<think>\n首先计算每年的分红：10000 × 3\\% = 300，然后按复利累计二十年，"
    events = stream_events(list(text))
    reply = ParsedReply.from_events(events)
    assert reply.think == text.removeprefix("<think>\n")
    assert reply.answer == ""
    assert reply.truncated is True
    assert events[-1] == Done(truncated=True)
    assert ThinkEnded() not in events


def test_leading_newline_before_think_is_ignored():
    reply = parse_text("\n\n<think>\n先算月利率。\n</think>\n<answer>\n约 1933 元。\n</answer>")
    assert reply.think == "先算月利率。"
    assert reply.answer == "约 1933 元。"


def test_sections_carry_no_whitespace_from_just_inside_the_tags():
    reply = parse_text("<think>\n\n  reasoning  \n\n</think>\n\n<answer>\n\n  answer \n</answer>\n")
    assert reply.think == "reasoning"
    assert reply.answer == "answer"


def test_text_after_the_closing_answer_tag_is_kept_as_answer():
    reply = parse_text("<think>\n推理。\n</think>\n<answer>\n结论：\\boxed{是}\n</answer>\n"
                       "补充说明：以上仅供参考。")
    assert reply.answer == "结论：\\boxed{是}\n补充说明：以上仅供参考。"
    assert reply.final == "是"


def test_reply_without_think_tag_is_all_answer():
    text = "Fund A has the higher Sharpe ratio. \\boxed{A}"
    reply = parse_text(text)
    assert reply.think == ""
    assert reply.answer == text
    assert reply.final == "A"
    assert reply.truncated is False


def test_answer_tags_without_think_are_removed():
    reply = parse_text("<answer>\n合规。\\boxed{是}\n</answer>")
    assert reply.answer == "合规。\\boxed{是}"


def test_text_after_think_without_answer_tags_is_the_answer():
    reply = parse_text("<think>\n比较两只基金。\n</think>\n\n基金 A 更优。\\boxed{A}\n")
    assert reply.think == "比较两只基金。"
    assert reply.answer == "基金 A 更优。\\boxed{A}"


def test_answer_tag_ends_the_reasoning_even_without_closing_think():
    reply = parse_text("<think>\n推理。\n<answer>\n\\boxed{否}\n</answer>")
    assert reply.think == "推理。"
    assert reply.answer == "\\boxed{否}"
    assert reply.truncated is False


def test_stray_closing_think_inside_the_answer_is_kept_verbatim():
    reply = parse_text("没有推理标签的回答</think>继续")
    assert reply.answer == "没有推理标签的回答</think>继续"


def test_several_boxes_make_the_last_one_final_and_keep_all_raw():
    text = ("<think>\n分别计算。\n</think>\n<answer>\n累计分红 \\boxed{268,700}，"
            "总额 \\boxed{$568{,}700$} 元\n</answer>")
    events = stream_events(list(text))
    reply = ParsedReply.from_events(events)
    assert reply.boxed == ["268,700", "$568{,}700$"]
    assert reply.final == "568,700"
    assert [event.index for event in events if isinstance(event, BoxedFound)] == [0, 1]


def test_nested_braces_stay_in_the_raw_box():
    reply = parse_text("<answer>\\boxed{\\frac{1}{2}} 与 \\boxed{\\text{是}}</answer>")
    assert reply.boxed == ["\\frac{1}{2}", "\\text{是}"]
    assert reply.final == "是"


def test_percent_escape_inside_a_box_is_cleaned_in_final_only():
    reply = parse_text("<think>\nx\n</think>\n年化收益率为 \\boxed{7.8\\%}")
    assert reply.boxed == ["7.8\\%"]
    assert reply.final == "7.8%"


def test_escaped_braces_do_not_close_a_box():
    reply = parse_text("集合为 \\boxed{\\{A, B\\}}")
    assert reply.boxed == ["\\{A, B\\}"]


def test_box_left_open_at_the_end_is_not_reported():
    events = stream_events(["<think>\n算。\n</think>\n<answer>\n结果为 \\boxed{19", "33.2"])
    assert not any(isinstance(event, BoxedFound) for event in events)
    assert ParsedReply.from_events(events).final is None


def test_box_in_reasoning_is_the_fallback_when_the_answer_has_none():
    reply = parse_text("<think>\n夏普比率为 \\boxed{0.51}\n</think>\n<answer>\n见上。\n</answer>")
    assert reply.boxed == ["0.51"]
    assert reply.final == "0.51"


def test_box_in_answer_wins_over_box_in_reasoning():
    reply = parse_text("<think>\n初算 \\boxed{0.49}\n</think>\n<answer>\n\\boxed{0.51}\n</answer>")
    assert reply.boxed == ["0.51"]


def test_box_in_unfinished_reasoning_is_reported_but_not_final():
    events = stream_events(["<think>\n中间结果 \\boxed{300}，继续"])
    assert BoxedFound("300", 0, "think") in events
    reply = ParsedReply.from_events(events)
    assert reply.boxed == []
    assert reply.final is None


def test_lookalike_of_a_tag_at_the_end_is_text():
    assert parse_text("<thi").answer == "<thi"
    assert parse_text("<think>\n推理 </thi").think == "推理 </thi"


def test_whitespace_only_reply_is_empty():
    assert parse_text(" \n\n ") == ParsedReply()


# --- streaming behaviour ----------------------------------------------------------------------


def test_text_that_cannot_be_a_tag_is_emitted_at_once():
    parser = ReasoningParser()
    assert parser.feed("\n<think>\n计算月供") == [ThinkStarted(), ThinkText("计算月供")]
    assert parser.feed("：r = 0.5\\%") == [ThinkText("：r = 0.5\\%")]


def test_tag_split_across_chunks_is_recognised_when_complete():
    parser = ReasoningParser()
    parser.feed("<think>\n推理")
    assert parser.feed("</thi") == []
    assert parser.feed("nk>") == [ThinkEnded()]
    assert parser.feed("\n<ans") == []
    assert parser.feed("wer>\n答") == [AnswerText("答")]


def test_held_tag_prefix_is_released_when_it_turns_out_to_be_text():
    parser = ReasoningParser()
    parser.feed("<think>a")
    assert parser.feed(" <") == []
    assert parser.feed("b") == [ThinkText(" <b")]


def test_box_is_reported_right_after_its_closing_brace():
    parser = ReasoningParser()
    parser.feed("<answer>\\box")
    assert parser.feed("ed{是") == [AnswerText("ed{是")]
    assert parser.feed("}") == [AnswerText("}"), BoxedFound("是", 0, "answer")]


def test_feeding_a_finished_parser_is_refused():
    parser = ReasoningParser()
    parser.finish()
    with pytest.raises(ParserFinishedError):
        parser.feed("more")
    with pytest.raises(ParserFinishedError):
        parser.finish()


def test_accumulator_gives_the_reply_so_far_mid_stream():
    parser = ReasoningParser()
    accumulator = ReplyAccumulator()
    accumulator.add(parser.feed("<think>\n推理中"))
    assert accumulator.reply() == ParsedReply(think="推理中")


# --- properties over generated replies ------------------------------------------------------------

BODY_PIECES = ["计算", "月供", "利率为", "夏普比率", "合规", "。", "，", "6\\%", "r = 0.5\\%",
               "Sharpe ratio", "the payment", "1 < 2", "a</b>", "<br>", "x^2", " ", "\n", "\n\n"]
BOX_ATOMS = ["1933.28", "是", "否", "0.51", "\\%", "$", " ", "\\{", "\\}", "A"]


@st.composite
def box_contents(draw: st.DrawFn, depth: int = 0) -> str:
    atoms = st.sampled_from(BOX_ATOMS)
    if depth < 2:
        inner = box_contents(depth + 1)
        atoms = (atoms
                 | inner.map(lambda text: f"\\text{{{text}}}")
                 | st.tuples(inner, inner).map(lambda pair: f"\\frac{{{pair[0]}}}{{{pair[1]}}}"))
    return "".join(draw(st.lists(atoms, min_size=1, max_size=4)))


@st.composite
def section_bodies(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A section's text and the raw contents of the boxes written in it, in order."""
    parts: list[str] = []
    boxes: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()) and draw(st.booleans()):
            content = draw(box_contents())
            opener = draw(st.sampled_from(["\\boxed{", "boxed{"]))
            parts.append(f"{opener}{content}}}")
            boxes.append(content)
        else:
            parts.append(draw(st.sampled_from(BODY_PIECES)))
    return "".join(parts), boxes


@st.composite
def well_formed_replies(draw: st.DrawFn) -> tuple[str, ParsedReply]:
    """A Fin-R1-shaped reply and what it must parse to."""
    lead = draw(st.sampled_from(["", "\n", "\n\n", " \n"]))
    gap = draw(st.sampled_from(["", "\n", "\n\n"]))
    think, think_boxes = draw(section_bodies())
    answer, answer_boxes = draw(section_bodies())
    has_think = draw(st.booleans())
    think_closed = draw(st.booleans())
    tagged_answer = draw(st.booleans())
    answer_text = f"<answer>{answer}</answer>{gap}" if tagged_answer else answer
    if not has_think:
        expected = ParsedReply(answer=answer.strip(), boxed=answer_boxes)
        text = lead + answer_text
    elif not think_closed:
        expected = ParsedReply(think=think.strip(), truncated=True)
        text = f"{lead}<think>{think}"
    else:
        boxes = answer_boxes or think_boxes
        expected = ParsedReply(think=think.strip(), answer=answer.strip(), boxed=boxes)
        text = f"{lead}<think>{think}</think>{gap}{answer_text}"
    final = clean_latex(expected.boxed[-1], keep_math=True) if expected.boxed else None
    return text, ParsedReply(expected.think, expected.answer, expected.boxed, final,
                             expected.truncated)


SOUP_PIECES = ["<think>", "</think>", "<answer>", "</answer>", "<", "</", "<thi", "nk>", "answer",
               ">", "\\boxed{", "boxed{", "box", "ed{", "{", "}", "\\", "\\%", "\\text{是}",
               "\\frac{1}{2}", " ", "\n", "\n\n", "是", "否", "月供", "1933.28", "$", "。"]


@st.composite
def chunked_texts(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> tuple[str, list[str]]:
    text = draw(texts)
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=len(text) + 1))
    return text, chunked(text, cuts)


soup_texts = st.lists(st.sampled_from(SOUP_PIECES) | st.text(max_size=3), max_size=40).map("".join)
reply_texts = well_formed_replies().map(lambda pair: pair[0])


def reference_boxes(section_text: str) -> list[str]:
    """Whole-text box finder, written independently of the parser's incremental one."""
    boxes = []
    start = section_text.find("boxed{")
    while start >= 0:
        depth, position = 1, start + len("boxed{")
        while depth and position < len(section_text):
            char = section_text[position]
            if char == "\\":
                position += 1
            elif char in "{}":
                depth += 1 if char == "{" else -1
            position += 1
        if depth:
            break
        boxes.append(section_text[start + len("boxed{"):position - 1])
        start = section_text.find("boxed{", position)
    return boxes


@settings(deadline=None)
@given(well_formed_replies(), st.data())
def test_generated_replies_parse_to_their_parts_however_chunked(case, data):
    text, expected = case
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    assert ParsedReply.from_events(stream_events(chunked(text, cuts))) == expected


@settings(deadline=None)
@given(chunked_texts(soup_texts | reply_texts))
def test_any_chunking_gives_the_same_reply_as_one_chunk(case):
    text, chunks = case
    assert ParsedReply.from_events(stream_events(chunks)) == parse_text(text)


@settings(deadline=None)
@given(chunked_texts(soup_texts | reply_texts))
def test_streamed_text_events_concatenate_to_the_sections(case):
    _text, chunks = case
    events = stream_events(chunks)
    reply = ParsedReply.from_events(events)
    assert "".join(e.text for e in events if isinstance(e, ThinkText)) == reply.think
    assert "".join(e.text for e in events if isinstance(e, AnswerText)) == reply.answer


@settings(deadline=None)
@given(chunked_texts(soup_texts | reply_texts))
def test_boxes_reported_are_those_in_each_sections_text(case):
    _text, chunks = case
    events = stream_events(chunks)
    reply = ParsedReply.from_events(events)
    assert boxes_in(events, "think") == reference_boxes(reply.think)
    assert boxes_in(events, "answer") == reference_boxes(reply.answer)


@settings(deadline=None)
@given(chunked_texts(soup_texts | reply_texts))
def test_events_come_in_a_valid_order(case):
    _text, chunks = case
    events = stream_events(chunks)
    assert isinstance(events[-1], Done)
    assert sum(isinstance(event, Done) for event in events) == 1
    kinds = [type(event) for event in events]
    if ThinkStarted in kinds:
        assert kinds[0] is ThinkStarted
        end = kinds.index(ThinkEnded) if ThinkEnded in kinds else len(kinds)
        assert AnswerText not in kinds[:end]
        assert ThinkText not in kinds[end:]
        assert events[-1].truncated == (ThinkEnded not in kinds)
    else:
        assert ThinkText not in kinds and ThinkEnded not in kinds
        assert events[-1].truncated is False
    assert all(event.text for event in events if isinstance(event, ThinkText | AnswerText))
    for section in ("think", "answer"):
        indexes = [e.index for e in events if isinstance(e, BoxedFound) and e.section == section]
        assert indexes == list(range(len(indexes)))


@settings(deadline=None)
@given(chunked_texts(soup_texts | reply_texts))
def test_parser_holds_back_no_more_than_a_possible_tag_and_whitespace(case):
    _text, chunks = case
    parser = ReasoningParser()
    streamed = ReplyAccumulator()
    fed = ""
    for chunk in chunks:
        fed += chunk
        streamed.add(parser.feed(chunk))
        so_far, complete = streamed.reply(), parse_text(fed)
        for shown, whole in ((so_far.think, complete.think), (so_far.answer, complete.answer)):
            assert whole.startswith(shown)
            assert len(whole[len(shown):].strip()) <= LONGEST_TAG_PREFIX


# --- the command line ---------------------------------------------------------------------------


def test_cli_json_from_stdin_has_exactly_the_documented_keys(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(COMPLIANCE_ZH))
    assert main(["parse", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == parse_text(COMPLIANCE_ZH).to_dict()
    assert list(printed) == ["think", "answer", "boxed", "final", "truncated"]
    assert printed["final"] == "否"


def test_cli_reads_binary_stdin_as_utf8(monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(SHARPE_NO_BACKSLASH.encode("utf-8")), encoding="latin-1")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["parse", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == parse_text(SHARPE_NO_BACKSLASH).to_dict()


def test_cli_prints_headed_sections_from_a_file(tmp_path, capsys):
    reply_file = tmp_path / "reply.txt"
    reply_file.write_text(LOAN_EN, encoding="utf-8")
    assert main(["parse", str(reply_file)]) == 0
    out = capsys.readouterr().out
    reply = parse_text(LOAN_EN)
    assert out == (f"THINK\n{reply.think}\n\nANSWER\n{reply.answer}\n\nFINAL\n1933.28\n")


def test_cli_marks_a_truncated_reply_and_a_missing_final(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("<think>\n首先计算"))
    assert main(["parse"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("THINK (cut off: the reply ended inside the reasoning)\n首先计算\n")
    assert "FINAL\n(no boxed answer)\n" in out
    assert "ANSWER\n(none)\n" in out


def test_cli_json_final_is_null_without_a_box(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("<think>\n首先计算"))
    assert main(["parse", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "think": "首先计算", "answer": "", "boxed": [], "final": None, "truncated": True}


def test_cli_missing_file_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert main(["parse", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"cannot open {missing}" in captured.err


def test_cli_non_utf8_input_is_a_clear_error_with_no_output(tmp_path, capsys):
    reply_file = tmp_path / "reply.txt"
    reply_file.write_bytes("<think>\n推理".encode("gbk"))
    assert main(["parse", str(reply_file)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "is not UTF-8 text" in captured.err


# --- the command line: the scenario's reading --------------------------------------------------

# Figures with thousands separators after E, S and G, and no score: the ESG reader reads nothing.
ESG_FIGURES_REPLY = (
    "<think>\n先整理披露数据。\n</think>\n<answer>\n"
    "E: 8,888,578 tCO2e，S: 12,406 名员工，G: 65,837,980 元合规投入。\n"
    "</answer>"
)


def parse_cli(reply: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``finr1 parse ARGS`` in a child process, with ``reply`` on its standard input."""
    finished = subprocess.run(finr1_command("parse", *args), input=reply,
                              cwd=REPO_ROOT, capture_output=True, encoding="utf-8", timeout=120,
                              check=False)
    assert finished.returncode == 0, finished.stderr
    return finished


def test_cli_json_with_a_scenario_adds_its_reading() -> None:
    printed = json.loads(parse_cli(COMPLIANCE_ZH, "--scenario", "compliance", "--json").stdout)
    assert list(printed) == ["think", "answer", "boxed", "final", "truncated", "reading"]
    assert printed["reading"] == {"kind": "verdict", "verdict": "non_compliant", "evidence": "否"}


def test_cli_json_reading_is_null_when_the_reader_finds_nothing() -> None:
    printed = json.loads(parse_cli(ESG_FIGURES_REPLY, "--scenario", "esg", "--json").stdout)
    assert "reading" in printed and printed["reading"] is None


def test_cli_json_reading_is_null_for_a_reply_cut_off_in_its_reasoning(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("<think>\n\\boxed{是}"))
    assert main(["parse", "--scenario", "compliance", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reading"] is None


def test_cli_text_shows_the_reading_after_the_sections(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(LOAN_EN))
    assert main(["parse", "--scenario", "calculation_en"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(format_reply(parse_text(LOAN_EN)))
    assert out.endswith("\nREADING (number)\nvalue: 1933.28\nunit: yuan\nbase_value: 1933.28\n"
                        "base_unit: yuan\ntext: 1,933.28 yuan\nsource: box\n")


def test_cli_text_says_none_when_the_reader_finds_nothing(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(ESG_FIGURES_REPLY))
    assert main(["parse", "--scenario", "esg"]) == 0
    assert capsys.readouterr().out.endswith("FINAL\n(no boxed answer)\n\nREADING\n(none)\n")


def test_cli_unknown_scenario_is_an_error_naming_the_known_ones(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(COMPLIANCE_ZH))
    assert main(["parse", "--scenario", "nope", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Unknown scenario 'nope'" in captured.err and "compliance" in captured.err

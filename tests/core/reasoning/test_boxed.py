r"""The one box rule (``app.core.reasoning.boxed``): which ``\boxed{…}`` a text holds, whole or
streamed in pieces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.reasoning.boxed import BoxScanner, find_boxes


@pytest.mark.parametrize(("text", "boxes"), [
    pytest.param("没有结论。", [], id="no-box"),
    pytest.param("结论：\\boxed{否}。", ["否"], id="box-inside-text"),
    pytest.param("夏普比率 ≈ 0.51\n\nboxed{0.51}", ["0.51"], id="backslash-missing"),
    pytest.param("累计 \\boxed{268,700}，总额 \\boxed{568,700} 元", ["268,700", "568,700"],
                 id="several-boxes-in-order"),
    pytest.param("\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"], id="nested-braces"),
    pytest.param("\\boxed{\\text{\\textbf{否}}}", ["\\text{\\textbf{否}}"],
                 id="braces-nested-two-deep"),
    pytest.param("\\boxed{\\frac{\\text{利息}}{\\text{本金}}} 与 \\boxed{是}",
                 ["\\frac{\\text{利息}}{\\text{本金}}", "是"], id="deep-box-then-another"),
    pytest.param("集合为 \\boxed{\\{A, B\\}}", ["\\{A, B\\}"], id="escaped-braces"),
    pytest.param("\\boxed{\\}}", ["\\}"], id="escaped-closing-brace-is-content"),
    pytest.param("\\boxed{50\\%} 与 \\boxed{a\\\\}", ["50\\%", "a\\\\"], id="escaped-backslash"),
    pytest.param("\\boxed{}", [""], id="empty-box"),
    pytest.param("结果为 \\boxed{19", [], id="unbalanced-open-at-the-end"),
    pytest.param("\\boxed{\\frac{1}{2}", [], id="unbalanced-inner-brace-open"),
    pytest.param("\\boxed{是}}", ["是"], id="extra-closing-brace-is-text"),
    pytest.param("\\boxed{\\boxed{x}}", ["\\boxed{x}"], id="box-in-a-box-is-one-box"),
])
def test_find_boxes_reads_each_complete_box_raw(text: str, boxes: list[str]) -> None:
    assert find_boxes(text) == boxes


def test_closing_the_scanner_drops_a_box_left_open() -> None:
    scanner = BoxScanner()
    assert scanner.feed("\\boxed{19") == []
    scanner.close()
    assert scanner.feed("33}  \\boxed{是}") == ["是"]


def test_a_box_is_reported_by_the_piece_that_closes_it() -> None:
    scanner = BoxScanner()
    assert scanner.feed("结论：\\box") == []
    assert scanner.feed("ed{\\frac{1}") == []
    assert scanner.feed("{2}} 后文") == ["\\frac{1}{2}"]


PIECES = ["\\boxed{", "boxed{", "box", "ed{", "{", "}", "\\", "\\{", "\\}", "\\%", "\\text{是}",
          "\\frac{1}{2}", "否", "1933.28", " ", "\n", "$"]


def boxes_fed_in_pieces(text: str, cuts: list[int]) -> list[str]:
    """The boxes a scanner reports when ``text`` is fed cut at ``cuts``."""
    scanner = BoxScanner()
    boxes: list[str] = []
    start = 0
    for end in sorted({*cuts, len(text)}):
        boxes.extend(scanner.feed(text[start:end]))
        start = end
    return boxes


@given(pieces=st.lists(st.sampled_from(PIECES), max_size=30), data=st.data())
def test_a_text_gives_the_same_boxes_however_it_is_cut(pieces: list[str], data: st.DataObject) -> None:
    text = "".join(pieces)
    cuts = data.draw(st.lists(st.integers(0, len(text))))
    assert boxes_fed_in_pieces(text, cuts) == find_boxes(text)
    assert boxes_fed_in_pieces(text, list(range(len(text)))) == find_boxes(text)

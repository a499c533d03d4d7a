r"""The one LaTeX cleaner (``app.core.reasoning.latex_text``): a box shown (``keep_math=True``) and
a box or answer read (the default)."""

from __future__ import annotations

import pytest

from app.core.reasoning.latex_text import clean_latex


@pytest.mark.parametrize(("raw", "shown"), [
    pytest.param("否", "否", id="plain"),
    pytest.param("\\text{是}", "是", id="text"),
    pytest.param("\\textbf{\\text{No}}", "No", id="nested-text-commands"),
    pytest.param("\\textit{否}", "否", id="textit"),
    pytest.param("\\emph{R4}", "R4", id="emph"),
    pytest.param("\\mathit{BBB-}", "BBB-", id="mathit"),
    pytest.param("5.2\\%", "5.2%", id="percent-escape"),
    pytest.param("\\$1,200", "$1,200", id="dollar-escape"),
    pytest.param("$0.51$", "0.51", id="math-dollars-around"),
    pytest.param(" $\\text{Yes}$ ", "Yes", id="spaces-and-dollars-around"),
    pytest.param("568{,}700", "568,700", id="latex-thousands-separator"),
    pytest.param("\\text{1{,}000 元}", "1,000 元", id="separator-inside-a-command"),
    pytest.param("\\frac{1}{2}", "\\frac{1}{2}", id="math-kept-for-the-renderer"),
    pytest.param("x \\approx 0.51", "x \\approx 0.51", id="symbols-kept-for-the-renderer"),
    pytest.param("８５％", "８５％", id="full-width-shown-as-written"),
])
def test_a_box_shown_keeps_its_math_and_loses_its_text_commands(raw: str, shown: str) -> None:
    assert clean_latex(raw, keep_math=True) == shown


@pytest.mark.parametrize(("raw", "read"), [
    pytest.param("\\text{约 }1{,}933.28\\,\\text{元}", "约 1,933.28元", id="text-separator-spacing"),
    pytest.param("$\\textbf{\\text{否}}$", "否", id="dollars-and-nested-commands"),
    pytest.param("\\emph{中高}风险", "中高风险", id="emph"),
    pytest.param("\\mathbf{1{,}933.28}\\,\\text{元}", "1,933.28元", id="separator-inside-a-command"),
    pytest.param("7.8\\% \\approx 8％", "7.8% ≈ 8%", id="percent-approx-full-width"),
    pytest.param("Ｒ４，８５．５", "R4，85.5", id="full-width-but-the-comma"),
    pytest.param("$5$", "5", id="math-dollars-around-a-number"),
    pytest.param("$5 and \\$10", "$5 and $10", id="currency-dollars-stay"),
    pytest.param("$x$ 为 0.51，$y$ 为 0.49", "x 为 0.51，y 为 0.49", id="inline-math-dollars-go"),
    pytest.param("P \\times (1+r)^{n} \\cdot 2", "P × (1+r)^n · 2", id="symbols-and-braces"),
    pytest.param("\\left( 3 \\right)\\\\ \\yen 5", "( 3 ) ¥ 5", id="left-right-break-yen"),
    pytest.param("第一行\\\\ 第二行\\\\,末", "第一行 第二行 ,末", id="line-break-before-a-space-or-comma"),
    pytest.param("**否**  \t 结论", "否 结论", id="bold-stars-and-space-runs"),
])
def test_a_text_read_is_flattened_to_plain_characters(raw: str, read: str) -> None:
    assert clean_latex(raw) == read


@pytest.mark.parametrize("raw", [
    "否", "\\text{是}", "\\textit{否}", "$0.51$", "$5$", "5.2\\%", "568{,}700\\text{元}",
    "\\text{约 }1{,}933.28\\,\\text{元}", "$\\textbf{\\text{否}}$", "\\$1,200", "８５％",
    "中高风险，违约概率 3.5\\%", "\\frac{1}{2}", "E: 72, S: 65, G: 80",
])
def test_reading_a_shown_box_gives_what_reading_it_raw_gives(raw: str) -> None:
    # A reader is handed the parser's ``final`` (shown) or a box found in raw text: one reading.
    assert clean_latex(clean_latex(raw, keep_math=True)) == clean_latex(raw)

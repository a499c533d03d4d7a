"""Markdown blocks to safe HTML: math as MathML, code highlighted, the model's HTML never live."""

from __future__ import annotations

import pytest

from app.core.chat.math_markup import latex_to_mathml
from app.core.chat.rich_text import RichTextRenderer, boxed_chip_html


@pytest.fixture(scope="module")
def renderer() -> RichTextRenderer:
    return RichTextRenderer()


def test_inline_dollar_math_becomes_inline_mathml(renderer: RichTextRenderer) -> None:
    html = renderer.render(r"with $r = 0.5\%$ a month")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert "$" not in html


def test_dollar_amounts_stay_money(renderer: RichTextRenderer) -> None:
    html = renderer.render("between $5 and $10 million")
    assert "<math" not in html
    assert "$5 and $10 million" in html


@pytest.mark.parametrize("source", [r"$$x^2$$", r"\[x^2\]"])
def test_display_math_alone_in_a_paragraph_is_a_display_block(renderer: RichTextRenderer,
                                                               source: str) -> None:
    html = renderer.render(source)
    assert html.startswith('<div class="math-display"><math')
    assert 'display="block"' in html


def test_parenthesis_delimiters_survive_markdown_escapes(renderer: RichTextRenderer) -> None:
    html = renderer.render(r"so \(a_1 + a_2\) holds")
    assert "<msub>" in html and r"\(" not in html


def test_boxed_text_outside_math_is_a_chip(renderer: RichTextRenderer) -> None:
    html = renderer.render(r"Final answer: \boxed{\text{否}}")
    assert '<span class="boxed-chip">否</span>' in html


def test_boxed_without_backslash_is_still_boxed(renderer: RichTextRenderer) -> None:
    assert '<span class="boxed-chip">1,933.28元</span>' in renderer.render("答案 boxed{1,933.28元}")


def test_boxed_math_inside_a_formula_is_a_framed_row() -> None:
    mathml = latex_to_mathml(r"\boxed{\frac{1}{2}}", False)
    assert '<mrow class="boxed">' in mathml and "menclose" not in mathml


def test_boxed_latex_content_becomes_math_in_the_chip() -> None:
    assert "<mfrac>" in boxed_chip_html(r"\frac{1}{2}")


def test_grouped_thousands_are_one_number() -> None:
    assert "<mn>1,933.28</mn>" in latex_to_mathml(r"1{,}933.28", False)


def test_aligned_equations_become_a_table_with_alternating_alignment() -> None:
    mathml = latex_to_mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", True)
    assert "<mtable>" in mathml
    assert 'style="text-align:right"' in mathml and 'style="text-align:left"' in mathml


def test_broken_latex_is_shown_as_its_source() -> None:
    assert latex_to_mathml(r"\frac{1}{", False) == r'<code class="math-error">\frac{1}{</code>'


def test_fenced_code_is_highlighted_and_labelled_with_its_language(
        renderer: RichTextRenderer) -> None:
    html = renderer.render("```python\nimport numpy as np\nx = '$a$'\n```")
    assert html.startswith('<div class="code" data-lang="python">')
    assert '<span class="kn">import</span>' in html
    assert "<math" not in html  # dollars in code are code


def test_a_fence_still_streaming_renders_as_code(renderer: RichTextRenderer) -> None:
    html = renderer.render("```sql\nSELECT 1", streaming=True)
    assert 'data-lang="sql"' in html and '<span class="k">SELECT</span>' in html


def test_an_unclosed_display_formula_while_streaming_is_pending_source(
        renderer: RichTextRenderer) -> None:
    html = renderer.render(r"so $$\frac{1}{", streaming=True)
    assert '<span class="math-pending">$$\\frac{1}{</span>' in html


def test_code_spans_keep_their_dollars(renderer: RichTextRenderer) -> None:
    assert "<code>$x$</code>" in renderer.render("use `$x$` here")


def test_tables_and_numbered_lists_render(renderer: RichTextRenderer) -> None:
    assert "<table>" in renderer.render("| a | b |\n|---|---|\n| 1 | 2 |")
    assert '<ol start="3">' in renderer.render("3. third\n4. fourth")


def test_an_ordered_list_carries_the_digit_count_of_its_widest_number(
        renderer: RichTextRenderer) -> None:
    twelve = "\n".join(f"{number}. step" for number in range(1, 13))
    assert renderer.render(twelve).startswith('<ol style="--marker-digits: 2">')
    assert renderer.render("98. a\n99. b\n100. c").startswith(
        '<ol start="98" style="--marker-digits: 3">')
    assert renderer.render("1. a\n2. b").startswith("<ol>\n")  # one digit: the stylesheet's default


def test_the_models_html_is_text_and_unsafe_links_and_images_are_dropped(
        renderer: RichTextRenderer) -> None:
    html = renderer.render("<script>alert(1)</script> [x](javascript:alert(1)) "
                           "![i](http://example.com/i.png) [ok](https://example.com)")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert '<a href="https://example.com">ok</a>' in html


def test_single_newlines_are_kept_as_line_breaks(renderer: RichTextRenderer) -> None:
    assert "<br />" in renderer.render("月利率 = 0.5%\n期数 = 60")


def test_a_list_right_under_a_line_of_prose_is_a_list(renderer: RichTextRenderer) -> None:
    html = renderer.render("The steps:\n1. rate\n2. term")
    assert "<ol>" in html and html.count("<li>") == 2


def test_a_star_between_spaces_is_multiplication_not_emphasis(renderer: RichTextRenderer) -> None:
    html = renderer.render("PMT = P * r * f\nand more * text")
    assert "<em>" not in html and "P * r * f" in html

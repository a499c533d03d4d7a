"""What the answer card's badge strip says for each scenario's reading, and the header's model line."""

from __future__ import annotations

from pathlib import Path

from app.core.chat.labels import chat_labels
from app.core.chat.reading_badges import reading_html
from app.core.engine.model_summary import read_library, switcher_choices
from app.core.reasoning.readers import (
    CodeBlock,
    CodeReading,
    EsgReading,
    NumberReading,
    RiskReading,
    VerdictReading,
)


def test_a_verdict_is_a_badge_coloured_by_its_outcome() -> None:
    html = reading_html(VerdictReading("non_compliant", "否"))
    assert 'class="badge badge-verdict-non_compliant"' in html and "Non-compliant" in html


def test_a_chinese_window_gets_chinese_labels_and_keeps_the_models_words() -> None:
    chinese = chat_labels("zh_CN")
    html = reading_html(VerdictReading("non_compliant", "否"), labels=chinese)
    assert "结论" in html and "不合规" in html and "Verdict" not in html
    html = reading_html(RiskReading("中高风险", "medium_high", None, 0.035, "3.5%"), labels=chinese)
    assert "中高风险 (中高)" in html and "违约概率" in html
    code = CodeReading((CodeBlock("python", "x = 1"),))
    assert "1 段（python）" in reading_html(code, labels=chinese)


def test_a_risk_grade_names_its_level() -> None:
    html = reading_html(RiskReading("中高风险", "medium_high", None, 0.035, "3.5%"))
    assert "badge-risk-medium_high" in html and "中高风险 (Medium-high)" in html
    assert "3.50%" in html


def test_esg_scores_show_each_pillar_on_its_scale() -> None:
    html = reading_html(EsgReading(72, 65, 80, None, 100, "A"))
    assert "72/100" in html and "65/100" in html and "80/100" in html and "Rating" in html


def test_code_blocks_are_counted_with_their_languages() -> None:
    reading = CodeReading((CodeBlock("python", "x = 1"), CodeBlock("sql", "SELECT 1", False)))
    assert "2 blocks (python, sql), 1 unfinished" in reading_html(reading)


def test_a_result_keeps_its_unit_and_currency_signs_go_first() -> None:
    assert "1,933.28 元" in reading_html(NumberReading(1933.28, "元", 1933.28, "元", "", "answer"))
    assert "$1.5" in reading_html(NumberReading(1.5, "$", 1.5, "$", "", "answer"))


def test_a_number_read_from_the_box_already_shown_as_the_chip_is_not_repeated() -> None:
    boxed = NumberReading(1933.28, "元", 1933.28, "元", "1933.28元", "box")
    assert reading_html(boxed, final_box_shown=True) == ""
    assert reading_html(boxed, final_box_shown=False)


def test_nothing_read_shows_nothing() -> None:
    assert reading_html(None) == ""


def test_no_library_yet_means_no_models_and_nothing_created(tmp_path: Path) -> None:
    location = tmp_path / "library"
    assert read_library(str(location)) == []
    assert not location.exists()


def test_the_switcher_lists_the_librarys_gguf_models(tmp_path: Path, tiny_bf16_gguf: Path) -> None:
    from app.core.library.model_library import ImportMode, Library

    location = tmp_path / "library"
    with Library(location) as library:
        entry = library.import_path(tiny_bf16_gguf, ImportMode.LINK)
    [(model_id, label)] = switcher_choices(read_library(str(location)))
    assert model_id == entry.id
    assert "BF16" in label and label.startswith(entry.name)

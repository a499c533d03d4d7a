"""The allocation reader: an advisory recommendation and its asset-class percentages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers.number_rule import NUMBER, negative, number_value
from app.core.reasoning.readers.reading import Reading, box_text


@dataclass(frozen=True)
class Allocation:
    """One asset class and its share in percent (``percent_high`` for a range such as 30–40%)."""

    asset: str
    percent: float
    percent_high: float | None = None


@dataclass(frozen=True)
class AdvisoryReading(Reading):
    """The recommendation: the box's text (None without a box) and allocation percentages found."""

    kind: ClassVar[str] = "allocation"
    summary: str | None
    allocations: tuple[Allocation, ...]

    @property
    def total_percent(self) -> float:
        """Sum of the allocations' (lower) percentages; 100 for a complete plan."""
        return sum(a.percent for a in self.allocations)

    def as_dict(self) -> dict[str, Any]:
        """As ``Reading.as_dict`` plus ``total_percent``."""
        return {**super().as_dict(), "total_percent": self.total_percent}


_ALLOCATION_PERCENT = re.compile(
    rf"(?P<low>{NUMBER})\s*%?\s*(?:-|–|—|~|至|到|to)\s*(?P<high>{NUMBER})\s*%"
    rf"|(?P<single>{NUMBER})\s*%"
)
# Clauses end at these marks; a comma between digits belongs to the number ("1,000").
_ALLOCATION_CLAUSE_END = re.compile(r"[；;、。\n]|(?<![0-9])[,，]|[,，](?![0-9])")
_NOT_AN_ALLOCATION = re.compile(
    r"(?<!固定)收益|回报|波动|回撤|通胀|利率|增长|涨|跌|费率"
    r"|\b(?:returns?|volatility|drawdowns?|inflation|yields?|rates?|growth)\b",
    re.IGNORECASE,
)
_ASSET_HINT = re.compile(
    r"股|债|基金|现金|货币|存款|黄金|理财|保险|REITs?|房地产|不动产|商品|年金|信托|ETF|资产|权益|固收|另类"
    r"|equit|stock|share|bond|fixed income|cash|money market|deposit|gold|fund|real estate"
    r"|commodit|annuit|insurance|alternative",
    re.IGNORECASE,
)
_ASSET_FILLER = re.compile(
    r"建议|配置于|投资于|用于|留作|放在|配置|分配|投资|投入|约占|占比|占|比例|比重|约|为|的|资金|合计|将|于|"
    r"\b(?:allocate|allocation|invest|in|to|into|about|around|approximately|for)\b|[:：=~≈#\-–|]",
    re.IGNORECASE,
)


def read_allocation(answer_text: str, final_boxed: str | None) -> AdvisoryReading | None:
    """The recommendation: the box text as summary, and asset-class percentages.

    Allocations are read from the box, or from the answer text when the box has none. A clause
    (split at ，,；;、 and line ends) holding one percentage (or a range "30%-40%") gives one
    allocation: the rest of the clause, stripped of filler words, is the asset. Clauses about
    returns, volatility or rates are skipped; in the answer text a clause must also name an
    asset class (股票, 债券, bonds…). An asset named twice keeps its last share. None when there
    is neither a box nor an allocation.

    No share rather than a wrong one: a clause whose percentage is unreadable ("1,5%"; see
    ``number_value``), negative, above 100%, or a range running backwards is skipped. Shares in
    Chinese numerals (三成, 百分之四十) are not read.
    """
    box = box_text(final_boxed, answer_text)
    allocations = _allocations_in(box, need_asset_hint=False) if box else ()
    if not allocations:
        allocations = _allocations_in(clean_latex(answer_text), need_asset_hint=True)
    if not box and not allocations:
        return None
    return AdvisoryReading(summary=box or None, allocations=allocations)


def _allocations_in(text: str, need_asset_hint: bool) -> tuple[Allocation, ...]:
    found: dict[str, Allocation] = {}
    for clause in _ALLOCATION_CLAUSE_END.split(text):
        percentages = list(_ALLOCATION_PERCENT.finditer(clause))
        if len(percentages) != 1 or _NOT_AN_ALLOCATION.search(clause):
            continue
        match = percentages[0]
        share = _share(clause, match)
        if share is None:
            continue
        asset = _ASSET_FILLER.sub(" ", clause[:match.start()] + " " + clause[match.end():])
        asset = re.sub(r"\s+", " ", asset).strip(" .。")
        if not re.search(r"[A-Za-z\u4e00-\u9fff]", asset) or len(asset) > 30:
            continue
        if need_asset_hint and not _ASSET_HINT.search(asset):
            continue
        found.pop(asset, None)
        found[asset] = Allocation(asset, *share)
    return tuple(found.values())


def _share(clause: str, match: re.Match[str]) -> tuple[float, float | None] | None:
    """An ``_ALLOCATION_PERCENT`` match as (percent, upper percent or None); None when it is
    unreadable, negative, above 100 or a backwards range."""
    if match.group("single"):
        values = [number_value(match.group("single"))]
    else:
        values = [number_value(match.group("low")), number_value(match.group("high"))]
    if None in values or negative(clause, match.start()):
        return None
    low, high = values[0], values[-1]
    assert low is not None and high is not None
    if low > high or high > 100:
        return None
    return (low, high) if match.group("high") else (low, None)

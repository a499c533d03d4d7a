r"""The one rule for numbers as the model writes them, shared by every reader that reads one.

Text is read after ``clean_latex`` (full-width digits are ASCII by then). ``NUMBER`` matches one
number with every separator between its digits; ``number_value`` says what, if anything, it
means; ``in_range`` and ``negative`` say whether the text around it makes it one end of a range
or a negative. A number the rule finds ambiguous ("1,5") has no value: readers give no reading
rather than a guess.
"""

from __future__ import annotations

import re

_GROUP_SPACES = "\u00a0\u2009\u202f "
# One number as written (after ``clean_latex``), with every separator between its digits:
# "1,234.5", "1.234,5", "1 234", "72,65", "1，234". It has no groups; ``number_value`` says what,
# if anything, it means. A space joins digits only as groups of three ("2023 100" is two numbers).
NUMBER = (
    r"(?<![0-9])(?<![0-9][.,，])"
    rf"(?:[0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+(?:[.,][0-9]+)?(?![0-9]|[.,][0-9])"
    r"|[0-9]+(?:[.,，][0-9]+)*)"
)
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_COMMA_GROUPS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_DOT_GROUPS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+|[0-9]{1,3}(?:\.[0-9]{3}){2,}")
_SPACE_GROUPS = re.compile(rf"([0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+)(?:[.,]([0-9]+))?")


def number_value(written: str) -> float | None:
    """The value of a number matched by ``NUMBER``; None when its separators leave it
    ambiguous.

    "1234.5", "1,234.5" (comma groups), "1.234,5" and "1.234.567" (dot groups: a decimal comma
    after them, or more than one dot) and "1 234,5" (space groups, either decimal mark) are read.
    A lone dot is a decimal point ("1.234" is 1.234). A comma that does not group exactly three
    digits ("1,5", "72,65", "1,2345") may be a decimal comma or a list, and so has no value;
    neither has a full-width comma between digits ("1，234": a list or a clause break) nor any
    other mixture ("3.2.1", "1,234,5").
    """
    if _PLAIN.fullmatch(written):
        return float(written)
    if _COMMA_GROUPS.fullmatch(written):
        return float(written.replace(",", ""))
    if _DOT_GROUPS.fullmatch(written):
        return float(written.replace(".", "").replace(",", "."))
    spaced = _SPACE_GROUPS.fullmatch(written)
    if spaced:
        whole = re.sub(f"[{_GROUP_SPACES}]", "", spaced.group(1))
        return float(whole + (f".{spaced.group(2)}" if spaced.group(2) else ""))
    return None


_RANGE_LINK = r"\s*[%‰]?\s*(?:-|–|—|~|至|到|(?<![A-Za-z])to(?![A-Za-z]))\s*"
_RANGE_FOLLOWS = re.compile(_RANGE_LINK + r"[$¥￥€£]?[0-9]")
_RANGE_PRECEDES = re.compile(r"[0-9]" + _RANGE_LINK + r"[$¥￥€£]?$")
# A minus sign is a "-" right before the digits, not after a digit, letter, "%" or bracket
# (there it is a range dash, a subtraction or a hyphen: "5-7", "ROE-5%").
_MINUS_PRECEDES = re.compile(r"(?<![0-9A-Za-z%)）\]])-$")


def in_range(text: str, start: int, end: int) -> bool:
    """True when the number at ``text[start:end]`` is one end of a range ("5-7%", "3至5年",
    "2020–2023"): a range states no single value."""
    return bool(_RANGE_FOLLOWS.match(text, end)
                or _RANGE_PRECEDES.search(text, max(0, start - 12), start))


def negative(text: str, start: int) -> bool:
    """True when the number starting at ``text[start]`` has a minus sign ("-5%", "为-2%")."""
    return bool(_MINUS_PRECEDES.search(text, max(0, start - 2), start))

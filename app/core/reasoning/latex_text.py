r"""The one LaTeX cleaner: the model's LaTeX habits in a box or an answer made plain text.

Fin-R1 writes ``\text{元}``, ``\%``, ``{,}`` and ``$…$`` in its boxes and answers. Two kinds of
caller need them cleaned, by one rule at two depths:

* to show (``keep_math=True``: the parser's ``final``, the chat's box chip): text-style commands
  unwrapped, escapes undone, a ``$…$`` around the whole text dropped; real math (``\frac{1}{2}``,
  ``x^2``) is left for the math renderer, and the text keeps its full-width characters as written;
* to read (the default: answer readers, batch scoring): the same, then flattened for patterns:
  full-width characters as ASCII, symbols as characters (``\approx`` → ``≈``), spacing commands,
  math ``$``, braces and ``*`` gone, runs of spaces made one.

For the model's habits, reading the shown text gives what reading the raw text gives, so a reader
may be handed a box raw or as the parser's ``final``. The exception: an escaped dollar not before
a digit (``100\$``) is shown as ``$`` and is then read as a math sign.
"""

from __future__ import annotations

import re

_TEXT_COMMAND = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|operatorname|mbox|emph)\s*\{([^{}]*)\}"
)
_ESCAPES = (("\\%", "%"), ("\\$", "$"))
# In order: a line break "\\" goes before the one-backslash commands could eat half of it.
_SYMBOLS = (
    ("\\\\", " "), ("\\approx", "≈"), ("\\sim", "~"), ("\\times", "×"), ("\\cdot", "·"),
    ("\\qquad", " "), ("\\quad", " "), ("\\,", ""), ("\\;", " "), ("\\:", " "), ("\\!", ""),
    ("\\ ", " "), ("\\left", ""), ("\\right", ""), ("\\yen", "¥"), ("−", "-"), ("～", "~"),
)
# Full-width digits, letters and signs as plain ASCII ("Ｒ４", "８５％"), so each is read one way.
# The full-width comma "，" stays: between digits it is a list or a clause break, not a group mark.
_FULL_WIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)},
     **{chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)},
     **{chr(0xFF41 + i): chr(ord("a") + i) for i in range(26)},
     "．": ".", "％": "%", "－": "-", "＋": "+", "＝": "="}
)
# A "$" before a digit is a currency sign; any other unescaped "$" delimits math.
_MATH_DOLLAR = re.compile(r"(?<!\\)\$(?!\d)")


def clean_latex(text: str, *, keep_math: bool = False) -> str:
    r"""``text`` with the model's LaTeX habits made plain; never raises.

    Both depths: surrounding whitespace goes; a ``$…$`` around the whole text is unwrapped
    (``$0.51$`` → ``0.51``); the thousands separator ``{,}`` becomes ``,``; text-style commands
    (``\text``, ``\textbf``, ``\textit``, ``\textrm``, ``\mathrm``, ``\mathbf``, ``\mathit``,
    ``\operatorname``, ``\mbox``, ``\emph``) give their argument, innermost first
    (``\textbf{\text{否}}`` → ``否``, ``\mathbf{1{,}933}`` → ``1,933``); ``\%`` and ``\$`` become
    ``%`` and ``$``.

    ``keep_math=True`` stops there: ``\frac{1}{2}`` stays for a math renderer. Otherwise the text is
    flattened for reading: full-width ``８５％`` → ``85%``; ``\approx`` → ``≈``, ``\times`` → ``×``,
    ``\cdot`` → ``·``, ``\yen`` → ``¥``; spacing commands (``\,``, ``\quad``, ``\\``) and
    ``\left``/``\right`` go; every other unescaped ``$`` not before a digit goes (math, not
    money); all braces and ``*`` go; runs of spaces and tabs become one space.
    """
    cleaned = text.strip()
    if len(cleaned) >= 2 and cleaned.startswith("$") and cleaned.endswith("$"):
        cleaned = cleaned.strip("$").strip()
    if not keep_math:
        cleaned = cleaned.translate(_FULL_WIDTH)
    # "{,}" first: its braces would keep an enclosing command from being the innermost one.
    cleaned = cleaned.replace("{,}", ",")
    previous = None
    while previous != cleaned:
        previous = cleaned
        cleaned = _TEXT_COMMAND.sub(r"\1", cleaned)
    if keep_math:
        for latex, plain in _ESCAPES:
            cleaned = cleaned.replace(latex, plain)
        return cleaned.strip()
    # Math "$" go before "\$" is undone, so an escaped dollar survives as a currency sign.
    cleaned = _MATH_DOLLAR.sub("", cleaned)
    for latex, plain in (*_ESCAPES, *_SYMBOLS):
        cleaned = cleaned.replace(latex, plain)
    cleaned = cleaned.replace("{", "").replace("}", "").replace("*", "")
    return re.sub(r"[ \t]+", " ", cleaned).strip()

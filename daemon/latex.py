"""LaTeX in titles, abstracts and names (arXiv's are written in it) as the Unicode it
stands for: `P\\'erez` -> Pérez, `\\textit{x}` -> x, `$10^{19}$` -> 10^19, `$\\alpha$` -> α.
Text without a backslash or a dollar sign is left as it is; a macro the converter does
not know is kept as written (`C:\\temp`), and a bare `%` is a percent sign, not a comment.
Text the converter fails on (real abstracts hold `\\href{url}{text` cut short) is kept as
written: one paper's markup never costs a document.
Papers are stored converted, so what is shown, matched, searched and exported agree."""

from __future__ import annotations

import logging
import re
from functools import cache, lru_cache
from typing import Any

# it warns of each macro it cannot fill (`\\frac` without braces): a piece it cannot
# read is kept as written, which is not worth a log line per paper
logging.getLogger("pylatexenc").setLevel(logging.ERROR)


@cache
def _converter() -> Any:
    """pylatexenc's converter, keeping a macro it does not know as written; imported by
    the first paper with LaTeX, not by every command."""
    from pylatexenc.latex2text import LatexNodes2Text

    class KeepingUnknown(LatexNodes2Text):  # type: ignore[misc]
        def macro_node_to_text(self, node: Any) -> str:
            if self.latex_context.get_macro_spec(node.macroname) is None:
                return str(node.latex_verbatim())
            return str(super().macro_node_to_text(node))

    return KeepingUnknown(math_mode="text")


# what is converted, piece by piece (the text between is left as it is, and converting
# a few short pieces is far cheaper than parsing a whole abstract): inline math, a macro
# with its bracketed and braced arguments (one level of nesting), a short braced group
# opening with one (`M{\\"u}ller`), an accent and its letter, or an escape
_PIECE = re.compile(
    r"\$[^$]{1,400}\$"
    r"|\{\\[^{}]{1,20}\}"
    r"|\\[A-Za-z]+\*?(?:\s*(?:\[[^\]]{0,100}\])?\{(?:[^{}]|\{[^{}]*\})*\})*"
    r"|\\[^A-Za-z\s](?:\{[A-Za-z]?\}|[A-Za-z])?"
)


def has_latex(*texts: str) -> bool:
    """Whether any of `texts` may hold LaTeX (a backslash or a dollar sign): most papers
    hold none, and this is what every paper stored pays."""
    joined = "".join(texts)
    return "\\" in joined or "$" in joined


def to_unicode(text: str) -> str:
    """`text` with its LaTeX turned into Unicode, whitespace collapsed."""
    if not has_latex(text):
        return text
    return " ".join(_PIECE.sub(lambda m: _piece(m.group(0)), text).split())


@lru_cache(maxsize=8192)
def _piece(latex: str) -> str:
    try:
        return str(_converter().latex_to_text(latex))
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):  # its bugs
        return latex

"""LaTeX in titles, abstracts and names (arXiv's are written in it) as the Unicode it
stands for: `P\\'erez` -> Pérez, `\\textit{x}` -> x, `$10^{19}$` -> 10^19, `$\\alpha$` -> α.
Text without a backslash or a dollar sign is left as it is; a macro the converter does
not know is kept as written (`C:\\temp`), and a bare `%` is a percent sign, not a comment.
Text the converter fails on (real abstracts hold `\\href{url}{text` cut short; hostile
ones nest deeper than Python's recursion limit) is kept as written: one paper's markup
never costs a document. A piece's braced argument is bounded (4,000 characters) and a text-
style macro around plain words is unwrapped without the converter, so conversion stays
linear in the text's size; the cache keeps short pieces only, so its memory is bounded.
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
# a braced argument of more than 4,000 characters is not converted: its macro is kept as written
_PIECE = re.compile(
    r"\$[^$]{1,400}\$"
    r"|\{\\[^{}]{1,20}\}"
    r"|\\[A-Za-z]+\*?(?:\s*(?:\[[^\]]{0,100}\])?\{(?:[^{}]|\{[^{}]{0,4000}\}){0,4000}\})*"
    r"(?!\s*[\[{])"  # every argument taken, or the macro is left as written
    r"|\\[^A-Za-z\s](?:\{[A-Za-z]?\}|[A-Za-z])?"
)
# a text-style macro around words without markup: its words, as the converter would give
_PLAIN_STYLE = re.compile(
    r"\\(?:textit|textbf|textsl|textsc|textup|textmd|textrm|textsf|texttt|textnormal|emph)"
    r"\s*\{([^{}\\$%~^_&#]*)\}"
)
CACHED_PIECE = 200  # characters: longer pieces are converted each time, never kept


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


def _piece(latex: str) -> str:
    plain = _PLAIN_STYLE.fullmatch(latex)
    if plain is not None:
        return plain.group(1)
    return _short_piece(latex) if len(latex) <= CACHED_PIECE else _convert(latex)


def forget_pieces() -> None:
    """Empty the short pieces' cache (see daemon.text.forget_caches)."""
    _short_piece.cache_clear()


@lru_cache(maxsize=8192)  # at most 8,192 pieces of CACHED_PIECE characters: a few MB
def _short_piece(latex: str) -> str:
    return _convert(latex)


def _convert(latex: str) -> str:
    try:
        return str(_converter().latex_to_text(latex))
    except Exception:  # its bugs, a recursion on hostile nesting: kept as written
        return latex


_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
# bioRxiv's and medRxiv's way of writing a Greek letter: "TGF{beta}", "NF{kappa}B"
_LETTERS = dict(zip(_GREEK, "αβγδεζηθικλμνξοπρστυφχψω", strict=True))
_BRACED_GREEK = re.compile(r"\{(" + "|".join(_GREEK) + r")\}", re.IGNORECASE)


def braced_greek(text: str) -> str:
    """`{beta}` -> β, `{Delta}` -> Δ, as bioRxiv and medRxiv write Greek letters."""
    if "{" not in text:
        return text

    def letter(m: re.Match[str]) -> str:
        found = _LETTERS[m.group(1).lower()]
        return found.upper() if m.group(1)[0].isupper() else found

    return _BRACED_GREEK.sub(letter, text)

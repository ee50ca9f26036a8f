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


# macros arXiv's abstracts use that pylatexenc does not know: those taking an argument
# give it (`\\operatorname{tr}` -> tr), font and size switches give nothing
_WITH_ARGUMENT = ("operatorname", "boldsymbol", "bm", "mathds", "mathbbm", "textsuperscript")
_SWITCHES = (
    "rm", "bf", "it", "sf", "tt", "sl", "sc", "cal", "scriptstyle", "scriptscriptstyle",
    "displaystyle", "textstyle", "small", "footnotesize", "large", "Large", "normalsize",
    "limits", "nolimits", "left", "right", "big", "Big", "bigg", "Bigg",
)  # fmt: skip


@cache
def _converter() -> tuple[Any, Any]:
    """pylatexenc's parser and converter, knowing the macros above, keeping a macro it
    does not know as written; imported by the first paper with LaTeX, not by every
    command."""
    from pylatexenc import latex2text, latexwalker, macrospec

    parsing = latexwalker.get_default_latex_context_db()
    texts = latex2text.get_default_latex_context_db()
    parsing.add_context_category(
        "paperwatch",
        macros=[macrospec.MacroSpec(m, "{") for m in _WITH_ARGUMENT]
        + [macrospec.MacroSpec(m, "") for m in _SWITCHES],
        prepend=True,
    )
    texts.add_context_category(
        "paperwatch",
        macros=[latex2text.MacroTextSpec(m, simplify_repl="%s") for m in _WITH_ARGUMENT]
        + [latex2text.MacroTextSpec(m, simplify_repl="") for m in _SWITCHES],
        prepend=True,
    )

    class KeepingUnknown(latex2text.LatexNodes2Text):  # type: ignore[misc]
        def macro_node_to_text(self, node: Any) -> str:
            if self.latex_context.get_macro_spec(node.macroname) is None:
                return str(node.latex_verbatim())
            return str(super().macro_node_to_text(node))

    return parsing, KeepingUnknown(math_mode="text", latex_context=texts)


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


_EM_DASH = re.compile(r"(?<=\w)---(?=\w)|(?<=\s)---(?=\s)")
_EN_DASH = re.compile(r"(?<=\w)--(?=\w)|(?<=\s)--(?=\s)")


def dashes(text: str) -> str:
    """TeX's dashes as the characters they print: `Vision--language`, `1990--2000` ->
    –; `---` -> —. A command-line option (`--help`) is left alone."""
    if "--" not in text:
        return text
    return _EN_DASH.sub("–", _EM_DASH.sub("—", text))


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
    """Empty the short pieces' cache (see daemon.language.text.forget_caches)."""
    _short_piece.cache_clear()


@lru_cache(maxsize=8192)  # at most 8,192 pieces of CACHED_PIECE characters: a few MB
def _short_piece(latex: str) -> str:
    return _convert(latex)


_MACRO = re.compile(r"\\[A-Za-z]")
# a switch's space is the end of its name, not text (`{\\rm in}` -> in)
_SWITCH_SPACE = re.compile(r"(\\(?:" + "|".join(_SWITCHES) + r"))\s+(?=[^\s])")


def _convert(latex: str) -> str:
    """One piece converted whole, or kept as written: a result still holding a macro
    (one the converter does not know) would have lost its braces (`\\foo{x}` ->
    `\\foox`), so the piece is kept."""
    from pylatexenc.latexwalker import LatexWalker

    parsing, converter = _converter()
    latex_read = _SWITCH_SPACE.sub(r"\1{}", latex)
    try:
        walker = LatexWalker(latex_read, latex_context=parsing, tolerant_parsing=True)
        nodes = walker.get_latex_nodes()
        text = str(converter.nodelist_to_text(nodes[0]))
    except Exception:  # its bugs, a recursion on hostile nesting: kept as written
        return latex
    return latex if _MACRO.search(text) else text


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

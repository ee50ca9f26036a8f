"""Words as the query language sees them, shared by queries, the matcher and highlighting.

A text is cut into chunks: runs of letters and digits joined by hyphens ("pre-training",
"GPT-4o"), or a letter followed by `++` or `#` (C++, C#, F#: names, not the letter C).
A chunk is split into parts at hyphens and where letters meet digits ("GPT4" -> gpt, 4);
a part that follows its neighbour without a hyphen is `soft` (a phrase may not end or
start there, so `GPT-4` never matches "GPT-4o"). A chunk of several parts is also one
joined word ("pretraining", "gpt4"), as Lucene's word-delimiter filter indexes catenated
forms, so `pre-training`, `pretraining` and `"pre training"` find each other.

Each part has its word forms: case and accents folded, British spelling made American
(breame's list, and the -ise family by rule with its real exceptions: `american`), and
nouns reduced to their dictionary lemmas (lemminflect's, compacted in daemon.language.lemmas:
matrices -> matrix, analyses -> analysis, caches -> cache; `news` stays news, `dynamics`
stays dynamics, as the dictionary has them). Words the dictionary does not know fall back
to rules: acronym plurals (LLMs -> llm), -ies/-es/-s plurals. Author names are only case-
and accent-folded: `williams` is never "William".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

from breame.spelling import get_american_spelling

from daemon.language.lemmas import noun_lemmas

# combining marks: part of the letter before them ("Ro\u0308tig", decomposed as bioRxiv
# sends some names, is one word, as its composed form "Rötig" is; `fold` drops them)
_MARK = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# C++, C#, F# (a version may follow: C++17), else letters and digits joined by hyphens
_WORD = rf"[^\W_]+(?:[{_MARK}]+[^\W_]*)*"  # word characters (no underscore), marks within
# a structured abstract's label glued to its first word, as medRxiv's abstracts have them
# ("ConclusionLow-dose", "BackgroundThe"): the label is a chunk of its own
_LABEL = (
    r"(?:Background|Methods?|Results?|Conclusions?|Objectives?|Design|Settings?"
    r"|Participants|Findings|Interpretation|Funding)(?=[A-Z][a-z])"
)
_GLUED = re.compile(_LABEL)
_CHUNK = re.compile(
    rf"(?<![^\W_])[A-Za-z](?:\+\+|#)(?![^\W\d]|[#+])|(?<![^\W_]){_LABEL}"
    rf"|{_WORD}(?:[-\u2010\u2011]{_WORD})*"
)
_HYPHEN = re.compile(r"[-\u2010\u2011]")
# runs of digits or letters; a version marker "v" + digits after a name is a run of its
# own, so YOLOv8 is yolo v 8 (as YOLO-v8 is) and `YOLO` finds it
# Greek letters: a run of their own beside other letters ("TGFβ" is tgf beta, as TGF-β
# is), each read as its name (β -> beta): `TGF-beta`, `TGF-β` and `TGFβ` find each other
GREEK = "\u0370-\u03ff\u1f00-\u1fff"
_LATIN = rf"[^\W\d_{GREEK}]"  # a letter of any other script
_RUN = re.compile(
    rf"\d+|[{GREEK}]+(?:[{_MARK}]+[{GREEK}]*)*"
    rf"|(?:{_LATIN}[{_MARK}]*){{2,}}?(?=[vV]\d)|{_LATIN}+(?:[{_MARK}]+{_LATIN}*)*"
)
_HAS_GREEK = re.compile(f"[{GREEK}]")
_GREEK_NAMES = str.maketrans(
    {
        letter: name
        for letters, name in (
            ("α", "alpha"),
            ("β", "beta"),
            ("γ", "gamma"),
            ("δ", "delta"),
            ("εϵ", "epsilon"),
            ("ζ", "zeta"),
            ("η", "eta"),
            ("θϑ", "theta"),
            ("ι", "iota"),
            ("κϰ", "kappa"),
            ("λ", "lambda"),
            ("μ", "mu"),
            ("ν", "nu"),
            ("ξ", "xi"),
            ("ο", "omicron"),
            ("πϖ", "pi"),
            ("ρϱ", "rho"),
            ("σς", "sigma"),
            ("τ", "tau"),
            ("υ", "upsilon"),
            ("φϕ", "phi"),
            ("χ", "chi"),
            ("ψ", "psi"),
            ("ω", "omega"),
        )
        for letter in letters
    }
)
CACHED = 40_000  # words and pieces kept cut per cache generation (bounded memory)
K = TypeVar("K")
V = TypeVar("V")
_ACRONYM_PLURAL = re.compile(r"^[A-Z][A-Z0-9]+s$")
# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSABLE = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "ı": "i",
        "Þ": "Th",
        "þ": "th",
    }
)


def fold(text: str) -> str:
    """Casefold and strip accents: "Schrödinger" -> "schrodinger"; a Greek letter is its
    name: "β" -> "beta"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text).translate(_UNDECOMPOSABLE)
    if decomposed.isascii():
        return decomposed.casefold()
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return folded.translate(_GREEK_NAMES) if _HAS_GREEK.search(folded) else folded


# -ise words that are not British spellings of -ize words (American English writes them
# with -ise too); a word ending in one of them, or in -wise, keeps its s
_ISE_WORDS = """advertise advise apprise arise braise bruise chaise chastise circumcise comprise
    compromise concise cruise demise despise devise disguise enfranchise enterprise excise
    exercise exorcise expertise franchise guise improvise incise liaise malaise merchandise
    mise noise paradise poise porpoise praise precise premise prise promise raise reprise
    revise rise supervise surmise surprise televise tortoise treatise turquoise valise vise
    wise"""
_ISE_KEPT = frozenset(_ISE_WORDS.split())
_ISE_PREFIXES = ("", "de", "re", "un", "im", "in", "dis", "mis", "pre", "self", "super", "up")
_ISE = re.compile(
    r"^([a-z]{3,}?)is(e|es|ed|er|ers|ing|able|ability|ation|ations|ational|ationally)$"
)


def _ise_kept(base: str) -> bool:
    """Whether `base` (an -ise verb) is one of the real -ise words: itself, prefixed
    (denoise, unsupervise), in a longer word if it is long (semisupervise), or -wise.
    "rise" alone does not keep categorise, nor "mise" optimise."""
    if base.endswith("wise"):
        return True
    return any(
        base.endswith(kept) and (len(kept) >= 6 or base[: -len(kept)] in _ISE_PREFIXES)
        for kept in _ISE_KEPT
    )


# British -ae-/-oe- in the Greek roots of medicine and biology, where American English
# writes e (breame's list knows the common words: haemorrhage, oestrogen, anaemia; not
# haemorrhagic, haematoxylin, ischaemic, hypoxaemia, oedema, dyspnoea): a word holding
# one of these roots is spelled with the American root
_GREEK_AE = re.compile(
    r"haem|aemi|paed|oesoph|oestr|foet|aetiol|gynaec|diarrhoe|pnoe|oedem|coeli|faec|caesar"
    r"|anaesth|amoeb"
)
_AMERICAN_ROOT = {
    "haem": "hem",
    "aemi": "emi",  # anaemia, ischaemic; not daemon
    "paed": "ped",
    "oesoph": "esoph",
    "oestr": "estr",
    "foet": "fet",
    "aetiol": "etiol",
    "gynaec": "gynec",
    "diarrhoe": "diarrhe",
    "pnoe": "pne",
    "oedem": "edem",
    "coeli": "celi",
    "faec": "fec",
    "caesar": "cesar",
    "anaesth": "anesth",
    "amoeb": "ameb",
}


@lru_cache(maxsize=CACHED)
def american(word: str) -> str:
    """A folded word in American spelling: breame's list, then by rule the Greek roots
    with -ae-/-oe- (haematoxylin -> hematoxylin, ischaemic -> ischemic) and the -ise
    family (tokenisation -> tokenization, quantised -> quantized; promise, exercise,
    pairwise and the other real -ise words stay)."""
    found: str = get_american_spelling(word)
    if found == word and ("ae" in word or "oe" in word):
        found = _GREEK_AE.sub(lambda m: _AMERICAN_ROOT[m.group()], word)
    if found != word or "is" not in word:
        return found
    m = _ISE.match(word)
    if m is None or _ise_kept(m.group(1) + "ise"):
        return word
    return f"{m.group(1)}iz{m.group(2)}"


def american_prefix(prefix: str) -> str:
    """The American spelling of a word's beginning, as far as a word it begins knows it:
    "tokenis" -> "tokeniz" (tokenise), "colour" -> "color", "modell" -> "model"
    (modelling); "promis" stays (promise is American too)."""
    for ending in ("", "e", "s", "ed", "ing", "ation"):
        word = prefix + ending
        found = american(word)
        if found != word and found.endswith(ending):
            return found[: len(found) - len(ending)]
    return prefix


def _fallback(raw: str, word: str) -> str:
    """Plural and spelling rules for words the dictionary does not know."""
    if len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("ss"):
        return word  # unknown -us/-is words are stripped alike in queries and text: no harm
    return word[:-1]


@lru_cache(maxsize=CACHED)
def forms(raw: str) -> tuple[str, ...]:
    """Every form one part stands for, the preferred first: "Matrices" -> ("matrix",). An
    acronym's plural is the acronym, never a word it spells: "GAs" -> ("ga",), not gas."""
    word = fold(raw)
    if word.isdigit() or not word.isalnum():
        return (word,)
    if _ACRONYM_PLURAL.match(raw):
        return forms(raw[:-1])  # the acronym's own: "OVAs" is what "OVA" is (not "ova")
    spelled = american(word)
    lemmas = noun_lemmas(word) or (noun_lemmas(spelled) if spelled != word else None)
    if lemmas is None:
        return (american(_fallback(raw, spelled)),)
    if len(lemmas) == 1:
        return (american(lemmas[0]),)
    return tuple(dict.fromkeys(american(lemma) for lemma in lemmas))


@lru_cache(maxsize=CACHED)
def plain(raw: str) -> tuple[str, ...]:
    """An author name's part: folded, nothing more."""
    return (fold(raw),)


@dataclass
class Tokens:
    """One text cut into parts: their forms, surfaces (folded as written), offsets, and
    the joined words of multi-part chunks. Phrases match on consecutive parts."""

    forms: list[tuple[str, ...]] = field(default_factory=list)
    surface: list[str] = field(default_factory=list)
    soft: list[bool] = field(default_factory=list)  # glued to the previous part
    spans: list[tuple[int, int]] = field(default_factory=list)
    joined: list[tuple[tuple[str, ...], str, int, int]] = field(default_factory=list)
    # (forms, surface, first part, last part) of each multi-part chunk

    def gap(self) -> None:
        """A wall no phrase crosses (between two authors)."""
        self.forms.append(())
        self.surface.append("")
        self.soft.append(False)
        self.spans.append((0, 0))


@lru_cache(maxsize=CACHED)
def _cut(chunk: str, author: bool) -> tuple[Any, ...]:
    """One chunk's parts: forms, surfaces, soft flags, offsets in the chunk, and its
    joined word (forms, surface) if it has several parts."""
    form_of = plain if author else forms
    if (chunk.isalpha() and not cut_by_regex(chunk)) or chunk.isdigit() or chunk[-1] in "+#":
        return ((form_of(chunk),), (fold(chunk),), (False,), ((0, len(chunk)),), None)
    parts, surfaces, soft, spans = [], [], [], []
    offset = 0
    for part in _HYPHEN.split(chunk):
        for i, run in enumerate(_RUN.finditer(part)):
            piece = run.group()
            parts.append(form_of(piece))
            surfaces.append(fold(piece))
            soft.append(i > 0)
            spans.append((offset + run.start(), offset + run.end()))
        offset += len(part) + 1
    joined = None
    if len(parts) > 1:
        whole = "".join(chunk[a:b] for a, b in spans)
        joined = (form_of(whole), fold(whole))
    return (tuple(parts), tuple(surfaces), tuple(soft), tuple(spans), joined)


def parts(text: str, author: bool = False, into: Tokens | None = None) -> Tokens:
    """Like `tokenize` without offsets (what matching needs), from cached pieces."""
    out = into if into is not None else Tokens()
    cut = _PIECES[author]
    for piece in pieces(text):
        forms, surfaces, soft, joined = cut[piece]
        if joined:
            base = len(out.forms)
            out.joined.extend((fs, s, base + a, base + b) for fs, s, a, b in joined)
        out.forms.extend(forms)
        out.surface.extend(surfaces)
        out.soft.extend(soft)
    return out


class Cache(dict[K, V]):
    """A dict filled on first sight by `make`, looked up at C speed (`map(c.__getitem__,
    ...)`), and bounded: when full it becomes the old generation and a new one starts;
    what is found in the old one moves back, so frequent words stay cut."""

    def __init__(self, make: Callable[[K], V], size: int = CACHED) -> None:
        super().__init__()
        self.make, self.size = make, size
        self.old: dict[K, V] = {}

    def __missing__(self, key: K) -> V:
        found = self.old[key] if key in self.old else self.make(key)
        if len(self) >= self.size:
            self.old = dict(self)
            self.clear()
        self[key] = found
        return found


Cut = tuple[
    tuple[tuple[str, ...], ...],  # forms of each part
    tuple[str, ...],  # surfaces
    tuple[bool, ...],  # soft
    tuple[tuple[tuple[str, ...], str, int, int], ...],  # joined words (as Tokens.joined)
]


def cut_by_regex(piece: str) -> bool:
    """A piece no word shortcut may cut: it opens with a structured abstract's label
    glued to its first word ("BackgroundThe"), or mixes Greek letters with others
    ("TGFβ", "NF-κB": two runs each)."""
    if piece[:1].isupper() and _GLUED.match(piece) is not None:
        return True
    return not piece.isascii() and _HAS_GREEK.search(piece) is not None


def cut_piece(piece: str, author: bool = False) -> Cut:
    """One piece (see `pieces`) cut as `tokenize` cuts it, by shortcuts for a word and for
    words or numbers joined by hyphens (most pieces), which skip the regular expressions."""
    form_of = plain if author else forms
    label = cut_by_regex(piece)
    if (piece.isalpha() or piece.isdigit()) and not label:
        return ((form_of(piece),), (fold(piece),), (False,), ())
    words = piece.split("-")
    if len(words) > 1 and not label and all(w.isalpha() or w.isdecimal() for w in words):
        whole = "".join(words)
        return (
            tuple(map(form_of, words)),
            tuple(map(fold, words)),
            (False,) * len(words),
            ((form_of(whole), fold(whole), 0, len(words) - 1),),
        )
    t = tokenize(piece, author, cached=False)
    return (tuple(t.forms), tuple(t.surface), tuple(t.soft), tuple(t.joined))


_PIECES = {a: Cache(partial(cut_piece, author=a)) for a in (False, True)}


def forget_caches() -> None:
    """Empty every cache of the analysis: a daemon between polls holds none of what one
    document's words filled (they are made again, at the next document's first sight)."""
    for cached in (american, forms, plain, _cut):
        cached.cache_clear()
    for author in (False, True):
        _PIECES[author] = Cache(partial(cut_piece, author=author))


def tokenize(
    text: str, author: bool = False, into: Tokens | None = None, cached: bool = True
) -> Tokens:
    """`text` cut into parts; `cached=False` for callers that cache the result themselves
    (so a chunk is not held twice)."""
    out = into if into is not None else Tokens()
    cut = _cut if cached else _cut.__wrapped__
    text, origin = compatible(text)
    for m in _CHUNK.finditer(text):
        parts, surfaces, soft, spans, joined = cut(m.group(), author)
        start = m.start()
        first = len(out.forms)
        out.forms.extend(parts)
        out.surface.extend(surfaces)
        out.soft.extend(soft)
        if origin is None:
            out.spans.extend((start + a, start + b) for a, b in spans)
        else:  # offsets in the text as given
            out.spans.extend((origin[start + a], origin[start + b - 1] + 1) for a, b in spans)
        if joined is not None:
            out.joined.append((joined[0], joined[1], first, len(out.forms) - 1))
    return out


def words(text: str) -> list[str]:
    """The preferred form of each part of `text`, in order."""
    return [f[0] for f in tokenize(text).forms]


# ASCII characters that never belong to a chunk: a space, so str.split() cuts there
_APART = str.maketrans(
    {chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) in "-+#")}
)


def pieces(text: str) -> list[str]:
    """`text` cut at spaces and ASCII punctuation, at C speed. Each piece holds whole
    chunks (maybe none, maybe several): cutting it with `tokenize` gives the same parts
    as cutting the whole text, so pieces can be cut once and cached."""
    return compatible(text)[0].translate(_APART).split()


_LANDAU = re.compile(r"(?<![^\W_])[oOΘΩ](?=\()")


def compatible(text: str) -> tuple[str, list[int] | None]:
    """`text` with its compatibility characters as NFKC writes them (ligatures, super-
    and subscript digits, full-width forms: ﬁ -> fi, τ² -> τ2, ＧＰＴ－４ -> GPT-4), one
    character at a time, and where each character of the result comes from in `text`
    (None: nothing changed). So a text and its NFC, NFD, NFKC and NFKD forms cut into the
    same parts; combining marks are kept with their letter (see _WORD). Landau's O
    (`o(1)`, `O(n log n)`) is mathematics, not a word: it is left out (a space in its
    place), so `o1` finds OpenAI's model, never "(1 + o(1))"."""
    if "o(" in text or "O(" in text or "Θ(" in text or "Ω(" in text:
        text = _LANDAU.sub(" ", text)
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text, None
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        normal = unicodedata.normalize("NFKC", c) if not c.isascii() else c
        out.append(normal)
        origin.extend([i] * len(normal))
    if len(origin) == len(text) and "".join(out) == text:
        return text, None
    return "".join(out), origin

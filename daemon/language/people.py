"""Author watchlists: "new papers by these people", as Google Scholar's author alerts.

A person is a name ("Yann LeCun", "LeCun, Yann"), an ORCID iD, or both. An ORCID finds
the papers whose source gives it (PubMed, Crossref); a name finds the others by how
sources write names: the same family name, and given names that agree as far as both
say ("Y. LeCun" and "Yann A. LeCun" are Yann LeCun; "Yves LeCun" is not). Accents, case,
hyphens and initials' dots never matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ORCID = re.compile(
    r"^(?:https?://(?:www\.)?orcid\.org/)?(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$", re.IGNORECASE
)
_SPLIT = re.compile(r"[\s.\-‐‑‒–—]+")


def orcid_check(digits: str) -> str:
    """ORCID's check character of its first 15 digits (ISO 7064 MOD 11-2)."""
    total = 0
    for d in digits:
        total = (total + int(d)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def orcid(raw: str | None) -> str | None:
    """An ORCID iD as stored (`0000-0002-1825-0097`), from the bare iD or its orcid.org
    link; None when `raw` is not one or its check character is wrong."""
    m = _ORCID.match((raw or "").strip())
    if m is None:
        return None
    digits = "".join(m.groups()).upper()
    if orcid_check(digits[:15]) != digits[15]:
        return None
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def orcid_problem(raw: str) -> str | None:
    """Why `raw`, written as an ORCID iD, is not one (None: it is)."""
    m = _ORCID.match(raw.strip())
    if m is None:
        return f"{raw!r} is not an ORCID iD (0000-0002-1825-0097)"
    digits = "".join(m.groups()).upper()
    if orcid_check(digits[:15]) != digits[15]:
        right = "-".join(digits[i : i + 4] for i in range(0, 16, 4))[:-1] + orcid_check(digits[:15])
        return f"{raw!r} fails its check character: a typo? (did you mean {right!r}?)"
    return None


def looks_like_orcid(text: str) -> bool:
    return bool(re.search(r"\d{4}-?\d{4}-?\d{4}-?\d{3}[\dXx]", text))


def _fold(text: str) -> list[str]:
    """A name's words: accents, case and punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.replace("ı", "i")  # dotless i: "AI" is how upper case writes "Aı"
    return [w for w in _SPLIT.split(plain) if w]


@dataclass(frozen=True)
class Name:
    """A name as its family name and given names (or their initials)."""

    family: str
    given: tuple[str, ...]

    @classmethod
    def read(cls, text: str) -> Name | None:
        family, comma, given = text.partition(",")
        words = _fold(given) + _fold(family) if comma else _fold(text)
        if not words:
            return None
        return cls(words[-1], tuple(words[:-1]))

    def agrees(self, other: Name) -> bool:
        """The same family name, and the first given names agree as far as both say
        (an initial agrees with any name it begins; two full names must be one)."""
        if self.family != other.family:
            return False
        if not self.given or not other.given:
            return True
        mine, theirs = self.given[0], other.given[0]
        if len(mine) == 1 or len(theirs) == 1:
            return mine[0] == theirs[0]
        return mine.startswith(theirs) or theirs.startswith(mine)


@dataclass(frozen=True)
class Person:
    """Who a watchlist follows: as written, by name, by ORCID iD, or both."""

    written: str
    name: Name | None = None
    orcid: str | None = None


def find(
    people: tuple[Person, ...], authors: tuple[str, ...], orcids: tuple[tuple[str, str], ...]
) -> list[str]:
    """The paper's authors (as it writes them) who are among `people`: by ORCID iD where
    the paper gives one, else by name, never an author whose iD says it is someone else."""
    found: list[str] = []
    known = dict(orcids)  # author as written -> iD
    by_orcid = {o: name for name, o in orcids}
    for person in people:
        hit = by_orcid.get(person.orcid or "", "")
        if not hit and person.name is not None:
            hit = next(
                (
                    a
                    for a in authors
                    if (person.orcid is None or known.get(a, person.orcid) == person.orcid)
                    and (n := Name.read(a)) is not None
                    and person.name.agrees(n)
                ),
                "",
            )
        if hit and hit not in found:
            found.append(hit)
    return found

"""Plain data passed between stages: what a parser returns and the store ingests."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

HF_BASE = "https://huggingface.co"

_NON_WORD = re.compile(r"[\W_]+")
_ASCII_WORD = re.compile(r"[0-9A-Za-z]")  # kept by every title key
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(?:v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z][a-z.-]+/\d{7})(?:v\d+)?$", re.IGNORECASE)


MAX_FIELD = 20_000  # characters of a title or an abstract kept (arXiv's limit is 1,920)
MAX_AUTHORS = 5_000  # names kept (a collaboration lists about 3,000)


def clean_text(text: str) -> str:
    """Collapse whitespace, including arXiv hard wraps ("for\\n  Contrastive"); cut at
    MAX_FIELD characters, before splitting, so a field's memory is bounded by the limit,
    not by its size (a 49 MB one-line abstract would be millions of words first)."""
    if len(text) > 4 * MAX_FIELD:
        text = text[: 4 * MAX_FIELD]
    return " ".join(text.split())[:MAX_FIELD]


def title_key(title: str) -> str:
    """Normalised title: the identity of a paper whose arXiv id is unknown."""
    text = title.casefold() if title.isascii() else unicodedata.normalize("NFKC", title).casefold()
    return _NON_WORD.sub(" ", text).strip()


def has_words(title: str) -> bool:
    """Whether `title` has a word to key on (a title key that is not empty): an ASCII
    letter or digit, most titles' first character, says so without the key's work."""
    return _ASCII_WORD.search(title) is not None or bool(title_key(title))


def key_hash(key: str) -> int:
    """A signed 63-bit hash of a title key: a small, fast index for identity look-ups."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 1


def arxiv_id(raw: str | None) -> str | None:
    """The arXiv id without version, or None when `raw` is not an arXiv id."""
    if not raw:
        return None
    raw = raw.strip()
    m = _ARXIV_NEW.match(raw) or _ARXIV_OLD.match(raw)
    return m.group(1) if m else None


_DOI = re.compile(r"^(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.I)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$")


def doi(raw: str | None) -> str | None:
    """A DOI as stored: `10.<registrant>/<suffix>`, lower case (DOIs ignore case), from a
    bare DOI, `doi:...` or a doi.org link; None when `raw` is not one."""
    if not raw:
        return None
    m = _DOI.match(raw.strip())
    return m.group(1).lower() if m else None


_PMID = re.compile(r"^(?:pmid:\s*)?0*([1-9]\d{0,9})$", re.IGNORECASE)
_PMCID = re.compile(r"^(?:pmcid:\s*)?PMC\s*0*([1-9]\d{0,9})$", re.IGNORECASE)


def pmid(raw: str | None) -> str | None:
    """A PubMed id as stored (its digits, "PMID:" and leading zeros left off); None when
    `raw` is not one."""
    m = _PMID.match((raw or "").strip())
    return m.group(1) if m else None


def pmcid(raw: str | None) -> str | None:
    """A PubMed Central id as stored (`PMC1234567`); None when `raw` is not one."""
    m = _PMCID.match((raw or "").strip())
    return f"PMC{m.group(1)}" if m else None


def cited_id(raw: str) -> str | None:
    """A paper a citation watchlist follows, as one string: "arxiv:2401.01234" (also from
    arXiv's DOI or an arxiv.org link), "doi:10.1016/..." or "pmid:36006759"; None when
    `raw` names none of these."""
    text = raw.strip()
    lowered = text.lower()
    for prefix in ("arxiv:", "https://arxiv.org/abs/", "http://arxiv.org/abs/"):
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            break
    ident = arxiv_id(text) or arxiv_of_doi(doi(text))
    if ident:
        return f"arxiv:{ident}"
    if known := doi(text):
        return f"doi:{known}"
    if lowered.startswith("pmid:") and (number := pmid(text)):
        return f"pmid:{number}"
    return None


def arxiv_of_doi(value: str | None) -> str | None:
    """The arXiv id of arXiv's own DOI (`10.48550/arXiv.<id>`): the same paper."""
    m = _ARXIV_DOI.match(value or "")
    return arxiv_id(m.group(1)) if m else None


_ARXIV_MONTH = re.compile(r"^(?:[a-z.-]+/)?(\d{2})(\d{2})[.\d]", re.IGNORECASE)


def paper_day(announced: str | None, hf_day: str | None, arxiv: str | None) -> str | None:
    """The paper's own day (ISO), not the day paperwatch saw it: when its source
    announced or published it (arXiv's announcement, a preprint's first version), else the
    Hugging Face day that featured it, else the month its arXiv id encodes (`2101.00001`:
    "2021-01"); None when nothing says."""
    if announced or hf_day:
        return announced or hf_day
    m = _ARXIV_MONTH.match(arxiv or "")
    if m is None or not 1 <= int(m.group(2)) <= 12:
        return None
    year = int(m.group(1))
    return f"{2000 + year if year < 91 else 1900 + year}-{m.group(2)}"


def identifiers(arxiv: str | None, raw_doi: str | None) -> tuple[str | None, str | None]:
    """(arXiv id, DOI) a paper is known by, the DOI normalised: arXiv's own DOI is its
    arXiv id, no other DOI."""
    normal = doi(raw_doi)
    from_doi = arxiv_of_doi(normal)
    if from_doi:
        return arxiv or from_doi, None
    return arxiv, normal


def doi_url(value: str) -> str:
    return f"https://doi.org/{value}"


def pubmed_url(value: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{value}/"


def pmc_url(value: str) -> str:
    return f"https://pmc.ncbi.nlm.nih.gov/articles/{value}/"


def paper_url(arxiv: str) -> str:
    return f"{HF_BASE}/papers/{arxiv}"


def abs_url(arxiv: str) -> str:
    """The paper's abstract page on arXiv."""
    return f"https://arxiv.org/abs/{arxiv}"


def title_search_url(title: str) -> str:
    """arXiv's search for this title: where a paper known by nothing else is found."""
    return "https://arxiv.org/search/?" + urlencode({"query": title, "searchtype": "title"})


def pdf_url(arxiv: str) -> str:
    """The paper's PDF on arXiv (its latest version)."""
    return f"https://arxiv.org/pdf/{arxiv}"


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as one document shows it; missing facts are empty, never guessed."""

    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    arxiv_id: str | None = None
    doi: str | None = None  # normalised (models.doi); arXiv's own DOI is its arxiv_id
    pmid: str | None = None  # PubMed's id (models.pmid), an identifier as the two above
    pmcid: str | None = None  # PubMed Central's copy (models.pmcid): a link, no identity
    orcids: tuple[tuple[str, str], ...] = ()  # (author as written, ORCID iD) where given
    hf_day: date | None = None
    upvotes: int | None = None
    url: str | None = None
    # arXiv's own listings say more: the version, what the announcement was ("new",
    # "cross", "replace", "replace-cross"), the categories and the announcement day
    version: int | None = None
    announce: str = ""
    categories: tuple[str, ...] = ()
    announced: date | None = None

    @property
    def replacement(self) -> bool:
        """A new version of an older paper, not a new paper."""
        return self.announce in ("replace", "replace-cross")

    @property
    def key(self) -> str:
        return title_key(self.title)


@dataclass(frozen=True, slots=True)
class Digest:
    """A parsed document: its papers, the day the page showed, and which format it was."""

    kind: str  # "hf_json" | "hf_html" | "text" | "arxiv_rss" | "arxiv_rdf" | "arxiv_api" | ...
    papers: tuple[Paper, ...]
    page_day: date | None = None
    skipped: tuple[str, ...] = ()  # why each record that could not be read was left out

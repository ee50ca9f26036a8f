"""A local E-utilities: esearch answers with a count and a history (the shape of a real
esearch answer, tests/fixtures/pubmed), efetch with the articles of that history from
`retstart`, `retmax` at a time, each article's XML as NCBI sent it."""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.conftest import ROOT
from tests.fake_server import FakeServer

PUBMED = ROOT / "tests" / "fixtures" / "pubmed"
FIFTY = PUBMED / "findpapers_efetch_pubmed_50_articles_ml_nlp_2020-2022.xml"
ESEARCH = PUBMED / "biopython_esearch2_cancer_reldate60_edat_retmax100_usehistory.xml"
_ARTICLE = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.S)


def articles(path=FIFTY) -> list[bytes]:
    return _ARTICLE.findall(path.read_bytes())


class FakePubmed(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.articles: list[bytes] = []  # what the query finds
        self.error: str | None = None  # esearch answers <ERROR> with this
        self.status = 200

    def query(self, path: str) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        if self.status != 200:
            return self.send(h, self.status, b"unavailable")
        asked = self.query(h.path)
        if h.path.startswith("/esearch.fcgi"):
            if self.error:
                answer = f"<eSearchResult><ERROR>{self.error}</ERROR></eSearchResult>"
                return self.send(h, 200, answer.encode())
            real = ESEARCH.read_bytes()
            body = re.sub(rb"<Count>\d+</Count>", b"<Count>%d</Count>" % len(self.articles), real)
            body = re.sub(rb"<IdList>.*?</IdList>", b"<IdList/>", body, flags=re.S)
            return self.send(h, 200, body)
        if h.path.startswith("/efetch.fcgi"):
            assert asked["WebEnv"] == "MCID_6927d6e7fee3e90f880ec190" and asked["query_key"] == "1"
            start, count = int(asked["retstart"]), int(asked["retmax"])
            chosen = b"".join(self.articles[start : start + count])
            body = b'<?xml version="1.0" ?>\n<PubmedArticleSet>' + chosen + b"</PubmedArticleSet>"
            return self.send(h, 200, body)
        return self.send(h, 404, b"not found")

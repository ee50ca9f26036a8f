"""Issue 25, item 5: the digest email as a reader sees it, a picture taken in a real
browser: light by default, dark where the client follows dark mode, still light and
readable where the client drops <style> (Gmail, Outlook keep inline CSS only), no wider
than its 640-pixel column, every paper with its day, authors, why, snippet and links."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from PIL import Image

from daemon.delivery.render import render
from daemon.store.rows import StoredMatch, StoredPaper
from tests.browser import browser, keep_screenshot
from tests.conftest import HF


def digest_html() -> tuple[str, list[StoredMatch]]:
    """A digest of real papers (the Hugging Face fixture), matched on "model"."""
    entries = json.loads((HF / "api_daily_papers_2026-08-03.json").read_text())
    matches = []
    for i, e in enumerate(entries[:6], 1):
        p = e["paper"]
        paper = StoredPaper(
            id=i,
            title=p["title"],
            abstract=p["summary"],
            authors=tuple(a["name"] for a in p["authors"]),
            arxiv_id=p["id"],
            url=f"https://huggingface.co/papers/{p['id']}",
            day=p["publishedAt"][:10],
            upvotes=p.get("upvotes"),
        )
        matches.append(StoredMatch(i, "llm", paper, (("model", "abstract"),), False, "x"))
    return render("llm", "model OR agent", matches).email, matches


def luminance(pixel: Any) -> float:
    r, g, b = pixel[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def picture(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def text_share(image: Image.Image, dark_text: bool) -> float:
    """The share of pixels that are text: dark ones on a light page, or light ones on a
    dark page (about 4% of a page of cards)."""
    gray = image.convert("L")  # ITU-R 601 luma
    counts = gray.histogram()
    dark, light = sum(counts[:128]), sum(counts[171:])
    return (dark if dark_text else light) / (image.width * image.height)


def test_the_digest_email_reads_well_light_dark_and_without_its_style_sheet(tmp_path):
    html, matches = digest_html()
    page = tmp_path / "digest.html"
    page.write_text(html)
    gmail = tmp_path / "as-gmail.html"  # what a client that drops <style> shows
    gmail.write_text(re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    with browser(tmp_path / "chromium") as tab:
        tab.open(page.as_uri())
        light = tab.screenshot(width=700)
        width = tab.evaluate("document.documentElement.scrollWidth")
        cards = tab.evaluate("document.querySelectorAll('.pw-card').length")
        text = tab.evaluate("document.body.innerText")
        tab.dark(True)
        tab.open(page.as_uri())
        dark = tab.screenshot(width=700)
        tab.open(gmail.as_uri())
        unstyled = tab.screenshot(width=700)
        tab.dark(False)
    keep_screenshot("email.png", light)
    keep_screenshot("email-dark.png", dark)
    assert width <= 700 and cards == len(matches)
    for m in matches:
        assert m.paper.title.split(":")[0] in text and m.paper.day in text
        assert m.paper.authors[0] in text
    assert text.count("Matched: model in abstract") == len(matches)
    assert text.count("PDF") >= len(matches)
    light_img, dark_img, unstyled_img = picture(light), picture(dark), picture(unstyled)
    # light: a light page, a white card, dark text on it
    assert luminance(light_img.getpixel((3, 3))) > 230
    assert luminance(light_img.getpixel((350, 120))) > 240
    assert text_share(light_img, dark_text=True) > 0.02
    # dark mode: a dark page and card, light text on them (not dark text on dark)
    assert luminance(dark_img.getpixel((3, 3))) < 40
    assert luminance(dark_img.getpixel((350, 120))) < 50
    assert text_share(dark_img, dark_text=False) > 0.02
    # no style sheet: the inline palette, as light as the styled one
    assert luminance(unstyled_img.getpixel((3, 3))) > 230
    assert text_share(unstyled_img, dark_text=True) > 0.02

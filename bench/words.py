"""What the word rules do on real text (issue 20), measured on the corpus's words.

- Split words: a long query word also finds its two halves written apart ("pre training"
  for pretraining) unless a half is a function word ("in finite" is not infinite). Every
  adjacent pair of words in the corpus whose concatenation is itself a word of the corpus
  is a place the rule decides: listed by how often, joined and refused.
- British spellings: the -is-/-iz- word pairs of the corpus (optimiser/optimizer,
  tokenisation/tokenization, ...) that fold to one word, and those that do not, with
  breame's list alone (before) and with the -ise rule (now).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus_match import batches  # noqa: E402
from daemon.language.query import FUNCTION_WORDS, MIN_SPLIT  # noqa: E402
from daemon.language.text import forms  # noqa: E402

_ALPHA = re.compile(r"[A-Za-z]+")
SEEN = 5  # a joined word counts if it is written so in this many papers (not a URL's once)
_ISE = re.compile(r"^(.{3,}?)is(e|es|ed|er|ers|ing|ation|ations)$")


def measure(n: int) -> dict[str, object]:
    words: Counter[str] = Counter()  # papers each word is written in
    pairs: Counter[tuple[str, str]] = Counter()  # papers each adjacent pair is written in
    over_all = overall_only_split = 0
    for chunk in batches(n, 5000):
        for title, abstract in chunk:
            text = f"{title} {abstract}"
            seq = [w.lower() for w in _ALPHA.findall(text)]
            words.update(set(seq))
            found = {(a, b) for a, b in zip(seq, seq[1:], strict=False)}
            pairs.update((a, b) for a, b in found if len(a) + len(b) >= MIN_SPLIT)
            lowered = text.lower()
            if re.search(r"\bover\s+all\b", lowered):
                over_all += 1
                overall_only_split += not re.search(r"\boverall\b", lowered)
    joined: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for (a, b), count in pairs.items():
        whole = a + b
        if len(a) < 2 or len(b) < 2 or words[whole] < SEEN:
            continue
        kept = a not in FUNCTION_WORDS and b not in FUNCTION_WORDS
        (joined if kept else refused)[f"{whole} = {a} {b}"] += count
    from breame.spelling import get_american_spelling

    folded, apart, breame_only = [], [], 0
    for word in words:
        m = _ISE.match(word)
        if m is None:
            continue
        other = f"{m.group(1)}iz{m.group(2)}"
        if words[other] == 0:
            continue
        if get_american_spelling(word) == other:
            breame_only += 1
        (folded if set(forms(word)) & set(forms(other)) else apart).append(f"{word}/{other}")
    # -ae-/-oe- (issue 32): corpus words of 7 letters or more written with them whose
    # American form (e for ae/oe) is a corpus word too, folded by breame's list or by the
    # Greek-root rule, and those kept apart (to read: most are not one word)
    ae_folded, ae_breame, ae_apart = [], 0, []
    for word in words:
        if len(word) < 7 or ("ae" not in word and "oe" not in word):
            continue  # short: goes/ges, does/des are no spellings of one word
        for british in re.finditer(r"ae|oe", word):
            other = word[: british.start()] + "e" + word[british.end() :]
            if words[other] == 0:
                continue
            if get_american_spelling(word) == other:
                ae_breame += 1
            same = set(forms(word)) & set(forms(other))
            (ae_folded if same else ae_apart).append(f"{word}/{other}")
    return {
        "ae_pairs": len(ae_folded) + len(ae_apart),
        "ae_folded": len(ae_folded),
        "ae_folded_by_breame_alone": ae_breame,
        "ae_apart": sorted(ae_apart)[:20],
        "papers": n,
        "split_places": sum(joined.values()) + sum(refused.values()),
        "joined_total": sum(joined.values()),
        "joined_top": joined.most_common(30),
        "refused_total": sum(refused.values()),
        "refused_top": refused.most_common(15),
        "over_all_papers": over_all,
        "overall_only_by_split_before": overall_only_split,
        "is_iz_pairs": len(folded) + len(apart),
        "is_iz_folded": len(folded),
        "is_iz_folded_by_breame_alone": breame_only,
        "is_iz_apart": sorted(apart),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    m = measure(n)
    print(
        f"split words on {m['papers']} papers: {m['split_places']} (paper, word pair) places "
        f"where two words written apart are a corpus word joined; joined by the rule "
        f"{m['joined_total']}, refused (a function word) {m['refused_total']}"
    )
    print(
        f"  most joined (the joined word written so in >= {SEEN} papers):  "
        + "; ".join(f"{w} ({c})" for w, c in m["joined_top"])
    )
    print("  most refused: " + "; ".join(f"{w} ({c})" for w, c in m["refused_top"]))
    print(
        f"  'over all' in {m['over_all_papers']} papers; {m['overall_only_by_split_before']} of "
        f"them matched `overall` only by the split before the rule, 0 now"
    )
    print(
        f"British -is-/-iz- pairs written both ways in the corpus: {m['is_iz_pairs']}; folded "
        f"to one word now {m['is_iz_folded']} (by breame's list alone "
        f"{m['is_iz_folded_by_breame_alone']}); apart: {', '.join(m['is_iz_apart']) or 'none'}"
    )
    print(
        f"British -ae-/-oe- pairs written both ways in the corpus: {m['ae_pairs']}; folded to "
        f"one word now {m['ae_folded']} (by breame's list alone "
        f"{m['ae_folded_by_breame_alone']}); apart (first 20): "
        f"{', '.join(m['ae_apart']) or 'none'}"
    )


if __name__ == "__main__":
    main()

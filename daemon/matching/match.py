"""Match a batch of papers against many watchlists at once, on integer ids and bitsets.

A paper's field is cut into pieces at C speed (`daemon.language.text.pieces`); each distinct piece
is looked up once in this matcher's cache, which gives a small integer: 0 for the pieces
no watchlist reads (most of them), else the id of what the piece holds that watchlists
read: its forms and prefixes as key ids, and its parts (the words phrases are made of,
with the forms phrases use and whether the part is glued to the one before). A batch of
papers becomes one array of part ids per field, and numpy turns it into (key, paper)
pairs: the pieces' own keys, and two or three adjacent parts where a phrase may start
and end as pair and triple keys. So words, compounds, word forms and phrases of up to
three words are settled on keys alone; each watchlist is evaluated once for the whole
batch with integer AND/OR/NOT on bitsets of papers. Only longer phrases and phrases
ending in a prefix are verified, on the papers that hold every adjacent pair, with the
same code as direct evaluation (daemon.language.query), so results are identical to evaluating
every query on every paper. Which terms matched (the per-hit work) is worked out only
for the papers that matched.

A paper missing its abstract is decided in three-valued logic (daemon.language.query.decide): a
watchlist whose answer depends on the missing text is `undecided`, not alerted on a guess.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from typing import Any

import numpy as np

from daemon.language.query import FIELDS, And, Doc, Node, Not, Or, Term, decide, term_matches
from daemon.language.text import (
    Cache,
    american,
    cut_by_regex,
    cut_piece,
    fold,
    forms,
    pieces,
    plain,
)
from daemon.store.rows import StoredPaper

BATCH = 4096  # papers evaluated together (bits per integer; memory grows with it)
PIECES = 150_000  # pieces kept per cache generation: a day of arXiv in a few thousand
PREFIX = "\0"  # a key "\0tens": some word of the field starts with "tens"
EMPTY, NONE = -1, 0  # a piece with no words (dropped: it parts nothing); one nobody reads
EXACT, GLUED = 0, 1  # two adjacent parts where a two-word phrase may start and end; where
# only a longer one may (a part glued to its neighbour: "GPT-4o" holds no "GPT 4")
_TAG = {EXACT: "2", GLUED: "~"}
HASHED = 22  # at most, bits of the filter of adjacent parts some phrase reads
TABLE = 4 * PIECES  # distinct pieces' entries kept before the tables start afresh
SLICE = 512  # papers cut and coded at a time (bounds the arrays' memory)
DENSE = 64  # a key in more papers than this gets its bitset from numpy
Array = np.ndarray[Any, Any]
Paper = tuple[str, str, Sequence[str]]  # title, abstract, authors
Program = tuple[int, Any]
Part = tuple[int, int, tuple[int, ...] | None, bool]  # see Matcher._part
TERM, ANY_TERM, NOT, AND, OR = range(5)


@dataclass(frozen=True)
class Rule:
    """A compiled watchlist: just what matching needs."""

    name: str
    query: Node


@dataclass(frozen=True)
class Hit:
    watchlist: str
    matched: tuple[tuple[str, str], ...]  # (term, field), each once, in query order
    undecided: bool = False  # true with the missing abstract taken as empty, not for sure


def _terms(node: Node, positive: bool = True) -> Iterator[tuple[Term, bool]]:
    if isinstance(node, Term):
        yield node, positive
    elif isinstance(node, Not):
        yield from _terms(node.child, False)
    else:
        for child in node.children:
            yield from _terms(child, positive)


def _variants(term: Term) -> Iterator[tuple[bool, tuple[tuple[str, ...], ...], tuple[str, ...]]]:
    """(author?, the parts' forms, the joined word's forms) for each kind of field."""
    if term.fields - {"author"}:
        yield False, term.words, term.joined
    if "author" in term.fields:
        yield True, term.plain, term.joined_plain


def _keys(term: Term) -> set[str]:
    """Keys one of which every paper `term` matches holds (its anchors)."""
    anchors: set[str] = set()
    for _, words, joined in _variants(term):
        if term.prefix:
            anchors.update(PREFIX + p for p in (joined or words[0]))
        else:
            anchors.update(joined or words[0])
        if len(words) > 1:  # a phrase: its first part anchors too
            anchors.update(words[0])
        if words is term.words:
            for first, _ in term.splits:
                anchors.update(first)
    return anchors


def anchors(node: Node) -> frozenset[str] | None:
    """Keys one of which every matching paper holds; None if there are none (NOT x)."""
    if isinstance(node, Term):
        return frozenset(_keys(node))
    if isinstance(node, Not):
        return None
    found = [anchors(c) for c in node.children]
    if isinstance(node, Or):
        if any(a is None for a in found):
            return None
        return frozenset().union(*found)  # type: ignore[arg-type]
    options = [a for a in found if a is not None]
    return min(options, key=len) if options else None


def _any(bits: dict[int, int], keys: tuple[int, ...]) -> int:
    out = 0
    for key in keys:
        out |= bits.get(key, 0)
    return out


@dataclass(frozen=True, slots=True)
class Plan:
    """How a batch settles one term in one kind of field, on key ids: `sure` are keys
    that mean a match; a term that needs verifying (`verify`) may match where every
    `needs` entry has a key present."""

    sure: tuple[int, ...]
    verify: bool = False
    needs: tuple[tuple[int, ...], ...] = ()


class Matcher:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self.key_ids: dict[Hashable, int] = {}
        self.positive: list[list[int]] = []  # per rule: its terms not under a NOT
        self.always: list[int] = []
        self.by_key: dict[int, list[int]] = {}
        self.vocab: set[str] = set()  # forms some term reads
        self.prefixes: set[str] = set()
        self.part_ids: dict[str, int] = {}  # forms that are parts of phrases, from 1
        self.term_index: dict[Term, int] = {}
        for rule in self.rules:
            found = list(_terms(rule.query))
            for term, _ in found:
                self.term_index.setdefault(term, len(self.term_index))
            self.positive.append(
                list(dict.fromkeys(self.term_index[t] for t, positive in found if positive))
            )
        self.terms = list(self.term_index)
        self.programs = [self._compile(rule.query) for rule in self.rules]
        for term in self.terms:
            self._read(term)
        self.prefix_lengths = sorted({len(p) for p in self.prefixes})
        self.form_ids = {f: self._id(f) for f in self.vocab}
        self.prefix_ids = {p: self._id(PREFIX + p) for p in self.prefixes}
        self.width = len(self.part_ids) + 1
        self.triples_fit = self.width**3 < 2**62
        self._codes: dict[int, dict[int, int]] = {2: {}, 3: {}}
        plans = {
            (term, author): self._plan(term, author, words, joined)
            for term in self.terms
            for author, words, joined in _variants(term)
        }
        self.plans = [  # per term: (field, plan) for each field it searches
            tuple((name, plans[(term, name == "author")]) for name in FIELDS if name in term.fields)
            for term in self.terms
        ]
        self.pair_codes, self.pair_keys = _sorted(self._codes[2])
        self.triple_codes, self.triple_keys = _sorted(self._codes[3])
        # a filter of the adjacent parts some pair or triple holds: most adjacent words
        # in a text are not the start of any watched phrase
        w, w2 = self.width, self.width**2
        adjacent = [self.pair_codes // 2, self.triple_codes // w, self.triple_codes % w2]
        adjacent_codes = np.concatenate(adjacent)  # about 1 in 16 of the filter set
        self.hashed = min(HASHED, max(8, (16 * adjacent_codes.size).bit_length()))
        self.watched = np.zeros(1 << self.hashed, dtype=bool)
        self.watched[_hashed(adjacent_codes, self.hashed)] = True
        for i, rule in enumerate(self.rules):
            found_anchors = anchors(rule.query)
            if found_anchors is None:
                self.always.append(i)
                continue
            for key in found_anchors:
                self.by_key.setdefault(self._id(key), []).append(i)
        del self.key_ids  # kept as form_ids and prefix_ids: the rest was for building
        self._powers: list[int] = []
        self._lock = threading.Lock()
        self._forget()

    def _forget(self) -> None:
        """Start the pieces' cache and tables afresh (they grow with the distinct pieces
        seen, so a long-running daemon's matcher does this now and then)."""
        self._pieces_seen: dict[tuple[Any, ...], int] = {}
        self._piece_table: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        self._parts_seen: dict[tuple[Any, ...], int] = {}
        self._part_table: list[Part] = []
        self._intern_part(0, 0, None, False)  # a part no phrase reads
        self._intern_piece((), (0,))  # NONE: one such part
        self._arrays: dict[str, Array] = {}
        self._done = (0, 0)  # pieces and parts of the tables in the arrays
        self._pieces = {a: Cache(partial(self._piece, author=a), PIECES) for a in (False, True)}

    def _compile(self, node: Node) -> Program:
        """A query as nested tuples on term indices: (TERM, i), (ANY_TERM, indices), (NOT,
        program), (AND or OR, programs)."""
        if isinstance(node, Term):
            return (TERM, self.term_index[node])
        if isinstance(node, Not):
            return (NOT, self._compile(node.child))
        terms = [c for c in node.children if isinstance(c, Term)]
        if isinstance(node, Or) and len(terms) == len(node.children):
            return (ANY_TERM, tuple(self.term_index[t] for t in terms))
        return (AND if isinstance(node, And) else OR, tuple(map(self._compile, node.children)))

    def _id(self, key: Hashable) -> int:
        found = self.key_ids.get(key)
        if found is None:
            found = self.key_ids[key] = len(self.key_ids) + 1
        return found

    def _ids(self, found: Iterable[Hashable]) -> tuple[int, ...]:
        return tuple(self._id(f) for f in found)

    def _read(self, term: Term) -> None:
        """Note the forms, prefixes and phrase parts `term` reads."""
        for _, words, joined in _variants(term):
            if term.prefix:
                self.prefixes.update(joined or words[-1])
                words = words[:-1]
            else:
                self.vocab.update(joined)
            for part in words:
                self.vocab.update(part)
            if len(words) > 1:
                self._parts(words)
        for first, second in term.splits:
            self.vocab.update(first + second)
            self._parts((first, second))

    def _parts(self, words: Iterable[tuple[str, ...]]) -> None:
        for part in words:
            for form in part:
                self.part_ids.setdefault(form, len(self.part_ids) + 1)

    def _adjacent(self, words: Sequence[tuple[str, ...]], kinds: Iterable[int]) -> tuple[int, ...]:
        """Key ids of the parts `words` in a row (two or three), where a phrase may start
        and end (EXACT) or not (GLUED, pairs only); their codes noted for the batches."""
        ids, width = [], self.width
        for kind in kinds:
            for combo in product(*words):
                code = 0
                for form in combo:
                    code = code * width + self.part_ids[form]
                if len(words) == 2:
                    code = code * 2 + kind
                    key = self._id((_TAG[kind], *combo))
                else:
                    key = self._id(("3", *combo))
                self._codes[len(words)][code] = key
                ids.append(key)
        return tuple(ids)

    def _plan(
        self, term: Term, author: bool, words: tuple[tuple[str, ...], ...], joined: tuple[str, ...]
    ) -> Plan:
        both = (EXACT, GLUED)
        if term.prefix:
            anchor = self._ids(PREFIX + p for p in (joined or words[0]))
            if len(words) == 1:
                return Plan(anchor)
            head = words[:-1]
            pairs = [self._adjacent(p, both) for p in zip(head, head[1:], strict=False)]
            return Plan(anchor, True, (*pairs, *map(self._ids, head)))
        if len(words) == 1:
            sure = self._ids(words[0])
            if author:
                return Plan(sure)
            # a long word written as two: alphabetic halves, so never glued to each other
            halves = (self._adjacent(split, (EXACT,)) for split in term.splits)
            return Plan(sure + tuple(k for h in halves for k in h))
        sure = self._ids(joined)
        if len(words) == 2:
            return Plan(sure + self._adjacent(words, (EXACT,)))
        if len(words) == 3 and self.triples_fit:
            return Plan(sure + self._adjacent(words, (EXACT,)))
        pairs = [self._adjacent(p, both) for p in zip(words, words[1:], strict=False)]
        return Plan(sure, True, tuple(pairs))

    def _intern_part(self, *info: Any) -> int:
        found = self._parts_seen.get(info)
        if found is None:
            found = self._parts_seen[info] = len(self._part_table)
            self._part_table.append(info)
        return found

    def _intern_piece(self, keys: tuple[int, ...], parts: tuple[int, ...]) -> int:
        found = self._pieces_seen.get((keys, parts))
        if found is None:
            found = self._pieces_seen[(keys, parts)] = len(self._piece_table)
            self._piece_table.append((keys, parts))
        return found

    def _piece(self, piece: str, author: bool) -> int:
        """What one piece of text holds that some watchlist reads, as an id: its keys
        and its parts."""
        label = cut_by_regex(piece)  # "BackgroundThe", "TGFβ": two words
        if (piece.isalpha() or piece.isdigit()) and not label:  # one word: most pieces
            keys, part = self._word(piece, author)
            if not keys and not part[0]:
                return NONE
            return self._intern_piece(tuple(keys), (self._intern_part(*part),))
        words = piece.split("-")
        parts: list[int] = []
        hyphenated = len(words) > 1 and not label
        if hyphenated and all(w.isalpha() or w.isdecimal() for w in words):  # pre-training
            cache, table = self._pieces[author], self._piece_table
            keys = self._word("".join(words), author)[0]  # the joined word ("pretraining")
            for word in words:
                word_keys, (part_id,) = table[cache[word]]
                keys += word_keys
                parts.append(part_id)
        else:
            found, surfaces, soft, joined = cut_piece(piece, author)
            if not found:
                return EMPTY
            keys = []
            for fs, surface, glued in zip(found, surfaces, soft, strict=True):
                keys += self._keys(fs, surface, author)
                parts.append(self._intern_part(*self._part(fs, glued)))
            for fs, surface, _, _ in joined:
                keys += self._keys(fs, surface, author)
        if not any(self._part_table[p][0] for p in parts):  # no phrase reads any
            if not keys:
                return NONE
            parts = [0]
        return self._intern_piece(tuple(sorted(set(keys))), tuple(parts))

    def _word(self, word: str, author: bool) -> tuple[list[int], Part]:
        """The keys and the part of one word (letters or digits)."""
        found = plain.__wrapped__(word) if author else forms.__wrapped__(word)
        return self._keys(found, fold(word), author), self._part(found, False)

    def _keys(self, found: tuple[str, ...], surface: str, author: bool) -> list[int]:
        """Key ids of a part with these forms, written `surface`."""
        ids = self.form_ids
        keys = [ids[f] for f in found if f in ids]
        if not self.prefixes:
            return keys
        keys += self._prefixes(surface)
        spelled = surface if author else american(surface)
        return keys + self._prefixes(spelled) if spelled != surface else keys

    def _part(self, found: tuple[str, ...], glued: bool) -> Part:
        """A part as phrases read it: its first two phrase forms, all of them if more,
        and whether it is glued to the part before."""
        ps = [self.part_ids[f] for f in found if f in self.part_ids]
        first, second = (ps + [0, 0])[:2]
        return (first, second, tuple(ps) if len(ps) > 2 else None, glued)

    def _prefixes(self, surface: str) -> list[int]:
        """Key ids of the watched prefixes `surface` starts with."""
        found = []
        for n in self.prefix_lengths:
            if n > len(surface):
                break
            if surface[:n] in self.prefixes:
                found.append(self.prefix_ids[surface[:n]])
        return found

    def arrays(self) -> dict[str, Array]:
        """The piece and part tables as numpy arrays, extended by what was added since."""
        t = self._arrays
        pieces_done, parts_done = self._done
        new_pieces, new_parts = self._piece_table[pieces_done:], self._part_table[parts_done:]
        columns: dict[str, tuple[list[Any], Any]] = {}
        if new_pieces:
            for name, i in (("keys", 0), ("parts", 1)):
                counts = [len(info[i]) for info in new_pieces]
                start = int(t[name + "_start"][-1] + t[name + "_count"][-1]) if t else 0
                columns[name + "_count"] = (counts, np.int64)
                columns[name + "_start"] = (np.cumsum([start, *counts[:-1]]).tolist(), np.int64)
                columns[name] = ([k for info in new_pieces for k in info[i]], np.int64)
        if new_parts:
            columns["first"] = ([p[0] for p in new_parts], np.int64)
            columns["second"] = ([p[1] for p in new_parts], np.int64)
            columns["many"] = ([p[2] is not None for p in new_parts], bool)
            columns["soft"] = ([p[3] for p in new_parts], bool)
        for name, (values, dtype) in columns.items():
            added = np.array(values, dtype=dtype)
            t[name] = np.concatenate([t[name], added]) if name in t else added
        self._done = (len(self._piece_table), len(self._part_table))
        return t

    def powers(self, n: int) -> list[int]:
        while len(self._powers) < n:
            self._powers.append(1 << len(self._powers))
        return self._powers

    def index(self, texts: Sequence[Sequence[str]], author: bool) -> dict[int, int]:
        """Key id -> bitset of the papers holding it, for one field of papers (each given
        as its strings: a title, or the authors, walled apart)."""
        n = len(texts)
        found = [self._held(texts[i : i + SLICE], i, n, author) for i in range(0, n, SLICE)]
        if not any(f.size for f in found):
            return {}
        held = np.sort(np.concatenate(found)) if len(found) > 1 else found[0]
        key_of = held // n
        starts = np.flatnonzero(np.diff(key_of, prepend=-1))
        keys = key_of[starts].tolist()
        del key_of
        papers = held % n
        del held
        bounds = [*starts.tolist(), len(papers)]
        powers = self.powers(n)
        bits = {}
        for first in range(0, len(keys), 4096):  # members as Python ints a block at a time
            last = min(first + 4096, len(keys))
            base = bounds[first]
            members = papers[base : bounds[last]].tolist()
            for k in range(first, last):
                lo, hi = bounds[k] - base, bounds[k + 1] - base
                if hi - lo <= DENSE:
                    bits[keys[k]] = sum(map(powers.__getitem__, members[lo:hi]))
                else:
                    row = np.zeros(n, dtype=bool)
                    row[papers[base + lo : base + hi]] = True
                    packed = np.packbits(row, bitorder="little").tobytes()
                    bits[keys[k]] = int.from_bytes(packed, "little")
        return bits

    def _held(self, texts: Sequence[Sequence[str]], offset: int, n: int, author: bool) -> Array:
        """Sorted distinct codes key * n + paper of the keys these papers' field holds
        (papers numbered from `offset`)."""
        get = self._pieces[author].__getitem__
        flat: list[int] = []
        lengths = []
        for strings in texts:
            before = len(flat)
            for text in strings:
                flat.extend(map(get, pieces(text)))
                flat.append(NONE)  # no phrase crosses into the next author or paper
            lengths.append(len(flat) - before)
        ids = np.array(flat, dtype=np.int64)
        del flat
        paper = np.repeat(np.arange(offset, offset + len(texts), dtype=np.int64), lengths)
        kept = ids > NONE
        if not kept.any():  # nothing any watchlist reads (or no authors)
            return np.zeros(0, dtype=np.int64)
        kept = ids != EMPTY
        if not kept.all():
            ids, paper = ids[kept], paper[kept]
        t = self.arrays()
        keys: list[Array] = []
        papers: list[Array] = []
        has = np.flatnonzero(t["keys_count"][ids])
        if has.size:  # each piece's own keys
            found, owner = _expand(t, "keys", ids[has])
            keys.append(found)
            papers.append(paper[has][owner])
        if self.pair_codes.size or self.triple_codes.size:  # some phrase reads adjacent parts
            parts, owner = _expand(t, "parts", ids)
            self._phrases(t, parts, paper[owner], keys, papers)
        if not keys:
            return np.zeros(0, dtype=np.int64)
        held: Array = np.sort(np.concatenate(keys) * n + np.concatenate(papers))
        distinct: Array = held[np.diff(held, prepend=-1) != 0]  # np.unique, minus its hashing
        return distinct

    def _phrases(
        self,
        t: dict[str, Array],
        parts: Array,
        paper: Array,
        keys: list[Array],
        papers: list[Array],
    ) -> None:
        """Pair and triple keys of the parts in a row where phrases read them."""
        first, second, soft = t["first"][parts], t["second"][parts], t["soft"][parts]
        width = self.width
        starts = ~soft  # a phrase starts at a part not glued to the one before,
        ends = np.append(starts[1:], True)  # and ends before a part not glued to it
        at = np.flatnonzero((first[:-1] > 0) & (first[1:] > 0))  # two phrase parts in a row
        other = second > 0  # parts with a second phrase form
        rare = at[other[at] | other[at + 1]]
        rare3 = at[:-1][at[1:] == at[:-1] + 1]  # three in a row
        rare3 = rare3[other[rare3] | other[rare3 + 1] | other[rare3 + 2]]
        at = at[self.watched[_hashed(first[at] * width + first[at + 1], self.hashed)]]
        options = (first, second)
        for a, b in product(options, options):
            sub = at if a is first and b is first else rare[(a[rare] > 0) & (b[rare + 1] > 0)]
            kind = np.where(starts[sub] & ends[sub + 1], EXACT, GLUED)
            codes = (a[sub] * width + b[sub + 1]) * 2 + kind
            _found(self.pair_codes, self.pair_keys, codes, paper[sub], keys, papers)
        if self.triple_codes.size:
            three = at[:-1][at[1:] == at[:-1] + 1]  # both pairs watched
            for a, b, c in product(options, options, options):
                sub = three if a is b is c is first else rare3
                sub = sub[(a[sub] > 0) & (b[sub + 1] > 0) & (c[sub + 2] > 0)]
                sub = sub[starts[sub] & ends[sub + 2]]
                codes = (a[sub] * width + b[sub + 1]) * width + c[sub + 2]
                _found(self.triple_codes, self.triple_keys, codes, paper[sub], keys, papers)
        many = np.flatnonzero(t["many"][parts])
        if many.size:  # parts with three phrase forms or more: rare, in Python
            self._many(many.tolist(), parts, starts, ends, paper, keys, papers)

    def _many(
        self,
        at: list[int],
        parts: Array,
        starts: Array,
        ends: Array,
        paper: Array,
        keys: list[Array],
        papers: list[Array],
    ) -> None:
        table, width = self._part_table, self.width
        lookup = {2: (self.pair_codes, self.pair_keys), 3: (self.triple_codes, self.triple_keys)}
        found: set[tuple[int, int]] = set()
        for i in at:
            for n in (2, 3):
                for s in range(i - n + 1, i + 1):
                    if s < 0 or s + n > parts.size:
                        continue
                    options = []
                    for j in range(s, s + n):
                        info = table[int(parts[j])]
                        options.append(info[2] or tuple(f for f in info[:2] if f))
                    exact = bool(starts[s] and ends[s + n - 1])
                    if n == 3 and not exact:
                        continue
                    codes, values = lookup[n]
                    for combo in product(*options):
                        code = 0
                        for form in combo:
                            code = code * width + form
                        if n == 2:
                            code = code * 2 + (EXACT if exact else GLUED)
                        k = int(np.searchsorted(codes, code))
                        if k < codes.size and codes[k] == code:
                            found.add((int(values[k]), int(paper[s])))
        if found:
            keys.append(np.array([k for k, _ in found], dtype=np.int64))
            papers.append(np.array([p for _, p in found], dtype=np.int64))

    def idle(self) -> None:
        """Drop what the pieces' cache and tables hold (a daemon between polls)."""
        with self._lock:
            self._forget()

    def match_batch(self, papers: Sequence[Paper]) -> Batch:
        return Batch(self, papers)

    def fields(self, papers: Sequence[Paper]) -> dict[str, dict[int, int]]:
        """Per field, key id -> bitset of the papers holding it. One thread at a time:
        the pieces' cache and tables are shared by every batch of this matcher."""
        with self._lock:
            if len(self._piece_table) > TABLE:
                self._forget()
            return {
                "title": self.index([(p[0],) for p in papers], False),
                "abstract": self.index([(p[1],) for p in papers], False),
                "author": self.index([p[2] for p in papers], True),
            }

    def match(self, title: str, abstract: str, authors: Iterable[str]) -> list[Hit]:
        return self.match_batch([(title, abstract, list(authors))]).hits(0)

    def match_rows(self, rows: Iterable[StoredPaper]) -> Iterator[tuple[StoredPaper, list[Hit]]]:
        """Each stored paper row with its hits, matched in batches (none cut when there
        is no watchlist)."""
        if not self.rules:
            yield from ((row, []) for row in rows)
            return
        batch: list[StoredPaper] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                yield from self._rows(batch)
                batch = []
        if batch:
            yield from self._rows(batch)

    def _rows(self, rows: list[StoredPaper]) -> Iterator[tuple[StoredPaper, list[Hit]]]:
        result = self.match_batch([(r.title, r.abstract or "", r.authors) for r in rows])
        for i, row in enumerate(rows):
            yield row, result.hits(i)


def _expand(t: dict[str, Array], name: str, ids: Array) -> tuple[Array, Array]:
    """The entries of table column `name` for each of `ids`, and whose each one is."""
    count = t[name + "_count"][ids]
    ends = np.cumsum(count)
    total = int(ends[-1]) if ends.size else 0
    offsets = np.arange(total) + np.repeat(t[name + "_start"][ids] - ends + count, count)
    return t[name][offsets], np.repeat(np.arange(ids.size), count)


def _hashed(pairs: Array, bits: int) -> Array:
    """Two part ids (a * width + b) hashed to an index of `Matcher.watched`."""
    return (pairs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)


def _sorted(codes: dict[int, int]) -> tuple[Array, Array]:
    order = sorted(codes)
    return np.array(order, dtype=np.int64), np.array([codes[c] for c in order], dtype=np.int64)


def _found(
    codes: Array,
    values: Array,
    wanted: Array,
    paper: Array,
    keys: list[Array],
    papers: list[Array],
) -> None:
    """Append the keys of the `wanted` codes found in `codes`, with their papers."""
    if not codes.size or not wanted.size:
        return
    at = np.searchsorted(codes, wanted)
    at[at == codes.size] = 0
    hit = codes[at] == wanted
    keys.append(values[at[hit]])
    papers.append(paper[hit])


class Batch:
    """One batch of papers evaluated against every watchlist one of its keys anchors."""

    def __init__(self, matcher: Matcher, papers: Sequence[Paper]) -> None:
        self.matcher = matcher
        self.papers = papers
        self.everyone = (1 << len(papers)) - 1
        self.bits = matcher.fields(papers)
        self._fields: list[dict[str, int] | None] = [None] * len(matcher.terms)
        self._values: list[int | None] = [None] * len(matcher.terms)
        self._docs: dict[int, Doc] = {}
        self._by_paper: dict[int, list[int]] | None = None
        candidates = set(matcher.always)
        by_key = matcher.by_key
        for bits in self.bits.values():
            for key in bits.keys() & by_key.keys():
                candidates.update(by_key[key])
        self.results: dict[int, int] = {}  # rule index -> bitset of the papers it matches
        for r in sorted(candidates):
            found = self.evaluate(matcher.programs[r])
            if found:
                self.results[r] = found

    def doc(self, i: int) -> Doc:
        found = self._docs.get(i)
        if found is None:
            title, abstract, authors = self.papers[i]
            found = self._docs[i] = Doc(title, abstract, list(authors))
        return found

    def verify(self, term: Term, name: str, maybe: int) -> int:
        """The papers of `maybe` where `term` really matches in field `name`."""
        out = 0
        while maybe:
            low = maybe & -maybe
            if term_matches(term, self.doc(low.bit_length() - 1).fields[name]):
                out |= low
            maybe ^= low
        return out

    def term(self, i: int) -> dict[str, int]:
        """Per field, the papers term `i` matches there."""
        found = self._fields[i]
        if found is not None:
            return found
        found = {}
        for name, plan in self.matcher.plans[i]:
            bits = self.bits[name]
            sure = _any(bits, plan.sure)
            if plan.verify:
                maybe = self.everyone & ~sure
                for keys in plan.needs:
                    maybe &= _any(bits, keys)
                if maybe:
                    sure |= self.verify(self.matcher.terms[i], name, maybe)
            found[name] = sure
        self._fields[i] = found
        return found

    def value(self, i: int) -> int:
        """The papers term `i` matches in any of its fields."""
        found = self._values[i]
        if found is None:
            found = 0
            for bits in self.term(i).values():
                found |= bits
            self._values[i] = found
        return found

    def evaluate(self, program: Program) -> int:
        op, arg = program
        values = self._values
        if op == TERM:
            found = values[arg]
            return self.value(arg) if found is None else found
        if op == ANY_TERM:  # most watchlists: a list of keywords
            out = 0
            for i in arg:
                found = values[i]
                out |= self.value(i) if found is None else found
            return out
        if op == NOT:
            return self.everyone & ~self.evaluate(arg)
        if op == AND:
            out = self.everyone
            for child in arg:
                out &= self.evaluate(child)
                if not out:
                    break
            return out
        out = 0
        for child in arg:
            out |= self.evaluate(child)
        return out

    def count(self) -> int:
        return sum(bits.bit_count() for bits in self.results.values())

    def hits(self, i: int) -> list[Hit]:
        """The watchlists paper `i` matches, with the terms that matched where."""
        if self._by_paper is None:
            self._by_paper = {}
            for r, bits in self.results.items():
                while bits:
                    low = bits & -bits
                    self._by_paper.setdefault(low.bit_length() - 1, []).append(r)
                    bits ^= low
        bit = 1 << i
        out = []
        for r in self._by_paper.get(i, ()):
            terms = self.matcher.terms
            matched = tuple(
                (terms[t].text, name)
                for t in self.matcher.positive[r]
                for name, found in self.term(t).items()
                if found & bit
            )
            rule = self.matcher.rules[r]
            doc = self.doc(i) if not self.papers[i][1] else None
            undecided = doc is not None and decide(rule.query, doc) is None
            out.append(Hit(rule.name, tuple(dict.fromkeys(matched)), undecided))
        return out

"""The training of similar-watchlists, in a module of its own: the daemon runs it in a
spawned process, which imports this (the store and scikit-learn), not the daemon's
configuration, channels and scheduler."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from daemon.store import Store

if TYPE_CHECKING:
    from daemon.similar.model import Model, Row, Space

Job = tuple[list[int], list[int], float | None]  # positives, negatives (👎), sensitivity
MIN_BACKGROUND = 1_000  # papers a watchlist has seen, at least, to be its background


def train_models(
    db_path: Path, jobs: dict[str, Job], space: Space | None
) -> tuple[Space, dict[str, Model]]:
    """Fit the space (unless given) on the stored papers and train each watchlist's model
    on its positives and negatives, the newest papers as background. Runs in a child
    process (the daemon), reading the database read-only; leaves the background's
    vectors beside it for the next training (daemon.similar.kept)."""
    import numpy as np
    from scipy import sparse

    from daemon.similar.kept import Kept, keep, kept_path
    from daemon.similar.model import BACKGROUND, Space, train

    kept = Kept(kept_path(db_path))  # the vectors the last training left

    def vectors(ids: list[int]) -> Any:
        assert space is not None
        return kept.vectors(space, list(store.papers.texts(ids=ids)))[1]

    backgrounds: dict[int | None, tuple[Any, Any]] = {}  # vectorized once for all
    computed: list[tuple[list[Row], Any, Any]] = []  # to keep

    def background_of(upto: int | None) -> tuple[Any, Any]:
        """The newest papers the watchlist has seen (ids up to `upto`): the papers it is
        about to score are not its negatives. A watchlist that has seen too few (a store
        filled since it came) takes the newest stored ones."""
        assert space is not None
        if upto not in backgrounds:
            rows = list(store.papers.texts(recent=BACKGROUND, upto=upto))
            if len(rows) < MIN_BACKGROUND:
                rows = list(store.papers.texts(recent=BACKGROUND))
            found, features = kept.vectors(space, rows)
            computed.append((rows, found, features.dense))
            backgrounds[upto] = np.array([pid for pid, _, _ in rows]), features
        return backgrounds[upto]

    with Store(db_path, readonly=True) as store:
        if space is None:
            space = Space.fit(map(kept.counts, batches(store.papers.texts(), 5_000)))
        models = {}
        for name, (positives, negatives, sensitivity) in jobs.items():
            recent_ids, recent_vectors = background_of(store.similar.scored_up_to(name))
            background = recent_vectors[(~np.isin(recent_ids, positives + negatives)).nonzero()[0]]
            models[name] = train(
                name,
                sorted(positives),
                vectors(sorted(positives)),
                background,
                sensitivity,
                sorted(negatives),
                vectors(sorted(negatives)) if negatives else None,
            )
    if computed:  # each paper once, whichever backgrounds it was in
        rows = [row for part, _, _ in computed for row in part]
        _, first = np.unique([pid for pid, _, _ in rows], return_index=True)
        found = sparse.vstack([f for _, f, _ in computed], format="csr")[first]
        dense = np.vstack([d for _, _, d in computed])[first]
        keep(kept_path(db_path), [rows[i] for i in first], found, dense)
    return space, models


T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` `size` at a time: the store streamed, not read whole."""
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def train_in_child(
    out: Connection,
    db_path: Path,
    jobs: dict[str, Job],
    space: Space | None,
) -> None:
    """The training process: its result, or its error, sent back through `out`."""
    try:
        out.send(("ok", train_models(db_path, jobs, space)))
    except Exception as exc:
        out.send(("error", repr(exc)))
    finally:
        out.close()

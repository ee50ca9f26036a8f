"""paperwatch: watches research-paper digests and alerts on new papers matching watchlists.

The flow, one package per stage (each arrow a plain function call on plain data;
docs/architecture.md has the map, tests/test_layout.py holds the direction):

    sources/<kind>.py   poll() -> raw documents (net/http.py), scheduled by service.py,
           |            run by poller.py, which keeps state
    parse/              sniff + parse -> Digest of Papers
           |
    ingest/             one transaction per document: identity.py merges papers into
           |            store/papers.py; the change hook ...
    matching/           ... matches new papers (language/query.py) and delivery/matches.py
           |            writes matches and deliveries in that same transaction
    delivery/           outbox.py: one digest per watchlist x channel, render.py, retries;
                        channels.py (apprise, console://) and outputs/ (BibTeX, webhooks)

config/ reads config.toml into plain settings; runtime.py builds the channels, sources,
matcher and HTTP client from them, the snapshot the daemon swaps on reload; app.py is
what the CLI, the daemon's jobs and web/ call; core/ holds what every stage uses.
"""

import os

# numpy's arrays here are small (a matcher's tables, a training's 256 columns): OpenBLAS's
# pool of threads cost every process (the daemon, a command, a training) 60 ms of CPU to
# start, and its threads spun beside the daemon's own for nothing. Set before numpy loads;
# a value in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

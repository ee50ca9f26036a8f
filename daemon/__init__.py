"""paperwatch: watches research-paper digests and alerts on new papers matching watchlists.

The flow, one module per stage (each arrow a plain function call on plain data):

    sources/<kind>.py  poll() -> raw documents          (scheduled by service.py; run by
           |                                              poller.py, which keeps state)
    parse/             sniff + parse -> Digest of Papers
           |
    ingest.py          one transaction per document: identity.py merges papers into
           |           store/papers.py; the change hook ...
    match.py           ... matches new papers (query.py) and outbox.py writes matches and
           |           deliveries (store/deliveries.py) in that same transaction
    outbox.py          deliver(): batches per watchlist x channel, render.py, retries
           |
    channels.py        apprise (email, chat, webhooks, console://)

config.py validates config.toml; runtime.py turns it into the immutable snapshot the
daemon swaps on reload; clock.py and http.py are the edges tests replace.
"""

__version__ = "0.1.0"

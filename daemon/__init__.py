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
    outbox.py          deliver(): one digest per watchlist x channel, render.py, retries
           |
    channels.py        apprise (email, chat, console://) and outputs/ (data: BibTeX,
                       JSON webhooks)

app.py is what the CLI, the daemon's jobs and the web handlers call; config.py validates
config.toml into plain settings (config_schema.py its shape); runtime.py builds the
channels, sources, matcher and HTTP client from them, the immutable snapshot the daemon
swaps on reload; clock.py and http.py are the edges tests replace.
"""

__version__ = "0.1.0"

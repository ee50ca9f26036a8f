"""paperwatch: watches research-paper digests and alerts on new papers matching watchlists."""

__version__ = "0.1.0"

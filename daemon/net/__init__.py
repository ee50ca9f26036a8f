"""The network edge: the one place that talks HTTP (polite, bounded, every failure a
FetchError), for the sources, the webhook output and Zotero alike."""

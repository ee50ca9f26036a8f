"""The local web interface: the Atom feeds, the JSON API and the page, on a bounded
standard-library HTTP server; what a reader does there (marks, votes, Zotero)."""

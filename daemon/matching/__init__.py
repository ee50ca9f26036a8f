"""Which papers a watchlist wants: words as queries see them, the query language, the
indexed matcher, one-query search, author and citation watchlists."""

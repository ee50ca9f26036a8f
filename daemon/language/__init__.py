"""How watchlists and papers say things: words folded and lemmatized as queries read them,
the query language, people's names, LaTeX as the Unicode it stands for. Below the
configuration, which parses queries and names with it."""

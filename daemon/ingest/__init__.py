"""One document in: parsed, its papers matched to the stored ones (identity) and stored,
LaTeX converted."""

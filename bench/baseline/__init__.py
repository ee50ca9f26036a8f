"""The matcher as it was before issue 10 (word forms, compounds, three-valued logic), frozen:
the baseline `make bench` measures the current matcher against, on the same data."""

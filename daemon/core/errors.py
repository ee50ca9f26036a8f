"""Expected failures: one base class so the CLI can turn any of them into one line."""


class PaperwatchError(Exception):
    """Base of every expected error; str() is the one-line message shown to users."""


class ConfigError(PaperwatchError):
    """The configuration is invalid; the message starts with the TOML path."""


class ParseError(PaperwatchError):
    """A document could not be read as a digest; the message names input and reason."""


class FetchError(PaperwatchError):
    """A source could not be fetched; the message names the URL and the reason."""


class QueryError(PaperwatchError):
    """A watchlist query has a syntax error; carries the 1-based column."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.reason = message


class UsageError(PaperwatchError):
    """The command line asks for something that does not exist (unknown watchlist...)."""


class LockedError(PaperwatchError):
    """Another paperwatch instance holds the state directory."""

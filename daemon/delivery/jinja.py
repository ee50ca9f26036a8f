"""The one Jinja environment: the page's templates and the email's (daemon/templates),
autoescaped; made by the first page or message, not by every command."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from jinja2 import Template


def keep_token(url: str, token: str) -> str:
    """`url` carrying the token the page was asked with (a feed reader's `?token=`)."""
    if not token:
        return url
    path, _, anchor = url.partition("#")
    joined = path + ("&" if "?" in path else "?") + urlencode({"token": token})
    return joined + (f"#{anchor}" if anchor else "")


@cache
def environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    found = Environment(
        loader=PackageLoader("daemon", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    found.filters["keep_token"] = keep_token
    return found


def template(name: str) -> Template:
    found: Template = environment().get_template(name)
    return found

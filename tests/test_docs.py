"""Docs that stay true (issue 33, item 7): as sqlite-utils checks its own, a command, a
config key, a source kind or an output scheme that docs/ does not name fails here; the
README stays a short front page."""

from __future__ import annotations

import argparse
import re

import pytest

from daemon.cli import build_parser
from daemon.config import schema as config_schema
from daemon.delivery.outputs.contract import OUTPUTS
from daemon.sources import kinds
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def text(name: str = "*.md") -> str:
    return "\n".join(p.read_text() for p in sorted(DOCS.glob(name)))


def commands() -> list[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


def config_keys() -> list[str]:
    shapes = (
        config_schema.TopShape,
        config_schema.HttpShape,
        config_schema.WebShape,
        config_schema.ChannelShape,
        config_schema.ZoteroShape,
        config_schema.WatchlistShape,
        config_schema.NotifyShape,
        config_schema.PersonShape,
        config_schema.SourceShape,
    )
    return sorted({key for shape in shapes for key in shape.__struct_fields__})


def documented(key: str, where: str) -> bool:
    """`key` written as a key: `key = ...` in an example, a `[key]` table, or `key` in
    the prose."""
    k = re.escape(key)
    return bool(re.search(rf"(^|[\s#\[{{(]){k} =|`{k}`|^\[\[?{k}[\].]", where, re.M))


def test_the_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for page in DOCS.glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"README.md does not link {page.name}"


@pytest.mark.parametrize("command", commands())
def test_every_command_is_documented(command):
    assert f"paperwatch {command}" in text("operations.md"), command


@pytest.mark.parametrize("key", config_keys())
def test_every_config_key_is_documented(key):
    assert documented(key, text()), f"{key}: in config.toml's schema, not in docs/"


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_every_source_kind_and_its_keys_are_documented(kind):
    sources = text("sources.md")
    assert f'type = "{kind}"' in sources, kind
    for key in kinds()[kind].keys:
        assert documented(key.name, sources), f'{kind}: key "{key.name}" not in docs/sources.md'


@pytest.mark.parametrize("scheme", sorted(OUTPUTS.all()))
def test_every_output_scheme_is_documented(scheme):
    assert f"{scheme}://" in text("outputs.md"), scheme


def test_the_docs_link_only_to_what_exists():
    for page in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: {target}"

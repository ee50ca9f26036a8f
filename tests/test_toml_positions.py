"""Where a TOML path is written: checked against tomllib on generated files, written in
the ways people write them (quoted keys, indentation, comments, arrays over several
lines, multi-line strings holding what looks like headers and keys)."""

from __future__ import annotations

import json
import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.config.positions import parse_path, position_of, positions, show_path
from tests.conftest import examples

NAMES = st.sampled_from(["name", "notify", "every", "a-b", "x_1", "with space", "dotted.key"])
TRICKY = st.sampled_from(
    ["plain", "[not] a header", "# no comment", 'say "hi"', "k = v", "a]b[c", "tab\there", ""]
)


def _key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else json.dumps(name)


@st.composite
def values(draw: st.DrawFn) -> tuple[object, str]:
    """A value and how it is written; some over several lines."""
    kind = draw(st.sampled_from(["int", "str", "literal", "list", "multiline", "long_list"]))
    if kind == "int":
        n = draw(st.integers(-5, 500))
        return n, str(n)
    text = draw(TRICKY)
    if kind == "str":
        return text, json.dumps(text)
    if kind == "literal" and "'" not in text and "\t" not in text:
        return text, f"'{text}'"
    if kind == "multiline":
        body = draw(st.lists(TRICKY.filter(lambda t: '"' not in t and "\t" not in t), max_size=3))
        return "\n".join(body), '"""\n' + "\n".join(body) + '"""'
    items = draw(st.lists(TRICKY, max_size=4))
    if kind == "long_list":  # items alone on a line, some in an array of their own
        nested = draw(st.booleans())
        shown = [f"[ {json.dumps(i)} ]" if nested else json.dumps(i) for i in items]
        inner = "".join(f"\n  {item},  # {item}" for item in shown)
        return items, f"[{inner}\n]"
    return items, "[" + ", ".join(json.dumps(i) for i in items) + "]"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[tuple[tuple[str | int, ...], str]]]:
    """A TOML file and, for each key it sets, its path and the key as written."""
    lines: list[str] = []
    keys: list[tuple[tuple[str | int, ...], str]] = []
    arrays: dict[str, int] = {}

    def table_body(at: tuple[str | int, ...]) -> None:
        for name in draw(st.lists(NAMES, unique=True, max_size=4)):
            _, written = draw(values())
            indent = draw(st.sampled_from(["", "  ", "\t"]))
            eq = draw(st.sampled_from(["=", " = ", "  =\t"]))
            comment = draw(st.sampled_from(["", "  # note", " #[x]"]))
            written_key = _key(name)
            lines.append(f"{indent}{written_key}{eq}{written}{comment}")
            keys.append(((*at, name), written_key))

    table_body(())
    for _ in range(draw(st.integers(0, 4))):
        table = draw(st.sampled_from(["watchlists", "sources", "http", "web"]))
        if table in ("watchlists", "sources"):
            arrays[table] = arrays.get(table, -1) + 1
            lines.append(f"[[{table}]]")
            table_body((table, arrays[table]))
        elif table not in arrays:
            arrays[table] = 0
            lines.append(f"[ {table} ]  # a table")
            table_body((table,))
    return "\n".join(lines) + "\n", keys


@settings(max_examples=examples(150), deadline=None)
@given(documents())
def test_every_key_is_found_where_it_is_written(document):
    text, keys = document
    parsed = tomllib.loads(text)  # the generator writes valid TOML
    found = positions(text)
    lines = text.splitlines()
    for loc, written_key in keys:
        value = parsed
        for step in loc:
            value = value[step]  # the path is real
        at = found[loc]
        assert lines[at.line - 1] == at.text
        assert at.text[at.key_column - 1 :].startswith(written_key), (loc, at)
        assert at.text[: at.column - 1].rstrip().endswith("=")
    assert set(found) >= {loc for loc, _ in keys}


def test_a_missing_key_is_placed_at_its_table():
    text = '[channels]\nc = "console://"\n\n[[watchlists]]\nname = "a"\n\n[[watchlists]]\n'
    text += 'name = "b"\n'
    at = position_of(text, ("watchlists", 1, "notify"))
    assert (at.line, at.column) == (7, 1)
    assert position_of(text, ("nowhere",)) is None


def test_paths_are_read_and_shown_alike():
    for path in ("watchlists[1].notify[0]", "http.timeout", "state_dir", "sources[12]"):
        assert show_path(parse_path(path)) == path

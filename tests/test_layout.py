"""The seams hold: SQL lives only in the store's repositories; kinds stay in their modules;
no module of the daemon imports, however indirectly, one that imports it."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import cache

from tests.conftest import ROOT

DAEMON = ROOT / "daemon"
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TABLE|INDEX)|DROP\s+TABLE|PRAGMA\s+\w+|BEGIN\b|COMMIT\b|ROLLBACK\b)",
)  # SQL here is written in upper case; prose ("commit") is not


def modules(outside: str) -> list:
    return [p for p in DAEMON.rglob("*.py") if outside not in p.relative_to(DAEMON).parts]


def test_no_sql_outside_the_store():
    offenders = {
        str(p.relative_to(ROOT)): m.group(0)
        for p in modules("store")
        if (m := SQL.search(p.read_text()))
    }
    assert offenders == {}


def test_the_pattern_finds_sql():
    assert SQL.search((DAEMON / "store" / "deliveries.py").read_text())
    assert SQL.search("cur.execute('SELECT id FROM papers')")


def test_no_module_but_its_own_names_a_source_kind():
    kinds = [
        p.stem for p in (DAEMON / "sources").glob("*.py") if p.stem not in ("__init__", "contract")
    ]
    branch = re.compile(r"\b(source|src|s)\.type\s*(==|!=|in\b)")
    for path in modules("sources"):
        text = path.read_text()
        assert not branch.search(text), f"{path.relative_to(ROOT)} branches on a source kind"
        for kind in kinds:
            imported = re.search(
                rf"sources\.{kind}\b|from daemon\.sources import .*\b{kind}\b", text
            )
            assert not imported, f"{path.relative_to(ROOT)} imports kind {kind!r}"


def test_the_parser_names_no_format():
    """Formats are discovered and chosen by their sniffs, most specific first: no if-chain
    on format names in daemon/parse/__init__.py, and no other module imports a format's
    module but through the registry (a source reading its own format aside)."""
    text = (DAEMON / "parse" / "__init__.py").read_text()
    formats = [p.stem for p in (DAEMON / "parse").glob("*.py")]
    formats = [f for f in formats if f not in ("__init__", "formats", "days")]
    assert formats and not [f for f in formats if f in text]
    for path in modules("parse"):
        for name in formats:
            imported = re.search(
                rf"^\s*(from|import) daemon\.parse\.{name}\b", path.read_text(), re.M
            )
            own = path.relative_to(DAEMON).parts == ("sources", "arxiv.py") and name == "arxiv_xml"
            assert own or not imported, f"{path.relative_to(ROOT)} imports format {name}"


@cache
def _code_words(path) -> str:
    """A module's names and its strings that are not docstrings: what its code says,
    without its comments and prose."""
    source = path.read_text()
    docstrings = {
        (node.body[0].value.lineno, node.body[0].value.col_offset)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    words = [
        t.string
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type == tokenize.NAME or (t.type == tokenize.STRING and t.start not in docstrings)
    ]
    return " ".join(words)


def test_biorxiv_and_the_bibtex_output_are_named_only_by_their_own_modules():
    """Issue 24: adding a source kind, its format and an output touched only their own
    modules (the library reader's BibTeX input, an issue-23 feature, is another thing)."""
    own = {
        re.compile(r"(?i)\b(bio|med)rxiv\b"): {"sources/biorxiv.py", "parse/biorxiv_json.py"},
        re.compile(r"bibtex://|[\"']bibtex[\"']"): {"delivery/outputs/bibtex.py"},
    }
    for pattern, modules_of_it in own.items():
        naming = {
            str(p.relative_to(DAEMON))
            for p in DAEMON.rglob("*.py")
            if pattern.search(_code_words(p))
        }
        assert naming == modules_of_it, pattern.pattern


def test_no_module_imports_an_output_kind():
    """Output kinds are found by their URL's scheme: none is imported by name."""
    kinds = [p.stem for p in (DAEMON / "delivery" / "outputs").glob("*.py")]
    kinds = [k for k in kinds if k not in ("__init__", "contract")]
    assert "bibtex" in kinds
    for path in modules("outputs"):
        for name in kinds:
            imported = re.search(
                rf"^\s*(from|import) daemon\.delivery\.outputs\.{name}\b", path.read_text(), re.M
            )
            assert not imported, f"{path.relative_to(ROOT)} imports output {name}"


@cache
def _import_graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(targets) for name, targets in _read_import_graph().items()}


def import_graph() -> dict[str, set[str]]:
    """The daemon's import graph (parsed once per run; each caller gets its own copy)."""
    return {name: set(targets) for name, targets in _import_graph().items()}


def _read_import_graph() -> dict[str, set[str]]:
    """Each module of the daemon and the daemon's modules it imports: anywhere in it (in
    a function, under TYPE_CHECKING). The kind registry imports every kind module: it
    discovers them."""
    names = {}
    for path in DAEMON.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:  # a submodule, or a name of the module
                    sub = f"{node.module}.{alias.name}"
                    target = sub if sub in names else node.module
                    graph[name] |= {target} & names.keys()
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names} & names.keys()
    for registry in ("daemon.sources", "daemon.parse", "daemon.delivery.outputs"):  # discovered
        graph[registry] |= {n for n in names if n.startswith(registry + ".")}
    return graph


def a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph (as a path back to its start), or []."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str]:
        if name in path:
            return path[path.index(name) :] + [name]
        if name in done:
            return []
        for target in sorted(graph.get(name, ())):
            if target != name and (found := visit(target, [*path, name])):
                return found
        done.add(name)
        return []

    for name in sorted(graph):
        if found := visit(name, []):
            return found
    return []


def test_no_import_cycles_in_the_daemon():
    cycle = a_cycle(import_graph())
    assert cycle == [], " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles_and_the_graph_has_the_registry_edges():
    assert a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b"}, "b": set(), "c": {"b"}}) == []
    graph = import_graph()
    assert {"daemon.sources.arxiv", "daemon.sources.contract"} <= graph["daemon.sources"]
    assert {"daemon.parse.hf_json", "daemon.parse.formats"} <= graph["daemon.parse"]
    assert "daemon.store" in graph["daemon.ingest.document"]  # a plain import
    assert "daemon.matching.watching" in graph["daemon.delivery.matches"]  # under TYPE_CHECKING


def libraries_imported(path) -> set[str]:
    """The top-level names of what a module imports from outside the daemon."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
    return found - {"daemon"}


def reached(graph: dict[str, set[str]], start: str) -> set[str]:
    """The daemon's modules `start` imports, however indirectly (itself included)."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += graph.get(name, ())
    return seen


BUILT_NOT_CONFIGURED = {"apprise", "httpx", "sqlite_utils", "sqlite3"}


def test_the_configuration_is_plain_data():
    """Issue 33, item 1: loading config.toml builds nothing: no module it imports, however
    indirectly, imports the notification library, the HTTP client or the store (the
    runtime builds those from the settings)."""
    graph = import_graph()
    for name in sorted(reached(graph, "daemon.config")):
        assert name != "daemon.store" and not name.startswith("daemon.store."), name
        path = DAEMON.parent / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = DAEMON.parent / name.replace(".", "/") / "__init__.py"
        used = libraries_imported(path) & BUILT_NOT_CONFIGURED
        assert not used, f"daemon.config reaches {name}, which imports {', '.join(sorted(used))}"


def test_the_plain_data_check_sees_what_the_runtime_builds():
    graph = import_graph()
    assert "daemon.delivery.channels" in reached(graph, "daemon.runtime")
    # apprise is imported in a function: the check reads the whole module
    assert "apprise" in libraries_imported(DAEMON / "delivery" / "channels.py")
    assert "httpx" in libraries_imported(DAEMON / "net" / "http.py")


# The flow, lowest first: a module may import its own package's modules and those of the
# packages before it, never one after (the top-level modules are the entry points and
# the app layer, in the order they call each other).
LAYERS = (
    "daemon",  # __init__: the version alone
    "core",  # errors, clock, backoff, log, models, registry, secrets, memory, systemd
    "language",  # words, the query language, names, LaTeX
    "config",  # config.toml as plain settings
    "store",  # the only SQL
    "net",  # HTTP
    "parse",  # documents into papers
    "ingest",  # a document stored, identity
    "sources",  # where documents come from
    "matching",  # which papers a watchlist wants
    "delivery",  # matches into deliveries, sent through channels and outputs
    "similar",  # "more like these"
    "runtime",
    "poller",
    "app",
    "status",
    "web",
    "service",
    "cli",
    "__main__",
)
TOP_LEVEL_FILES = 8


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def back_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a layer to a later one."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    return sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        for b in targets
        if rank[layer_of(b)] > rank[layer_of(a)]
    )


def test_the_packages_follow_the_flow():
    """Issue 33, item 3: the folders are the flow's stages, each importing only the stages
    before it; every module sits in a known layer; the top level holds only the entry
    points and the app layer."""
    graph = import_graph()
    unknown = {layer_of(m) for m in graph} - set(LAYERS)
    assert not unknown, f"modules outside every layer: {sorted(unknown)}"
    assert back_arrows(graph) == []
    top = sorted(p.name for p in DAEMON.glob("*.py"))
    assert len(top) <= TOP_LEVEL_FILES, top
    packages = {p.parent.name for p in DAEMON.glob("*/__init__.py")}
    assert packages == {layer for layer in LAYERS if (DAEMON / layer).is_dir()}


def test_a_back_arrow_is_found():
    graph = {"daemon.core.log": {"daemon.store.rows"}, "daemon.store.rows": {"daemon.core.log"}}
    assert back_arrows(graph) == ["daemon.core.log -> daemon.store.rows"]


def test_the_unit_raises_the_descriptor_limit_above_what_the_web_server_may_hold():
    """Idle web connections once exhausted the default 1,024 descriptors, and the inbox
    and deliveries failed with EMFILE: the unit raises the limit well above the web
    server's connection cap."""
    import configparser

    from daemon.web.http_server import MAX_CONNECTIONS

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "systemd" / "paperwatch.service")
    assert int(unit["Service"]["LimitNOFILE"]) >= 8 * MAX_CONNECTIONS


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level names of the modules outside the standard library and `daemon` each
    module under daemon/ imports (at its top or in a function), by module path."""
    import sys

    found: dict[str, set[str]] = {}
    for path in (ROOT / "daemon").rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        ours = ("daemon", "__future__")
        found[str(path.relative_to(ROOT))] = {
            n for n in names if n not in sys.stdlib_module_names and n not in ours
        }
    return found


def test_every_library_the_daemon_imports_is_declared():
    """Issue 33, item 6: a module imported but not declared works only while another
    dependency happens to bring it (numpy came with lemminflect). Those of the similar
    watchlists may be the `similar` extra's; every other module's are core dependencies."""
    import importlib.metadata
    import tomllib

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    def names(requirements: list[str]) -> set[str]:
        return {normal(re.split(r"[<>=!~\[; ]", r)[0]) for r in requirements}

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = names(project["dependencies"])
    similar = core | names(project["optional-dependencies"]["similar"])
    providers = importlib.metadata.packages_distributions()
    undeclared = []
    for module, imported in sorted(_third_party_imports().items()):
        allowed = similar if module.startswith("daemon/similar/") else core
        for name in sorted(imported):
            dists = {normal(d) for d in providers.get(name, [name])}
            if not dists & allowed:
                undeclared.append(f"{module}: {name} ({', '.join(sorted(dists))})")
    assert undeclared == []

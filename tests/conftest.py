"""Shared test helpers: fixture paths, a config in a temp dir, the CLI run in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"
TEXT = FIXTURES / "text"
HF = FIXTURES / "hf"
ARXIV = FIXTURES / "arxiv"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('state_dir = "state"\n')
    return path


@pytest.fixture
def cli(config_file: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["--config", str(config_file), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long kill -9 rounds first, one at the head of each xdist worker's half
    (`--dist worksteal` splits the list in two), so the short tests fill in around them."""
    slow = [i for i in items if "kill_9" in i.name]
    if len(slow) != 2:
        return
    rest = [i for i in items if i not in slow]
    half = len(items) // 2
    items[:] = [slow[0], *rest[: half - 1], slow[1], *rest[half - 1 :]]

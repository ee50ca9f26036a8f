"""The daemon's memory hygiene on glibc: two malloc arenas at most (a threaded daemon's RSS
otherwise creeps up with one arena per thread), freed memory given back."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_glibc_takes_the_arena_cap_and_the_trim():
    code = (
        "from daemon.core import memory\n"
        "assert memory.few_arenas() is True, 'mallopt refused M_ARENA_MAX'\n"
        "memory.release()\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "ok", done.stderr

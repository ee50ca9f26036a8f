"""The daemon's memory hygiene on glibc: two malloc arenas at most (a threaded daemon's RSS
otherwise creeps up with one arena per thread), freed memory given back; and numpy's
BLAS on one thread (daemon/__init__.py), unless the environment says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_glibc_takes_the_arena_cap_and_the_trim():
    code = (
        "from daemon.core import memory\n"
        "assert memory.few_arenas() is True, 'mallopt refused M_ARENA_MAX'\n"
        "memory.release()\n"
        "import numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "print([p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30, env=env
    )
    assert done.stdout.strip() == "[1]", done.stderr

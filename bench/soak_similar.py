"""Soak with similar-watchlists (issue 31): the daemon's RSS at rest without and with
"more like these" watchlists, and over time while papers keep arriving.

A store of 2,000 real corpus papers and the cs.CL feed the examples come from; three
similar-watchlists seeded by ids. The daemon is started without them (RSS at rest), then
with them (RSS at rest once trained), then a file of 20 new papers is dropped every 20 s
for PAPERWATCH_SOAK_MINUTES minutes (default 10; the issue's soak is 30), the RSS
sampled each minute. Targets: <= 80 MB at rest without, <= 150 MB with, no growth.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT / "tests" / "fixtures" / "arxiv" / "rss_cs.CL_2026-08-20.xml"
SAMPLE = ROOT / "tests" / "fixtures" / "corpus" / "arxiv_cs_5k.jsonl.gz"
EXAMPLES = ["2608.18082", "2608.18115", "2608.18816", "2608.19075", "2607.10476"]
STORED, EVERY, PER_FILE = 2_000, 20.0, 20


def _papers() -> list[dict[str, object]]:
    with gzip.open(SAMPLE, "rt") as f:
        return [json.loads(line) for line in f]


def _hf(papers: list[dict[str, object]]) -> bytes:
    return json.dumps(
        [{"paper": {"id": p["id"], "title": p["title"], "summary": p["abstract"]}} for p in papers]
    ).encode()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _config(folder: Path, similar: int) -> Path:
    watch = "".join(
        f'[[watchlists]]\nname = "more{i}"\nsimilar_to = {json.dumps(EXAMPLES[i:] + EXAMPLES[:i])}'
        '\nnotify = ["c"]\n'
        for i in range(similar)
    )
    config = folder / "config.toml"
    config.write_text(
        'state_dir = "state"\n[web]\nlisten = ""\n[channels]\nc = "console://"\n'
        '[[sources]]\nname = "inbox"\ntype = "folder"\n'
        '[[watchlists]]\nname = "kw"\nkeywords = ["tensor"]\nnotify = ["c"]\n' + watch
    )
    return config


class Running:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daemon", "--config", str(config), "run"],
                cwd=ROOT,
                stdout=out,
                stderr=out,
            )

    def wait_log(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and text not in self.log.read_text():
            time.sleep(0.5)

    def rss(self) -> float:
        return _rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def main() -> None:
    minutes = float(os.environ.get("PAPERWATCH_SOAK_MINUTES", "10"))
    papers = _papers()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "stored.json").write_bytes(_hf(papers[:STORED]))
        subprocess.run(
            [sys.executable, "-m", "daemon", "--config", str(_config(folder, 0)), "ingest"]
            + ["--no-notify", str(folder / "stored.json"), str(FEED)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        log = folder / "log"
        plain = Running(_config(folder, 0), log)
        plain.wait_log("search_indexed")
        time.sleep(20)
        without = plain.rss()
        plain.stop()
        log.write_text("")
        daemon = Running(_config(folder, 3), log)
        samples: list[float] = []
        try:
            daemon.wait_log("similar_trained", timeout=300)
            time.sleep(20)
            rest = daemon.rss()
            inbox = folder / "state" / "inbox"
            start, next_paper, dropped = time.monotonic(), STORED, 0
            while time.monotonic() - start < minutes * 60:
                batch = papers[next_paper : next_paper + PER_FILE]
                next_paper = next_paper + PER_FILE
                if next_paper >= len(papers):
                    next_paper = STORED
                part = inbox / f"soak{dropped}.json.part"
                part.write_bytes(_hf(batch))
                part.rename(inbox / f"soak{dropped}.json")
                dropped += 1
                time.sleep(EVERY)
                if dropped % int(60 / EVERY) == 0:
                    samples.append(daemon.rss())
        finally:
            daemon.stop()
        trained = log.read_text().count("similar_trained ")
    first, last = samples[0], samples[-1]
    print(
        f"soak with similar-watchlists ({STORED} papers stored, 3 watchlists, {PER_FILE} papers "
        f"every {EVERY:.0f} s for {minutes:g} min, {trained} trainings): daemon RSS at rest "
        f"{without:.0f} MB without them (target <= 80 MB), {rest:.0f} MB with them (target "
        f"<= 150 MB); over time {first:.0f} MB after a minute, {last:.0f} MB at the end, max "
        f"{max(samples):.0f} MB: {last - first:+.0f} MB (target: flat)"
    )
    print("  RSS each minute: " + " ".join(f"{s:.0f}" for s in samples))


if __name__ == "__main__":
    main()

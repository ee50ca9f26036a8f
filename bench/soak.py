"""Soak (issue 21): a real daemon under hostile load, bounded to about a minute.

Beside the daemon's inbox receiving files: 1,000 idle connections to its web server,
200 concurrent requests (page, search, feed, API), and a source whose server trickles a
byte every half second. Prints the drop -> alert latency of each file, the daemon's RSS
before and after, and every error (targets: alerts < 1 s, 0 errors, RSS after <= 150 MB).
"""

from __future__ import annotations

import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.receivers import free_port  # noqa: E402

FILES = 10
IDLE = 1000
REQUESTS = 200


class Receiver:
    """The alerts' json:// webhook: when each paper's alert arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for word in body["message"].split():
                    if word.startswith("Soakpaper"):
                        owner.arrived.setdefault(word.strip(".,:*"), time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class SlowLoris:
    """A source's server that answers a byte every half second, forever."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    @staticmethod
    def _trickle(conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n" + b"x" * 999999:
                time.sleep(0.5)
                conn.sendall(bytes([byte]))
        except OSError:
            conn.close()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _paper(i: int) -> bytes:
    title = f"Soakpaper{i} tensor networks under load"
    entry = {"paper": {"id": f"2611.{90000 + i}", "title": title, "summary": f"Tensor {i}."}}
    return json.dumps([entry]).encode()


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    receiver, loris = Receiver(), SlowLoris()
    web = free_port()
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'state_dir = "state"\n[web]\nlisten = "127.0.0.1:{web}"\n'
            f'[http]\ntimeout = "5s"\nmin_interval = "0s"\nretries = 0\n'
            f'[channels]\nhook = "json://127.0.0.1:{receiver.port}/"\n'
            '[[sources]]\nname = "inbox"\ntype = "folder"\n'
            f'[[sources]]\nname = "loris"\ntype = "url"\nurl = "http://127.0.0.1:{loris.port}/"\n'
            'every = "10s"\n'
            '[[watchlists]]\nname = "t"\nkeywords = ["tensor"]\nnotify = ["hook"]\n'
        )
        dump = sorted((ROOT / "tests" / "fixtures" / "text").glob("*.txt")) or sorted(
            (ROOT.parent / "shared" / "fixtures" / "text").glob("*.txt")
        )
        inbox = Path(tmp) / "state" / "inbox"
        log = open(Path(tmp) / "log", "wb")  # noqa: SIM115 - the daemon writes it until the end
        daemon = subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            cwd=ROOT,
            stderr=log,
            stdout=log,
        )
        try:
            base = f"http://127.0.0.1:{web}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}/api/status", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            time.sleep(2)
            rest = _rss_mb(daemon.pid)  # idle, a watchlist compiled, nothing stored yet
            for path in dump[:2]:  # some stored papers for the searches to read
                (inbox / path.name).write_bytes(path.read_bytes())
            time.sleep(2)
            before = _rss_mb(daemon.pid)
            idle = []
            for _ in range(IDLE):
                try:
                    idle.append(socket.create_connection(("127.0.0.1", web), timeout=2))
                except OSError as exc:
                    errors.append(f"idle connect: {exc}")
                    break
            paths = [
                "/",
                "/papers?q=tensor",
                "/api/papers?q=%22neural+network%22",
                "/feeds/all.atom",
            ]
            paths += ["/api/status", "/api/matches"]

            def request(i: int) -> None:
                try:
                    got = httpx.get(base + paths[i % len(paths)], timeout=30)
                    if got.status_code != 200:
                        errors.append(f"{paths[i % len(paths)]}: HTTP {got.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{paths[i % len(paths)]}: {type(exc).__name__}: {exc}")

            dropped: dict[str, float] = {}

            def drop_files() -> None:
                for i in range(FILES):
                    (inbox / f"s{i}.json.part").write_bytes(_paper(i))
                    dropped[f"Soakpaper{i}"] = time.monotonic()
                    (inbox / f"s{i}.json.part").rename(inbox / f"s{i}.json")
                    time.sleep(1.0)

            dropper = threading.Thread(target=drop_files)
            t0 = time.monotonic()
            dropper.start()
            with ThreadPoolExecutor(REQUESTS) as pool:
                list(pool.map(request, range(REQUESTS)))
            served = time.monotonic() - t0
            dropper.join()
            time.sleep(3)
            for s in idle:
                s.close()
            time.sleep(2)
            after = _rss_mb(daemon.pid)
            latency = [receiver.arrived[k] - t for k, t in dropped.items() if k in receiver.arrived]
            missing = [k for k in dropped if k not in receiver.arrived]
            if missing:
                errors.append(f"no alert for {missing}")
        finally:
            daemon.terminate()
            daemon.wait(15)
            log.close()
        print(
            f"soak: {IDLE} idle connections, {REQUESTS} concurrent requests in {served:.1f} s, "
            f"a slow-loris source, {FILES} files dropped: drop->alert median "
            f"{statistics.median(latency) if latency else float('nan'):.2f} s, max "
            f"{max(latency) if latency else float('nan'):.2f} s (target < 1 s); daemon RSS "
            f"{rest:.0f} MB at rest (target <= 80 MB), {before:.0f} MB with papers stored, "
            f"{after:.0f} MB after the load (target <= 150 MB); "
            f"{len(errors)} errors (target 0){': ' + '; '.join(errors[:5]) if errors else ''}"
        )


if __name__ == "__main__":
    main()

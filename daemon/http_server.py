"""A standard-library HTTP server with explicit limits, for the local web interface.

`ThreadingHTTPServer` gives every connection a thread for as long as the client keeps it
open: a thousand idle connections are a thousand threads and file descriptors, and the
inbox and deliveries then fail to open files. Here:

- an idle connection costs one file descriptor in a selector, no thread: a connection
  goes to the worker pool only once it has bytes to read;
- at most `workers` requests are handled at once (2: pages and searches are CPU work
  that shares the interpreter with the inbox; more would slow alerts, not serve faster);
- at most `max_connections` are open: when full, a new connection closes the one that
  has waited longest without sending anything (so idle connections never lock real
  requests out), or is closed itself if every open one is being served; the listen
  backlog is 128;
- a connection gets `deadline` seconds from its hand-off to be read and answered (its
  socket is shut down then, however slowly the client trickles its request); one request
  per connection (`Connection: close`).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from daemon.log import event

WORKERS = 2
MAX_CONNECTIONS = 256
DEADLINE = 10.0  # seconds to read a request and send its answer
IDLE = 30.0  # seconds a connection may stay open without sending anything


class BoundedHTTPServer(HTTPServer):
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        workers: int = WORKERS,
        max_connections: int = MAX_CONNECTIONS,
        deadline: float = DEADLINE,
        idle: float = IDLE,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="web")
        self.max_connections, self.deadline, self.idle = max_connections, deadline, idle
        self.open = 0  # connections accepted and not yet closed
        self.lock = threading.Lock()
        self.waiting = selectors.DefaultSelector()  # idle connections: no thread of theirs
        self.stopped = threading.Event()

    def serve(self) -> None:
        """Accept, wait for each connection's first bytes, hand it to a worker."""
        self.socket.setblocking(False)
        self.waiting.register(self.socket, selectors.EVENT_READ, None)
        while not self.stopped.is_set():
            for key, _ in self.waiting.select(timeout=0.2):
                if key.data is None:
                    self._accept()
                else:
                    self.waiting.unregister(key.fileobj)
                    conn, address, _since = key.data
                    self.pool.submit(self._work, conn, address)
            self._drop_idle()

    def _accept(self) -> None:
        try:
            conn, address = self.socket.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        with self.lock:
            full = self.open >= self.max_connections
        if full and not self._evict_oldest():
            conn.close()  # every open connection is being served: refused at once
            return
        with self.lock:
            self.open += 1
        conn.setblocking(True)
        self.waiting.register(conn, selectors.EVENT_READ, (conn, address, time.monotonic()))

    def _evict_oldest(self) -> bool:
        """Close the connection that has waited longest without sending a byte."""
        idle = [k for k in self.waiting.get_map().values() if k.data is not None]
        if not idle:
            return False
        oldest = min(idle, key=lambda k: k.data[2])
        self.waiting.unregister(oldest.fileobj)
        self._close(oldest.data[0])
        return True

    def _drop_idle(self) -> None:
        now = time.monotonic()
        for key in list(self.waiting.get_map().values()):
            if key.data is not None and now - key.data[2] > self.idle:
                self.waiting.unregister(key.fileobj)
                self._close(key.data[0])

    def _work(self, conn: socket.socket, address: Any) -> None:
        timer = threading.Timer(self.deadline, _cut, (conn,))
        timer.daemon = True
        timer.start()
        try:
            conn.settimeout(self.deadline)
            self.finish_request(conn, address)
        except OSError:
            pass  # a client gone, a socket cut at its deadline: nobody to answer
        except Exception as exc:  # the handler answers its own errors; this is a bug
            event("web_error", logging.ERROR, error=repr(exc))
        finally:
            timer.cancel()
            self._close(conn)

    def _close(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        conn.close()
        with self.lock:
            self.open -= 1

    def stop(self) -> None:
        self.stopped.set()

    def server_close(self) -> None:
        self.stopped.set()
        for key in list(self.waiting.get_map().values()):
            if key.data is not None:
                self._close(key.data[0])
        self.waiting.close()
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _cut(conn: socket.socket) -> None:
    """The deadline: end any read or write on the connection."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)

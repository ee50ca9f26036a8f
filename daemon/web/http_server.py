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
- a request's head (and a small body) is read here, without a thread, and must arrive
  within `head_deadline` seconds of its first byte: a client that trickles its request a
  byte at a time holds no worker, so slow clients cannot starve the others; a
  connection goes to the pool only with its request complete;
- a worker gets `deadline` seconds to answer (its socket is shut down then); one request
  per connection (`Connection: close`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from daemon.core.log import event

WORKERS = 2
MAX_CONNECTIONS = 256
DEADLINE = 10.0  # seconds to answer a request, once read
HEAD_DEADLINE = 2.0  # seconds from a request's first byte to its end (head and body)
IDLE = 30.0  # seconds a connection may stay open without sending anything
MAX_READ_AHEAD = 1 << 20  # bytes of a request read before a worker takes it
_WAKE = object()  # the selector's key data of the socket `stop` writes to


@dataclass
class Waiting:
    """A connection in the selector: when it came, and what it has sent so far."""

    conn: socket.socket
    address: Any
    since: float
    first_byte: float | None = None
    got: bytearray = field(default_factory=bytearray)

    def complete(self) -> bool:
        """Its head has ended and the body it announces has come (or is too large to
        wait for: the handler answers that)."""
        end = self.got.find(b"\r\n\r\n")
        if end < 0:
            return len(self.got) >= MAX_READ_AHEAD
        length = 0
        for line in bytes(self.got[:end]).split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        return len(self.got) >= min(end + 4 + length, MAX_READ_AHEAD)


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
        head_deadline: float = HEAD_DEADLINE,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="web")
        self.max_connections, self.deadline, self.idle = max_connections, deadline, idle
        self.head_deadline = head_deadline
        self.open = 0  # connections accepted and not yet closed
        self.lock = threading.Lock()
        # connections whose request is not complete yet: no thread of theirs
        self.waiting = selectors.DefaultSelector()
        self.stopped = threading.Event()
        self._wake, self._waker = socket.socketpair()  # `stop` ends the wait at once
        self._wake.setblocking(False)
        super().__init__(address, handler)  # binds: may fail (server_close needs the above)

    def serve(self) -> None:
        """Accept, wait for each connection's first bytes, hand it to a worker."""
        self.socket.setblocking(False)
        self.waiting.register(self.socket, selectors.EVENT_READ, None)
        self.waiting.register(self._wake, selectors.EVENT_READ, _WAKE)
        while not self.stopped.is_set():
            for key, _ in self.waiting.select(timeout=0.2):
                if key.data is _WAKE:
                    with contextlib.suppress(OSError):
                        self._wake.recv(64)
                elif key.data is None:
                    self._accept()
                else:
                    self._read_ahead(key.data)
            self._drop_idle()

    def _read_ahead(self, waiting: Waiting) -> None:
        """What the connection has sent; to a worker once its request is complete."""
        try:
            chunk = waiting.conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client closed it (or it broke) before its request ended
            self.waiting.unregister(waiting.conn)
            self._close(waiting.conn)
            return
        if waiting.first_byte is None:
            waiting.first_byte = time.monotonic()
        waiting.got += chunk
        if waiting.complete():
            self.waiting.unregister(waiting.conn)
            waiting.conn.setblocking(True)
            self.pool.submit(self._work, waiting.conn, waiting.address, bytes(waiting.got))

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
        conn.setblocking(False)
        self.waiting.register(conn, selectors.EVENT_READ, Waiting(conn, address, time.monotonic()))

    def _evict_oldest(self) -> bool:
        """Close the connection that has waited longest without completing a request."""
        waiting = [k.data for k in self.waiting.get_map().values() if isinstance(k.data, Waiting)]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda w: w.since)
        self.waiting.unregister(oldest.conn)
        self._close(oldest.conn)
        return True

    def _drop_idle(self) -> None:
        """Close connections silent for `idle`, or slower than `head_deadline` to send
        their request once begun."""
        now = time.monotonic()
        for key in list(self.waiting.get_map().values()):
            waiting = key.data
            if not isinstance(waiting, Waiting):
                continue  # the listening socket, the wake-up
            if waiting.first_byte is None:
                late = now - waiting.since > self.idle
            else:
                late = now - waiting.first_byte > self.head_deadline
            if late:
                self.waiting.unregister(waiting.conn)
                self._close(waiting.conn)

    def _work(self, conn: socket.socket, address: Any, got: bytes) -> None:
        request = ReadAhead(conn, got)
        timer = threading.Timer(self.deadline, request.cut, (self.deadline,))
        timer.daemon = True
        timer.start()
        try:
            conn.settimeout(self.deadline)
            self.finish_request(request, address)  # type: ignore[arg-type]
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
        with contextlib.suppress(OSError):  # full or closed: the loop is waking anyway
            self._waker.send(b"\0")

    def server_close(self) -> None:
        self.stopped.set()
        for key in list(self.waiting.get_map().values()):
            if isinstance(key.data, Waiting):
                self._close(key.data.conn)
        self.waiting.close()
        self._wake.close()
        self._waker.close()
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


class ReadAhead:
    """A connection whose first bytes were read already: the handler reads them first,
    then the socket; everything else is the socket's. At its deadline (`cut`) a request
    not answered yet gets a 503 saying so (a search of 1,000 results over an index still
    being built was dropped with no answer at all); then its socket is shut down."""

    def __init__(self, conn: socket.socket, got: bytes) -> None:
        self._conn, self._got = conn, got
        self._lock = threading.Lock()
        self._answered = self._over = False

    def sendall(self, data: Any) -> None:
        with self._lock:
            if self._over:
                raise BrokenPipeError("the request's deadline passed")
            self._answered = True
        self._conn.sendall(data)

    def cut(self, deadline: float) -> None:
        with self._lock:
            self._over = True
            if not self._answered:
                body = f"no answer within {deadline:g} s: try again in a moment\n".encode()
                head = (
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                    f"charset=utf-8\r\nRetry-After: 10\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n"
                )
                with contextlib.suppress(OSError):
                    self._conn.settimeout(1.0)
                    self._conn.sendall(head.encode() + body)
        _cut(self._conn)

    def makefile(self, mode: str = "r", buffering: int = -1) -> Any:
        if "r" not in mode:
            return self._conn.makefile(mode, buffering)  # type: ignore[call-overload]
        return io.BufferedReader(_Prefixed(self._conn, self._got))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _Prefixed(io.RawIOBase):
    def __init__(self, conn: socket.socket, got: bytes) -> None:
        self._conn, self._got = conn, memoryview(got)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._got:
            n = min(len(buffer), len(self._got))
            buffer[:n] = self._got[:n]
            self._got = self._got[n:]
            return n
        return self._conn.recv_into(buffer)


def _cut(conn: socket.socket) -> None:
    """The deadline: end any read or write on the connection."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)

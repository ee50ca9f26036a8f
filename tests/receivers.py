"""Real local peers for delivery tests: an SMTP server (aiosmtpd) and a webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class QuietServer(ThreadingHTTPServer):
    """A test server that says nothing when its client hangs up first (the daemon gives
    up on a hung receiver by design): the standard library would print the traceback to
    stderr, into the output of whatever test captures it in the same process."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SMTPServer:
    """aiosmtpd on 127.0.0.1 accepting any login (AUTH without TLS, as a test relay)."""

    def __init__(self, port: int | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.connections: list[int] = []  # per message: which connection brought it
        self.port = port or free_port()
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self.authenticate,
            auth_require_tls=False,
        )

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(msg)
        self.connections.append(id(session))
        return "250 OK"

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class Webhook:
    """A json:// receiver on 127.0.0.1; `status` is what it answers (500 to fail)."""

    def __init__(self, port: int | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # of each request answered 200
        self.paths: list[str] = []  # of each request answered 200
        self.reply = b""  # the body of a 200 answer
        self.fail_from: int | None = None  # answer 500 from this request on (1: the first)
        self.requests = 0
        self.status = 200
        self.hang = 0.0  # seconds to stall before reading a request (which is then dropped)
        self.trickle = 0.0  # seconds between the bytes of an answer (a slow peer)
        self.gate: threading.Event | None = None  # set: answers wait for it (bodies kept)
        self.port = port or free_port()
        self.server: QuietServer | None = None

    @property
    def url(self) -> str:
        """The apprise URL that posts here."""
        return f"json://127.0.0.1:{self.port}/"

    def channel(self, name: str) -> str:
        """A `[channels]` line of config.toml naming this receiver."""
        return f'{name} = "{self.url}"\n'

    def start(self) -> Webhook:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                if owner.hang:
                    time.sleep(owner.hang)
                    self.close_connection = True
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.requests += 1
                failing = owner.fail_from is not None and owner.requests >= owner.fail_from
                status = 500 if failing else owner.status
                if status == 200:
                    owner.bodies.append(json.loads(body))
                    owner.headers.append(dict(self.headers))
                    owner.paths.append(self.path)
                if owner.gate is not None:
                    owner.gate.wait(30)
                if owner.trickle:
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                        time.sleep(owner.trickle)
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    return
                self.send_response(status)
                reply = owner.reply if status == 200 else b""
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", self.port), Handler)
        # a stop takes effect within 0.05 s (the default, 0.5 s, was each test's teardown)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

"""The tests' one HTTP client for the local servers they start: made once per worker,
so a request costs no TLS context of its own (httpx.get makes a client, and with it one,
each time: 25 ms of CPU); no connection is kept, each server a test starts being gone
after it."""

from __future__ import annotations

import httpx

from daemon.net.http import tls

HTTP = httpx.Client(verify=tls(), limits=httpx.Limits(max_keepalive_connections=0))

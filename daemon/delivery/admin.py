"""The admin channel: told at once (not through the outbox) when a source keeps failing
or a watcher is down, and when it recovers."""

from __future__ import annotations

import logging

from daemon.core.log import event
from daemon.delivery.outbox import Sending
from daemon.delivery.render import Message


def admin_message(runtime: Sending, title: str, body: str) -> bool:
    """Send straight to admin_channel (not the outbox); True if it was sent."""
    channel = runtime.channels.get(runtime.config.admin_channel or "")
    if channel is None:
        return False
    error, _ = channel.send(Message.plain(title, body))
    if error:
        event("admin_alert", logging.WARNING, result="failed", error=error)
        return False
    return True

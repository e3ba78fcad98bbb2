"""Client-side helpers for the cam tests: polling, SSE parsing, a WebSocket to /control."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

from websockets.sync.client import ClientConnection, connect


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll (the server runs in another thread) until ``predicate()`` is truthy."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return result


def sse_messages(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Raw SSE messages: ``{"id", "event", "data", "comment"}`` as they come."""
    message: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if message:
                yield message
            message = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(": ")
            message[name] = json.loads(value) if name == "data" else value


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for message in sse_messages(lines):
        if "event" in message:
            yield message["event"], message["data"]


def control_socket(
    url: str, context: ssl.SSLContext, path: str = "/control", **headers: str
) -> ClientConnection:
    ws_url = url.replace("https://", "wss://") + path
    return connect(ws_url, ssl=context, additional_headers=headers, open_timeout=10)

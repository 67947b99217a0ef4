"""Running the app under uvicorn so that slow or hostile clients cannot starve the others.

- Every request's headers must arrive within HEADER_TIMEOUT seconds of the connection opening
  (or of the previous response on a kept-alive connection); idle kept-alive connections close
  after KEEP_ALIVE seconds. uvicorn alone has no header deadline, so connections that never
  finish their headers would hold a slot for ever.
- One client address may hold at most MAX_PER_CLIENT connections: requests on more get a 503
  (JSON, `Retry-After`) and their connection is closed, and they have only OVER_LIMIT_TIMEOUT
  seconds to send their headers. At most MAX_CONNECTIONS connections and requests are served
  at once (more get 503).
- Bound to a loopback address (the default), the server answers only requests whose Host header
  names a loopback host, so a web page cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from typing import ClassVar

import uvicorn
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Most connections (and requests in progress) the server holds at once.
MAX_CONNECTIONS = 64
#: Most connections one client address may hold at once.
MAX_PER_CLIENT = 16
#: Seconds a client has to send a request's headers.
HEADER_TIMEOUT = 10.0
#: Seconds a connection beyond MAX_PER_CLIENT has to send its request's headers.
OVER_LIMIT_TIMEOUT = 1.0
#: Seconds an idle kept-alive connection stays open.
KEEP_ALIVE = 5
#: Host header values accepted when the server listens on a loopback address.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a per-client connection cap."""

    header_timeout: ClassVar[float] = HEADER_TIMEOUT
    max_per_client: ClassVar[int] = MAX_PER_CLIENT
    _open: ClassVar[Counter] = Counter()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else None
        self._deadline: asyncio.TimerHandle | None = None
        self._open[self._address] += 1
        self._over_limit = self._open[self._address] > self.max_per_client
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._open[self._address] -= 1
        if self._open[self._address] <= 0:
            del self._open[self._address]
        self._disarm_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle, app = self.cycle, self.app
        if self._over_limit:
            self.app = _too_many_connections
        try:
            super().handle_events()
        finally:
            self.app = app
        if self.cycle is not cycle:  # a new request's headers are complete
            self._disarm_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._deadline is None:
            self._arm_deadline()  # the next request's headers have the same deadline

    def _arm_deadline(self) -> None:
        timeout = OVER_LIMIT_TIMEOUT if self._over_limit else self.header_timeout
        self._deadline = self.loop.call_later(timeout, self._headers_too_slow)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if (self.cycle is None or self.cycle.response_complete) and not (
            self.transport.is_closing()
        ):
            self.transport.close()


async def _too_many_connections(scope, receive, send) -> None:
    """The answer to a request on a connection beyond MAX_PER_CLIENT (then closed)."""
    body = json.dumps(
        {"detail": "the server is busy: too many connections from your address; retry shortly"}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def guard_hosts(app: ASGIApp, host: str) -> ASGIApp:
    """`app`, answering only loopback Host headers when the server listens on loopback."""
    if not is_loopback(host):
        return app
    return TrustedHostMiddleware(app, allowed_hosts=list(LOCAL_HOSTS))


def server_config(app: ASGIApp, host: str, port: int, **overrides) -> uvicorn.Config:
    """The uvicorn config `posegpt serve` runs with (tests start the same one)."""
    settings = {
        "host": host,
        "port": port,
        "http": GuardedH11Protocol,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE,
        **overrides,
    }
    return uvicorn.Config(guard_hosts(app, host), **settings)

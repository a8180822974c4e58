"""Serving details for uvicorn.

With ``--workers N`` uvicorn hands the listening socket to worker processes, and the
sockets they accept no longer get ``TCP_NODELAY`` from asyncio; every response with a
body then waits ~40 ms for the client's delayed ACK (Nagle's algorithm). This
protocol sets ``TCP_NODELAY`` on each connection, so one and many workers answer
alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HTTP_PROTOCOL", "NoDelayH11Protocol"]

#: The value for ``uvicorn.run(http=...)``.
HTTP_PROTOCOL = "assay.web.serve:NoDelayH11Protocol"


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with Nagle's algorithm off on every connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

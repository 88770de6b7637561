"""uvicorn's HTTP/1.1 protocol (h11) with time limits on a request's headers and on a stalled body.

uvicorn times out idle keep-alive connections (`timeout_keep_alive`) but not a client that connects and never
finishes its request line and headers (slowloris), nor one that stops sending the body it announced: such a
connection (and its handler) would stay for ever, and enough of them exhaust the service's file descriptors.
`HeaderTimeoutH11` closes a connection whose request head is not complete `header_timeout` seconds after the
connection opened or after the first byte of a next request arrived (answering 408 first), and one whose body
receives no byte for `header_timeout` seconds (the handler then sees the client gone). A body that keeps arriving,
however slowly, is never cut (the size caps live in security.Guard).

Exports: HeaderTimeoutH11, protocol_class.
"""
from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                     b"connection: close\r\ncontent-length: 37\r\n\r\nrequest headers not received in time\n")


class HeaderTimeoutH11(H11Protocol):
    """H11Protocol that closes connections whose request head takes longer than `header_timeout` seconds."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:
            if self._header_timer is None:  # the first bytes of a (next) request: its head must follow in time
                self._arm()
        elif self.conn.their_state is h11.SEND_BODY:
            self._arm()  # the body must keep arriving: a byte at least every header_timeout seconds
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE:
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()
        elif self.conn.their_state is h11.SEND_BODY:
            if self.flow.read_paused:  # we stopped reading (the handler is behind), not the client: wait on
                self._arm()
            else:  # a stalled body: the handler gets the client's disconnect
                self.transport.close()


def protocol_class(header_timeout: float) -> type[HeaderTimeoutH11]:
    """HeaderTimeoutH11 with this time limit (uvicorn.run(http=...) takes a class)."""
    return type("HeaderTimeoutH11", (HeaderTimeoutH11,), {"header_timeout": float(header_timeout)})

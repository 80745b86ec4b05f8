"""The web server: waitress, guarded so that idle or slow connections cannot lock the phone out.

Waitress serves each connection from one event loop and holds a thread only while a request
runs, so an idle socket costs a file descriptor, not a thread; what runs out is its connection
limit, and past it waitress stops accepting everyone. Waitress has no timeout before the first
request, so this server adds one and caps connections per client address:
- a connection must deliver a whole first request within FIRST_REQUEST_S, and a kept-alive
  connection is closed after IDLE_S without a byte (waitress's channel_timeout);
- one address holds at most PER_ADDRESS connections (a phone's browser opens about six, plus
  its live streams); the next ones are closed as soon as they are accepted;
- the total limit is CONNECTIONS, with poll() instead of select() (select fails past 1024
  descriptors) and the descriptor limit raised to fit.
A LAN visitor holding idle sockets from one address gets nothing past PER_ADDRESS; from many
addresses, each socket is gone after FIRST_REQUEST_S, and the owner's connection waits in the
kernel's accept queue at most that long.

A client that stops reading (a phone that left the Wi-Fi, a tab in the background, a visitor
with a tiny receive window) must not hold a live stream's thread and slot: waitress's idle
timeout never closes a connection whose request is still running. So:
- a request's unsent output waits in memory up to OUTBUF_HIGH, then its thread waits for the
  client (waitress would spool 16 MiB per connection to deleted temp files); nothing is ever
  spooled to disk (OUTBUF_OVERFLOW is far above what one write can leave waiting);
- a connection whose output has waited STALL_S without the client taking a byte is closed, and
  the kernel aborts one whose data stays unacknowledged (or whose window stays shut) that long
  (TCP_USER_TIMEOUT); the stream's thread then ends at its next write and frees its slot.
"""

from __future__ import annotations

import resource
import socket
import time
from collections import Counter
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

FIRST_REQUEST_S = 5
IDLE_S = 30
CLEANUP_S = 1
PER_ADDRESS = 32
CONNECTIONS = 1000
STALL_S = 5  # a client that takes none of its waiting output for this long is dropped
OUTBUF_HIGH = 256 * 1024  # unsent output of one connection before its request thread waits
OUTBUF_OVERFLOW = 64 << 20  # past this a waitress buffer spools to disk: never reached
SPARE_FDS = 128  # for the history, the camera, the model and logs


class GuardedChannel(HTTPChannel):
    """A connection that counts against its address and remembers whether it has sent a whole
    request yet. Combined with another channel class by `create_server`."""

    def __init__(self, server: GuardedServer, sock, addr, adj, map=None) -> None:
        self.served = False
        self.counted: str | None = None
        self.sent_bytes = 0
        self._sent_seen = 0
        self._waiting_since = time.monotonic()
        super().__init__(server, sock, addr, adj, map)
        self.counted = addr[0] if isinstance(addr, tuple) else str(addr)
        server.per_address[self.counted] += 1

    def send(self, data: bytes, do_close: bool = True) -> int:
        sent = super().send(data, do_close)
        self.sent_bytes += sent or 0
        return sent

    def stalled(self, now: float) -> bool:
        """True when output has waited STALL_S (monotonic now) without a byte being taken.
        Called once a second from the server's loop."""
        if not self.total_outbufs_len or self.sent_bytes != self._sent_seen:
            self._sent_seen, self._waiting_since = self.sent_bytes, now
            return False
        return now - self._waiting_since >= STALL_S

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        if self.requests:
            self.served = True
        return result

    def del_channel(self, map=None) -> None:
        super().del_channel(map)
        if self.counted is not None:
            counts = self.server.per_address
            counts[self.counted] -= 1
            if counts[self.counted] <= 0:
                del counts[self.counted]
            self.counted = None


class GuardedServer(TcpWSGIServer):
    channel_class: type[GuardedChannel] = GuardedChannel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.per_address: Counter[str] = Counter()
        super().__init__(*args, **kwargs)

    def accept(self):
        pair = super().accept()
        if pair is not None:
            conn, addr = pair
            if self.per_address[addr[0]] >= PER_ADDRESS:
                conn.close()
                return None
            if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, STALL_S * 1000)
        return pair

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = now - FIRST_REQUEST_S
        moment = time.monotonic()
        for channel in list(self.active_channels.values()):
            if not channel.served and channel.creation_time < cutoff:
                channel.will_close = True
            elif channel.stalled(moment):
                channel.handle_close()  # wakes a request thread waiting to write, which ends


def _descriptor_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards wanted (never past the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted and soft != resource.RLIM_INFINITY:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError):
            pass
    return soft


BODY_MAX = 33 << 20  # a backup upload (device.daemon.backup.MAX_UPLOAD_BYTES) and its framing


def create_server(
    app: Any, host: str, port: int, threads: int, channel: type[HTTPChannel] = HTTPChannel
) -> GuardedServer:
    """A listening server (OSError when host:port cannot be bound); run it with .run().
    channel: a waitress channel class to guard (its subclass is what serves connections)."""
    limit = min(CONNECTIONS, _descriptor_limit(CONNECTIONS + SPARE_FDS) - SPARE_FDS)
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=BODY_MAX,
        connection_limit=max(limit, 2 * PER_ADDRESS),
        channel_timeout=IDLE_S,
        outbuf_high_watermark=OUTBUF_HIGH,
        outbuf_overflow=OUTBUF_OVERFLOW,
        cleanup_interval=CLEANUP_S,
        asyncore_use_poll=True,
        ident="RepCounter",
        clear_untrusted_proxy_headers=True,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    server = GuardedServer(app, map={}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0])
    if channel is not HTTPChannel:
        server.channel_class = type(f"Guarded{channel.__name__}", (GuardedChannel, channel), {})
    server.next_channel_cleanup = time.time() + CLEANUP_S
    return server

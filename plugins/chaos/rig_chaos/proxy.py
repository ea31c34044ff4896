"""A fault-injecting TCP proxy: rig's connections go through it to one server, and network
faults are injected there, on loopback, without root.

:class:`FaultProxy` listens on a loopback address (a non-loopback one is refused) and opens
one upstream connection to the server for every client connection it accepts. Faults can be
set and removed at any moment, from any thread, while traffic flows, and apply to every byte
the proxy reads or passes on after the call returns; each fault replaces the previous one of
its family (latency, bandwidth, partition), and :meth:`FaultProxy.heal` removes them all.
What each fault does to a client (a MySQL driver connected to the proxy):

- **Latency** (``set_latency(delay, jitter)``): every chunk of data read from one side is
  held for ``delay ± jitter`` (uniform, optionally seeded) before it is passed on, in both
  directions, so a query's round trip grows by about twice the delay. Bytes are never
  reordered: a chunk is released no earlier than the chunk before it in the same direction.
  A new latency applies to data read after it is set; removing it (``heal``) releases what is
  held at once.
- **Bandwidth cap** (``set_bandwidth(rate)``): each direction of each connection passes at
  most ``rate`` bytes per second (a token bucket that starts empty and holds at most 50 ms of
  traffic), so a large result or a bulk insert takes at least its size divided by the rate.
- **Connection reset** (``reset_connections()``): every open connection is closed at once with
  a TCP reset, on the client's side and the server's. The client's next read or write fails
  (MySQL error 2013 "Lost connection" or 2006 "server has gone away"); a statement in flight
  has an unknown outcome; new connections work.
- **Partition, blackhole** (``partition("blackhole")``): the proxy keeps accepting and keeps
  every connection open but forwards nothing in either direction. Clients hang until their
  own timeouts (a read timeout, or a connect timeout waiting for the server's greeting); the
  server sees nothing (a connection accepted during the partition is only opened upstream
  once the partition heals). Data is *held*, not dropped: the proxy stops reading, so what a
  side sends waits in socket buffers and, when they fill, its writes block, as over a real
  partition.
- **Partition, refuse** (``partition("refuse")``): the listening socket is closed, so new
  connects are refused at once (MySQL error 2003), and every open connection is reset as
  above. Healing listens again on the same port.
- **Partial partition** (``partial_partition(fraction, seed=...)``): a seeded, deterministic
  subset of the open connections (``round(fraction * open)``, at least one when the fraction
  is above 0 and any is open) is blackholed as above, and each new connection is blackholed
  with probability ``fraction`` (drawn from the same seeded generator); the others are
  untouched.

**Healing** a partition resumes the held connections, as TCP connections resume after a real
partition heals: what was held is forwarded in order, and whatever a side did meanwhile shows
up afterwards (a client that timed out and closed its socket is seen closing; the server may
have closed an idle session). The proxy never drops data, so there is nothing it would have to
reset a connection for.

:meth:`FaultProxy.stats` counts connections (accepted, open, blackholed, reset by a fault,
failed to reach the server) and the bytes forwarded each way; :attr:`FaultProxy.faults` is the
active faults with their parameters, for the report.

The proxy is thread-based: one accept thread and, per connection, two pump threads (client to
server, server to client), all daemon threads named ``rig-chaos-proxy HOST:PORT …``. They wait
in ``poll`` (POSIX; with a wake-up socket pair, no busy loops), and :meth:`FaultProxy.stop` closes
everything and joins them within a couple of seconds, stalled connections included. Connection
ids are 1, 2, … in the order the proxy accepted the connections.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import math
import random
import select
import socket
import struct
import threading
import time
from collections import deque
from types import TracebackType
from typing import Any

__all__ = ["FAMILIES", "THREAD_PREFIX", "FaultProxy"]

FAMILIES = ("latency", "bandwidth", "partition")
"""The fault families: a fault replaces the active one of its family; :meth:`FaultProxy.heal`
removes some or all."""

THREAD_PREFIX = "rig-chaos-proxy"
"""The names of the proxy's threads start with this, then ``HOST:PORT``."""

CHUNK = 65536
"""Bytes read at a time from a socket."""
QUEUE_LIMIT = 4 * 1024 * 1024
"""Bytes one direction holds (delayed or throttled) before it stops reading its source."""
BURST_S = 0.05
"""A bandwidth cap's token bucket holds at most this many seconds of traffic."""
CONNECT_TIMEOUT_S = 10.0
"""How long the proxy waits for the server to accept an upstream connection."""
STOP_TIMEOUT_S = 2.0
"""How long :meth:`FaultProxy.stop` and the resets wait for connections and threads to end."""

_C2S = 0
_S2C = 1
_DIRECTIONS = {_C2S: "c>s", _S2C: "s>c"}
_BYTES = {_C2S: "bytes_client_to_server", _S2C: "bytes_server_to_client"}
_PARTITION_MODES = ("blackhole", "refuse")
_IN_PROGRESS = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EINTR)


def _loopback(host: str) -> str:
    """``host`` if it is a loopback address (``localhost`` is 127.0.0.1); ValueError if not."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the chaos proxy listens on loopback only: listen_host must be a "
                         f"loopback address (127.0.0.1, ::1), not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the chaos proxy listens on loopback only: {host} is not a loopback "
                         f"address")
    return host


def _poll(readers: list[socket.socket], writers: list[socket.socket],
          timeout: float | None) -> tuple[set[int], set[int]]:
    """Wait until one of ``readers`` is readable or one of ``writers`` writable (or an error or
    hang-up shows on one, which the next recv or send reports), or ``timeout`` seconds pass;
    the ready file descriptors of each list."""
    poller = select.poll()
    roles: dict[int, bool] = {}
    for sock in readers:
        poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
        roles[sock.fileno()] = True
    for sock in writers:
        poller.register(sock.fileno(), select.POLLOUT)
        roles[sock.fileno()] = False
    ms = None if timeout is None else max(1, math.ceil(timeout * 1000))
    ready = poller.poll(ms)
    readable = {fd for fd, _ in ready if roles.get(fd)}
    writable = {fd for fd, _ in ready if roles.get(fd) is False}
    return readable, writable


def _drain(sock: socket.socket) -> None:
    """Empty a non-blocking wake-up socket."""
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def _wake(sock: socket.socket) -> None:
    """Make the peer of a wake-up socket readable."""
    with contextlib.suppress(OSError):  # full (already readable) or closed (nobody waits)
        sock.send(b"\0")


def _nodelay(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Connection:
    """One client connection and its upstream one; its state is guarded by the proxy's lock,
    its sockets are used only by its two pump threads and closed by the last to end."""

    def __init__(self, cid: int, client: socket.socket, blackholed: bool) -> None:
        self.id = cid
        self.client = client
        self.server: socket.socket | None = None
        self.blackholed = blackholed
        self.closing = False
        self.rst = False
        self.closed = False
        self.pumps = 1
        # wakers[0] is waited on by the client-to-server thread, wakers[1] by the other.
        self.wakers = socket.socketpair()
        for sock in self.wakers:
            sock.setblocking(False)

    def wake(self) -> None:
        """Wake both pump threads (to look at the connection's state again)."""
        for sock in self.wakers:
            _wake(sock)

    def close(self) -> None:
        """Close both sockets (with a reset if :attr:`rst`) and the wake-up pair."""
        for sock in (self.client, self.server):
            if sock is None:
                continue
            if self.rst:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        for sock in self.wakers:
            sock.close()
        self.closed = True


class _Chunk:
    __slots__ = ("data", "release")

    def __init__(self, data: memoryview, release: float) -> None:
        self.data = data
        self.release = release


class _Pump:
    """Moves bytes one way on one connection: reads its source into a delay queue and writes
    what is due to its destination, within the bandwidth cap; runs until the source ends and
    all is passed on (then half-closes the destination) or the connection is closing."""

    def __init__(self, proxy: FaultProxy, conn: _Connection, direction: int) -> None:
        self.proxy = proxy
        self.conn = conn
        self.direction = direction
        self.queue: deque[_Chunk] = deque()
        self.queued = 0
        self.eof = False
        self.last_release = 0.0
        self.rng = random.Random()
        self.rng_generation = -1
        self.tokens = 0.0
        self.stamp = 0.0
        self.capacity = 1
        self.bucket_generation = -1

    def run(self) -> None:
        """Pump until the source is done or the connection closes. The fault state is read
        again, under the proxy's lock, for each recv and send (both non-blocking): a fault
        applies to every byte read or sent after its setter returns."""
        conn, proxy = self.conn, self.proxy
        assert conn.server is not None
        if self.direction == _C2S:
            src, dst = conn.client, conn.server
        else:
            src, dst = conn.server, conn.client
        waker = conn.wakers[self.direction]
        while True:
            # What to wait for (the state may change meanwhile: a change wakes the waker).
            with proxy._lock:
                if conn.closing:
                    return
                blackholed = conn.blackholed
                latency = proxy._latency
                rate, rate_generation = proxy._bandwidth, proxy._bandwidth_generation
                timeout: float | None = None
                want_write = False
                if not blackholed and self.queue:
                    now = time.monotonic()
                    wait = self._wait(latency, rate, rate_generation, now)
                    if wait > 0:
                        timeout = wait
                    else:
                        want_write = True
                elif not blackholed and self.eof:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                want_read = not blackholed and not self.eof and self.queued < QUEUE_LIMIT
            readable, writable = _poll([waker, src] if want_read else [waker],
                                       [dst] if want_write else [], timeout)
            if waker.fileno() in readable:
                _drain(waker)
            with proxy._lock:
                if conn.closing:
                    return
                if conn.blackholed:
                    continue
                if (src.fileno() in readable and self.queued < QUEUE_LIMIT
                        and not self._read(src)):
                    return
                if dst.fileno() in writable and self.queue and not self._write(dst):
                    return

    def _wait(self, latency: tuple[float, float, int | None] | None, rate: int | None,
              generation: int, now: float) -> float:
        """Seconds until the head of the queue may be sent (at least one byte of it)."""
        head = self.queue[0]
        if latency is not None and head.release > now:
            return head.release - now
        if rate is None:
            return 0.0
        self._refill(rate, generation, now)
        need = min(len(head.data), self.capacity)
        return 0.0 if self.tokens >= need else (need - self.tokens) / rate

    def _refill(self, rate: int, generation: int, now: float) -> None:
        if generation != self.bucket_generation:  # a new cap: start with an empty bucket
            self.bucket_generation = generation
            self.capacity = max(1, int(rate * BURST_S))
            self.tokens = 0.0
        else:
            self.tokens = min(float(self.capacity), self.tokens + (now - self.stamp) * rate)
        self.stamp = now

    def _read(self, src: socket.socket) -> bool:
        """Read a chunk into the queue, with its release time (under the proxy's lock)."""
        try:
            data = src.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:  # reset by its peer: pass the reset on
            self.proxy._abort_locked(self.conn, rst=True)
            return False
        if not data:
            self.eof = True
            return True
        now = time.monotonic()
        release = now
        latency, generation = self.proxy._latency, self.proxy._latency_generation
        if latency is not None:
            delay, jitter, seed = latency
            if jitter:
                if generation != self.rng_generation:
                    self.rng_generation = generation
                    self.rng = random.Random(
                        f"{seed}:{self.conn.id}:{self.direction}" if seed is not None else None)
                delay += self.rng.uniform(-jitter, jitter)
            release = now + max(0.0, delay)
        release = max(release, self.last_release)  # never overtake the chunk before
        self.last_release = release
        self.queue.append(_Chunk(memoryview(data), release))
        self.queued += len(data)
        return True

    def _write(self, dst: socket.socket) -> bool:
        """Send what is due of the queue's head, within the cap (under the proxy's lock)."""
        proxy = self.proxy
        rate = proxy._bandwidth
        if self._wait(proxy._latency, rate, proxy._bandwidth_generation, time.monotonic()) > 0:
            return True
        head = self.queue[0]
        limit = len(head.data) if rate is None else min(len(head.data), int(self.tokens))
        try:
            sent = dst.send(head.data[:limit])
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            proxy._abort_locked(self.conn, rst=True)
            return False
        if rate is not None:
            self.tokens -= sent
        head.data = head.data[sent:]
        self.queued -= sent
        if not head.data:
            self.queue.popleft()
        proxy._counts[_BYTES[self.direction]] += sent
        return True


class _Acceptor:
    """The listening socket and the thread accepting on it."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.stopped = False
        self.wakers = socket.socketpair()
        for sock in self.wakers:
            sock.setblocking(False)
        self.thread: threading.Thread | None = None

    def stop(self, timeout: float) -> None:
        """End the accept thread (within ``timeout``) and close the listening socket."""
        self.stopped = True
        _wake(self.wakers[1])
        if self.thread is not None:
            self.thread.join(timeout)
        self.listener.close()
        for sock in self.wakers:
            sock.close()


class FaultProxy:
    """A TCP proxy on 127.0.0.1 between rig's connections and one server, that can inject
    network faults (no root needed). Thread-based: an accept thread, and per connection two
    pump threads (client->server, server->client).

    Every method is thread-safe. Faults may be set before :meth:`start` too; each replaces
    the previous fault of its family (``latency``, ``bandwidth``, ``partition`` — which
    :meth:`partition` and :meth:`partial_partition` share). See the module's documentation for
    what each fault does to a client.
    """

    host: str
    """The loopback address the proxy listens on."""
    port: int
    """The port it listens on (0 until :meth:`start` binds one when none was given)."""

    def __init__(self, upstream_host: str, upstream_port: int, *,
                 listen_host: str = "127.0.0.1", listen_port: int = 0) -> None:
        """A proxy to ``upstream_host:upstream_port``, to listen on ``listen_host`` (a loopback
        address: anything else is a ValueError) and ``listen_port`` (0: any free port)."""
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.host = _loopback(listen_host)
        self.port = listen_port
        self._control = threading.RLock()  # serialises start, stop and the faults
        self._lock = threading.Condition(threading.Lock())  # guards the state below
        self._started = False
        self._stopping = False
        self._acceptor: _Acceptor | None = None
        self._connections: dict[int, _Connection] = {}
        self._threads: list[threading.Thread] = []
        self._next_id = 1
        self._counts = {"accepted": 0, "reset": 0, "upstream_errors": 0,
                        "bytes_client_to_server": 0, "bytes_server_to_client": 0}
        self._latency: tuple[float, float, int | None] | None = None
        self._latency_generation = 0
        self._bandwidth: int | None = None
        self._bandwidth_generation = 0
        self._partition: dict[str, Any] | None = None
        self._partial_rng: random.Random | None = None
        self._cut: set[int] = set()

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 hosts in brackets), for rig's ``--host``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def _name(self) -> str:
        return f"{THREAD_PREFIX} {self.address}"

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and listen (an OSError if that fails, e.g. the port is taken), and start
        accepting. Starting a started proxy does nothing; a stopped one can be started again
        (on the same port)."""
        with self._control:
            if self._started:
                return
            listener = self._listen()
            with self._lock:
                self._started = True
                self._stopping = False
                refusing = self._refusing()
            if refusing:
                listener.close()
            else:
                self._start_acceptor(listener)

    def stop(self) -> None:
        """Remove every fault, close every connection (held data is dropped) and the listener,
        and join the proxy's threads, within about :data:`STOP_TIMEOUT_S` seconds whatever the
        connections are doing. Stopping a stopped proxy does nothing."""
        with self._control:
            if not self._started:
                return
            with self._lock:
                self._stopping = True
                self._clear_faults()
                for conn in self._connections.values():
                    conn.closing = True
                    conn.wake()
            deadline = time.monotonic() + STOP_TIMEOUT_S
            self._stop_acceptor(STOP_TIMEOUT_S / 2)
            with self._lock:
                self._lock.wait_for(lambda: not self._connections,
                                    max(0.0, deadline - time.monotonic()))
                threads = list(self._threads)
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            with self._lock:
                self._threads = [thread for thread in self._threads if thread.is_alive()]
                self._started = False
                self._stopping = False

    def __enter__(self) -> FaultProxy:
        """Start the proxy."""
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Stop the proxy."""
        self.stop()

    # --- faults -----------------------------------------------------------------------------

    def set_latency(self, delay_s: float, jitter_s: float = 0.0, *,
                    seed: int | None = None) -> None:
        """Delay every chunk of data by ``delay_s ± jitter_s`` seconds (uniform; reproducible
        with ``seed``) in both directions, keeping byte order per direction."""
        for name, value in (("delay_s", delay_s), ("jitter_s", jitter_s)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        with self._control, self._lock:
            self._latency = (float(delay_s), float(jitter_s), seed)
            self._latency_generation += 1
            self._wake_all()

    def set_bandwidth(self, bytes_per_s: int) -> None:
        """Cap each direction of each connection at ``bytes_per_s`` bytes per second."""
        if isinstance(bytes_per_s, bool) or not isinstance(bytes_per_s, int) or bytes_per_s < 1:
            raise ValueError(f"bytes_per_s must be a positive integer, not {bytes_per_s!r}")
        with self._control, self._lock:
            self._bandwidth = bytes_per_s
            self._bandwidth_generation += 1
            self._wake_all()

    def reset_connections(self) -> int:
        """Reset (TCP RST, on both sides) every open connection now; how many there were. When
        this returns, they are closed."""
        with self._control, self._lock:
            return self._reset_all()

    def partition(self, mode: str = "blackhole") -> None:
        """Partition the server off: ``"blackhole"`` keeps accepting and keeps connections open
        but forwards nothing (held, until :meth:`heal`); ``"refuse"`` closes the listener, so
        new connects are refused, and resets the open connections."""
        if mode not in _PARTITION_MODES:
            raise ValueError(f"partition mode must be one of {', '.join(_PARTITION_MODES)}, "
                             f"not {mode!r}")
        with self._control:
            if mode == "refuse":
                self._stop_acceptor(STOP_TIMEOUT_S / 2)
                with self._lock:
                    self._partition = {"mode": "refuse"}
                    self._cut = set()
                    self._partial_rng = None
                    self._reset_all()
                return
            with self._lock:
                self._partition = {"mode": "blackhole"}
                self._cut = set()
                self._partial_rng = None
                self._apply_partition()
            self._listen_again()

    def partial_partition(self, fraction: float, *, seed: int | None = None) -> list[int]:
        """Blackhole (as :meth:`partition`) a seeded subset of the open connections —
        ``round(fraction * open)`` of them, at least one when ``fraction`` > 0 and any is open —
        and each new connection with probability ``fraction``; the ids of the connections cut
        now, in order."""
        if not math.isfinite(fraction) or not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction!r}")
        with self._control:
            with self._lock:
                rng = random.Random(seed)
                open_ids = sorted(cid for cid, conn in self._connections.items()
                                  if not conn.closing)
                count = 0
                if fraction > 0 and open_ids:
                    count = max(1, math.floor(fraction * len(open_ids) + 0.5))
                cut = sorted(rng.sample(open_ids, count))
                self._partition = {"mode": "partial", "fraction": fraction, "seed": seed}
                self._partial_rng = rng
                self._cut = set(cut)
                self._apply_partition()
            self._listen_again()
            return cut

    def heal(self, *families: str) -> None:
        """Remove the faults of ``families`` (``latency``, ``bandwidth``, ``partition``), or
        every fault when none is named. Blackholed connections resume (what was held is
        forwarded, in order), delayed data is released at once, and after ``refuse`` the proxy
        listens again on its port (an OSError if that port was taken meanwhile)."""
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown:
            raise ValueError(f"fault families are {', '.join(FAMILIES)}, not "
                             f"{', '.join(unknown)}")
        with self._control:
            with self._lock:
                if not families:
                    self._clear_faults()
                if "latency" in families:
                    self._latency = None
                if "bandwidth" in families:
                    self._bandwidth = None
                if "partition" in families:
                    self._partition = None
                    self._partial_rng = None
                    self._cut = set()
                    self._apply_partition()
                self._wake_all()
            self._listen_again()

    @property
    def faults(self) -> dict[str, Any]:
        """The active faults and their parameters, by family: ``latency`` (``delay_s``,
        ``jitter_s``, ``seed``), ``bandwidth`` (``bytes_per_s``), ``partition`` (``mode``:
        blackhole, refuse or partial, with ``fraction``, ``seed`` and the ``cut`` ids). A
        copy."""
        with self._lock:
            faults: dict[str, Any] = {}
            if self._latency is not None:
                delay, jitter, seed = self._latency
                faults["latency"] = {"delay_s": delay, "jitter_s": jitter, "seed": seed}
            if self._bandwidth is not None:
                faults["bandwidth"] = {"bytes_per_s": self._bandwidth}
            if self._partition is not None:
                partition = dict(self._partition)
                if partition["mode"] == "partial":
                    partition["cut"] = sorted(self._cut)
                faults["partition"] = partition
            return faults

    def stats(self) -> dict[str, int]:
        """Counters: connections ``accepted``, ``open``, ``blackholed`` (now), ``reset`` (by
        :meth:`reset_connections` or a refusing partition), ``upstream_errors`` (the server
        could not be reached: the client was reset), and ``bytes_client_to_server`` and
        ``bytes_server_to_client`` forwarded."""
        with self._lock:
            return {**self._counts, "open": len(self._connections),
                    "blackholed": sum(conn.blackholed for conn in self._connections.values())}

    # --- internals (the state ones run under self._lock) ------------------------------------

    def _refusing(self) -> bool:
        return self._partition is not None and self._partition["mode"] == "refuse"

    def _clear_faults(self) -> None:
        self._latency = None
        self._bandwidth = None
        self._partition = None
        self._partial_rng = None
        self._cut = set()
        self._apply_partition()

    def _wake_all(self) -> None:
        for conn in self._connections.values():
            conn.wake()

    def _blackholes(self, cid: int) -> bool:
        """Whether connection ``cid`` is cut off by the partition in force."""
        if self._partition is None:
            return False
        return self._partition["mode"] == "blackhole" or cid in self._cut

    def _apply_partition(self) -> None:
        for conn in self._connections.values():
            blackholed = self._blackholes(conn.id)
            if blackholed != conn.blackholed:
                conn.blackholed = blackholed
                conn.wake()

    def _reset_all(self) -> int:
        targets = [conn for conn in self._connections.values() if not conn.closing]
        for conn in targets:
            conn.closing = True
            conn.rst = True
            conn.wake()
        self._counts["reset"] += len(targets)
        self._lock.wait_for(lambda: all(conn.closed for conn in targets), STOP_TIMEOUT_S)
        return len(targets)

    def _abort(self, conn: _Connection, *, rst: bool) -> None:
        with self._lock:
            self._abort_locked(conn, rst=rst)

    def _abort_locked(self, conn: _Connection, *, rst: bool) -> None:
        conn.closing = True
        conn.rst = conn.rst or rst
        conn.wake()

    def _track(self, thread: threading.Thread) -> None:
        self._threads = [known for known in self._threads if known.is_alive()]
        self._threads.append(thread)

    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(128)
            listener.setblocking(False)
            self.port = listener.getsockname()[1]
        except OSError:
            listener.close()
            raise
        return listener

    def _listen_again(self) -> None:
        """Listen again if the proxy runs but a refusing partition closed its listener."""
        with self._lock:
            closed = (self._started and not self._stopping and self._acceptor is None
                      and not self._refusing())
        if closed:
            self._start_acceptor(self._listen())

    def _start_acceptor(self, listener: socket.socket) -> None:
        acceptor = _Acceptor(listener)
        thread = threading.Thread(target=self._accept_loop, args=(acceptor,),
                                  name=f"{self._name} accept", daemon=True)
        acceptor.thread = thread
        with self._lock:
            self._acceptor = acceptor
            thread.start()
            self._track(thread)

    def _stop_acceptor(self, timeout: float) -> None:
        with self._lock:
            acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.stop(timeout)

    def _accept_loop(self, acceptor: _Acceptor) -> None:
        waker = acceptor.wakers[0]
        while not acceptor.stopped:
            readable, _ = _poll([waker, acceptor.listener], [], None)
            if acceptor.stopped:
                return
            if waker.fileno() in readable:
                _drain(waker)
            if acceptor.listener.fileno() not in readable:
                continue
            try:
                client, _ = acceptor.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError:  # out of file descriptors, say: wait a little instead of spinning
                _poll([waker], [], 0.1)
                continue
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        """Take a new client connection in and start its client-to-server thread (or close it,
        when stopping or out of resources)."""
        client.setblocking(False)
        _nodelay(client)
        with self._lock:
            if self._stopping:
                client.close()
                return
            cid = self._next_id
            self._next_id += 1
            self._counts["accepted"] += 1
            try:
                conn = _Connection(cid, client, blackholed=False)
            except OSError:  # no file descriptor left for the wake-up pair
                client.close()
                return
            if (self._partition is not None and self._partition["mode"] == "partial"
                    and self._partial_rng is not None
                    and self._partial_rng.random() < self._partition["fraction"]):
                self._cut.add(cid)
            conn.blackholed = self._blackholes(cid)
            thread = threading.Thread(target=self._serve, args=(conn,),
                                      name=f"{self._name} #{cid} {_DIRECTIONS[_C2S]}",
                                      daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no thread left
                conn.rst = True
                conn.close()
                return
            self._connections[cid] = conn
            self._track(thread)

    def _serve(self, conn: _Connection) -> None:
        """The client-to-server thread: open the upstream connection (once the connection is
        not blackholed), start the server-to-client thread, and pump."""
        try:
            if not self._wait_forwarding(conn):
                return
            server = self._connect_upstream(conn)
            if server is None:
                return
            with self._lock:
                if conn.closing:
                    server.close()
                    return
                conn.server = server
                conn.pumps += 1
                thread = threading.Thread(target=self._serve_back, args=(conn,),
                                          name=f"{self._name} #{conn.id} {_DIRECTIONS[_S2C]}",
                                          daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # no thread left: give the connection up
                    conn.pumps -= 1
                    self._abort_locked(conn, rst=True)
                    return
                self._track(thread)
            _Pump(self, conn, _C2S).run()
        finally:
            self._finish(conn)

    def _serve_back(self, conn: _Connection) -> None:
        try:
            _Pump(self, conn, _S2C).run()
        finally:
            self._finish(conn)

    def _wait_forwarding(self, conn: _Connection) -> bool:
        """Wait while ``conn`` is blackholed; False if it is closing."""
        waker = conn.wakers[_C2S]
        while True:
            with self._lock:
                if conn.closing:
                    return False
                if not conn.blackholed:
                    return True
            _poll([waker], [], None)
            _drain(waker)

    def _connect_upstream(self, conn: _Connection) -> socket.socket | None:
        """A connected, non-blocking socket to the server; None (the client reset) if the
        server cannot be reached within :data:`CONNECT_TIMEOUT_S`, or the connection is
        closing."""
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.upstream_host, self.upstream_port, type=socket.SOCK_STREAM)[0]
            server = socket.socket(family, kind, proto)
        except OSError:
            self._upstream_failed(conn)
            return None
        server.setblocking(False)
        code = server.connect_ex(address)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        waker = conn.wakers[_C2S]
        while code in _IN_PROGRESS:
            with self._lock:
                closing = conn.closing
            remaining = deadline - time.monotonic()
            if closing or remaining <= 0:
                server.close()
                if not closing:
                    self._upstream_failed(conn)
                return None
            readable, writable = _poll([waker], [server], remaining)
            if waker.fileno() in readable:
                _drain(waker)
            if server.fileno() in writable:
                code = server.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code != 0:
            server.close()
            self._upstream_failed(conn)
            return None
        _nodelay(server)
        return server

    def _upstream_failed(self, conn: _Connection) -> None:
        with self._lock:
            self._counts["upstream_errors"] += 1
        self._abort(conn, rst=True)

    def _finish(self, conn: _Connection) -> None:
        """One pump thread of ``conn`` ends; the last closes the connection."""
        with self._lock:
            conn.pumps -= 1
            if conn.pumps > 0:
                return
            conn.close()
            self._connections.pop(conn.id, None)
            self._lock.notify_all()

"""The chaos plugin's fault-injecting TCP proxy, on a real server: PyMySQL connects through it
and each fault shows in what the client sees (lower bounds on time only, no wall-clock
windows; waits are on conditions, with a backstop)."""

from __future__ import annotations

import contextlib
import hashlib
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest
from pymysql.constants import COMMAND

from rig_chaos.proxy import THREAD_PREFIX, FaultProxy

LOST = (2013, 2006)  # CR_SERVER_LOST, CR_SERVER_GONE_ERROR
REFUSED = 2003  # CR_CONN_HOST_ERROR


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``predicate`` turns true within ``timeout`` seconds (a backstop)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def through(server: Any, proxy: FaultProxy, **kwargs: Any) -> Any:
    """A PyMySQL connection to ``server`` through ``proxy``."""
    kwargs.setdefault("connect_timeout", 5)
    return server.connect(host=proxy.host, port=proxy.port, **kwargs)


def scalar(connection: Any, sql: str, args: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


def proxy_threads(proxy: FaultProxy) -> list[str]:
    prefix = f"{THREAD_PREFIX} {proxy.address} "
    return [thread.name for thread in threading.enumerate() if thread.name.startswith(prefix)]


def error_code(excinfo: pytest.ExceptionInfo[pymysql.err.OperationalError]) -> int:
    return int(excinfo.value.args[0])


@pytest.fixture
def proxy(rig_server: Any) -> Iterator[FaultProxy]:
    """A started proxy to the test server, stopped afterwards."""
    with FaultProxy(rig_server.host, rig_server.port) as started:
        yield started


@pytest.fixture
def connections() -> Iterator[list[Any]]:
    """Connections a test opens; closed afterwards (quietly: faults may have killed them)."""
    opened: list[Any] = []
    yield opened
    for connection in opened:
        with contextlib.suppress(Exception):
            connection.close()


def test_queries_pass_through_unchanged(rig_server: Any, proxy: FaultProxy,
                                        connections: list[Any]) -> None:
    connection = through(rig_server, proxy)
    connections.append(connection)
    assert scalar(connection, "SELECT 1 + 1") == 2
    payload = random.Random(1).randbytes(1 << 20)
    with connection.cursor() as cursor:
        cursor.execute("SET @payload = %s", (payload,))
        cursor.execute("SELECT @payload, SHA2(@payload, 256)")
        echoed, digest = cursor.fetchone()
    assert echoed == payload
    assert digest == hashlib.sha256(payload).hexdigest()
    stats = proxy.stats()
    assert stats["accepted"] == stats["open"] == 1
    assert stats["bytes_client_to_server"] >= len(payload)
    assert stats["bytes_server_to_client"] >= len(payload)
    assert proxy.address == f"127.0.0.1:{proxy.port}" and proxy.port > 0


def test_latency_delays_both_directions(rig_server: Any, proxy: FaultProxy,
                                        connections: list[Any]) -> None:
    connection = through(rig_server, proxy)
    connections.append(connection)
    proxy.set_latency(0.2)
    started = time.monotonic()
    assert scalar(connection, "SELECT 1") == 1
    assert time.monotonic() - started >= 2 * 0.2
    proxy.heal()
    assert scalar(connection, "SELECT 2") == 2


def test_jitter_keeps_byte_order(rig_server: Any, proxy: FaultProxy,
                                 connections: list[Any]) -> None:
    connection = through(rig_server, proxy)
    connections.append(connection)
    proxy.set_latency(0.1, 0.08, seed=5)
    started = time.monotonic()
    assert scalar(connection, "SELECT 1") == 1
    assert time.monotonic() - started >= 2 * (0.1 - 0.08)
    payload = random.Random(2).randbytes(1 << 20)  # many chunks, each its own delay
    with connection.cursor() as cursor:
        cursor.execute("SET @payload = %s", (payload,))
        cursor.execute("SELECT @payload, SHA2(@payload, 256)")
        echoed, digest = cursor.fetchone()
    assert echoed == payload
    assert digest == hashlib.sha256(payload).hexdigest()


def test_bandwidth_caps_each_direction(rig_server: Any, proxy: FaultProxy,
                                       connections: list[Any]) -> None:
    rate, size = 100_000, 120_000
    proxy.set_bandwidth(rate)
    before = proxy.stats()
    started = time.monotonic()
    connection = through(rig_server, proxy)
    connections.append(connection)
    assert scalar(connection, "SELECT LENGTH(REPEAT('x', %s))", (size,)) == size
    assert scalar(connection, "SELECT REPEAT('x', %s)", (size,)) == "x" * size
    elapsed = time.monotonic() - started
    down = proxy.stats()["bytes_server_to_client"] - before["bytes_server_to_client"]
    assert down >= size
    assert elapsed >= down / rate

    before = proxy.stats()
    started = time.monotonic()
    assert scalar(connection, "SELECT LENGTH(%s)", (b"y" * size,)) == size
    elapsed = time.monotonic() - started
    up = proxy.stats()["bytes_client_to_server"] - before["bytes_client_to_server"]
    assert up >= size
    # the bucket was full (50 ms of traffic) when the upload began
    assert elapsed >= (up - rate * 0.05) / rate


def test_reset_connections_loses_open_connections(rig_server: Any, proxy: FaultProxy,
                                                  connections: list[Any]) -> None:
    opened = [through(rig_server, proxy) for _ in range(2)]
    connections.extend(opened)
    assert proxy.reset_connections() == 2
    for connection in opened:
        with pytest.raises(pymysql.err.OperationalError) as excinfo:
            scalar(connection, "SELECT 1")
        assert error_code(excinfo) in LOST
    stats = proxy.stats()
    assert stats["reset"] == 2 and stats["open"] == 0
    fresh = through(rig_server, proxy)
    connections.append(fresh)
    assert scalar(fresh, "SELECT 1") == 1
    assert proxy.reset_connections() == 1


def test_blackhole_hangs_queries_but_accepts_connects(rig_server: Any, proxy: FaultProxy,
                                                      connections: list[Any]) -> None:
    connection = through(rig_server, proxy, read_timeout=1)
    connections.append(connection)
    proxy.partition()
    with pytest.raises(pymysql.err.OperationalError) as excinfo:
        scalar(connection, "SELECT 1")
    assert error_code(excinfo) == 2013  # timed out
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as raw:
        assert wait_until(lambda: proxy.stats()["accepted"] == 2)
        assert proxy.stats()["blackholed"] == 2
        raw.settimeout(0.5)
        with pytest.raises(TimeoutError):
            raw.recv(1)  # no greeting: the server was not even reached
    assert proxy.faults == {"partition": {"mode": "blackhole"}}
    proxy.heal()
    fresh = through(rig_server, proxy)
    connections.append(fresh)
    assert scalar(fresh, "SELECT 1") == 1


def test_blackholed_connection_resumes_on_heal(rig_server: Any, proxy: FaultProxy,
                                               connections: list[Any]) -> None:
    connection = through(rig_server, proxy)
    connections.append(connection)
    proxy.partition("blackhole")
    # Send a query without waiting for its result (PyMySQL's two halves of query()): the
    # proxy holds it; healing forwards it, and the result comes back.
    connection._execute_command(COMMAND.COM_QUERY, "SELECT 42")
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as raw:
        assert wait_until(lambda: proxy.stats()["accepted"] == 2)
        proxy.heal()
        raw.settimeout(5)
        assert raw.recv(5)  # the server's greeting: the held connect went through
    connection._read_query_result()
    assert connection._result.rows == ((42,),)
    assert scalar(connection, "SELECT 1") == 1


def test_refuse_refuses_new_connects_and_resets_open_ones(rig_server: Any, proxy: FaultProxy,
                                                          connections: list[Any]) -> None:
    connection = through(rig_server, proxy)
    connections.append(connection)
    port = proxy.port
    proxy.partition("refuse")
    with pytest.raises(pymysql.err.OperationalError) as excinfo:
        through(rig_server, proxy)
    assert error_code(excinfo) == REFUSED
    with pytest.raises(pymysql.err.OperationalError) as excinfo:
        scalar(connection, "SELECT 1")
    assert error_code(excinfo) in LOST
    assert proxy.stats()["reset"] == 1
    proxy.heal()
    assert proxy.port == port
    fresh = through(rig_server, proxy)
    connections.append(fresh)
    assert scalar(fresh, "SELECT 1") == 1


def test_partial_partition_cuts_a_seeded_subset(rig_server: Any, proxy: FaultProxy,
                                                connections: list[Any]) -> None:
    opened = [through(rig_server, proxy, read_timeout=1) for _ in range(4)]
    connections.extend(opened)  # connection i has id i + 1: ids follow the accept order
    cut = proxy.partial_partition(0.5, seed=11)
    assert len(cut) == 2 and set(cut) <= {1, 2, 3, 4}
    proxy.heal()
    assert proxy.partial_partition(0.5, seed=11) == cut  # seeded: the same subset again
    assert proxy.faults["partition"] == {"mode": "partial", "fraction": 0.5, "seed": 11,
                                         "cut": cut}
    assert proxy.stats()["blackholed"] == 2
    for cid, connection in enumerate(opened, start=1):
        if cid in cut:
            with pytest.raises(pymysql.err.OperationalError) as excinfo:
                scalar(connection, "SELECT 1")
            assert error_code(excinfo) == 2013
        else:
            assert scalar(connection, "SELECT 1") == 1
    assert proxy.partial_partition(0.1, seed=1) != []  # at least one when any is open
    proxy.heal()
    fresh = through(rig_server, proxy)
    connections.append(fresh)
    assert scalar(fresh, "SELECT 1") == 1


def test_stop_with_stalled_connections_leaves_no_thread(rig_server: Any,
                                                        connections: list[Any]) -> None:
    proxy = FaultProxy(rig_server.host, rig_server.port)
    proxy.start()
    stalled = [through(rig_server, proxy) for _ in range(2)]
    connections.extend(stalled)
    proxy.set_latency(0.05)
    proxy.partition()
    errors: list[BaseException] = []

    def query(connection: Any) -> None:
        try:
            scalar(connection, "SELECT 1")
        except BaseException as exc:
            errors.append(exc)

    clients = [threading.Thread(target=query, args=(c,), daemon=True) for c in stalled]
    for client in clients:
        client.start()
    with socket.create_connection((proxy.host, proxy.port), timeout=5):
        assert wait_until(lambda: proxy.stats()["accepted"] == 3)
        assert len(proxy_threads(proxy)) >= 1 + 2 * 2 + 1
        proxy.stop()
        assert proxy_threads(proxy) == []
        assert proxy.faults == {}
        assert proxy.stats()["open"] == 0
    for client in clients:
        client.join(10)
        assert not client.is_alive()
    assert len(errors) == 2
    assert all(isinstance(exc, pymysql.err.OperationalError) and exc.args[0] in LOST
               for exc in errors)


def test_unreachable_server_resets_the_client(rig_server: Any) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        with FaultProxy("127.0.0.1", closed.getsockname()[1]) as proxy:
            with pytest.raises(pymysql.err.OperationalError) as excinfo:
                through(rig_server, proxy)
            # reset before or while PyMySQL reads the greeting: 2003 or a lost connection
            assert error_code(excinfo) in (*LOST, 2003)
            assert wait_until(lambda: proxy.stats()["upstream_errors"] == 1)
            assert proxy.stats()["open"] == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com", ""])
def test_listen_host_must_be_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("127.0.0.1", 3306, listen_host=host)


def test_loopback_hosts_are_accepted() -> None:
    assert FaultProxy("127.0.0.1", 3306, listen_host="localhost").host == "127.0.0.1"
    assert FaultProxy("127.0.0.1", 3306, listen_host="::1").address == "[::1]:0"


def test_fault_parameters_are_checked() -> None:
    proxy = FaultProxy("127.0.0.1", 3306)
    for call in (lambda: proxy.set_latency(-1), lambda: proxy.set_latency(0.1, float("nan")),
                 lambda: proxy.set_bandwidth(0), lambda: proxy.set_bandwidth(True),
                 lambda: proxy.partition("drop"), lambda: proxy.partial_partition(1.5)):
        with pytest.raises(ValueError):
            call()
    assert proxy.faults == {}


def test_faults_reports_active_faults_and_heal_removes_them(proxy: FaultProxy) -> None:
    proxy.set_latency(0.3, 0.1, seed=4)
    proxy.set_latency(0.2)  # replaces the previous latency
    proxy.set_bandwidth(1000)
    proxy.partition("refuse")
    proxy.partition("blackhole")  # replaces the refusal: listening again
    with socket.create_connection((proxy.host, proxy.port), timeout=5):
        pass
    assert proxy.faults == {"latency": {"delay_s": 0.2, "jitter_s": 0.0, "seed": None},
                            "bandwidth": {"bytes_per_s": 1000},
                            "partition": {"mode": "blackhole"}}
    proxy.heal()
    assert proxy.faults == {}


def test_heal_of_one_family_keeps_the_others(rig_server: Any, proxy: FaultProxy,
                                             connections: list[Any]) -> None:
    """Overlapping faults end one at a time: healing the refusal listens again and leaves the
    latency and the cap; an unknown family is a ValueError."""
    proxy.set_latency(0.05)
    proxy.set_bandwidth(100_000)
    proxy.partition("refuse")
    proxy.heal("partition")
    connection = through(rig_server, proxy)
    connections.append(connection)
    assert scalar(connection, "SELECT 1") == 1
    assert set(proxy.faults) == {"latency", "bandwidth"}
    proxy.heal("bandwidth")
    assert set(proxy.faults) == {"latency"}
    proxy.heal("latency")
    assert proxy.faults == {}
    with pytest.raises(ValueError):
        proxy.heal("clock")


def test_start_is_idempotent_and_a_restart_keeps_the_port(rig_server: Any,
                                                          connections: list[Any]) -> None:
    proxy = FaultProxy(rig_server.host, rig_server.port)
    proxy.start()
    port = proxy.port
    proxy.start()
    assert proxy.port == port
    proxy.stop()
    proxy.stop()
    with pytest.raises(pymysql.err.OperationalError) as excinfo:
        through(rig_server, proxy)
    assert error_code(excinfo) == REFUSED
    with proxy:
        assert proxy.port == port
        connection = through(rig_server, proxy)
        connections.append(connection)
        assert scalar(connection, "SELECT 1") == 1
    assert proxy_threads(proxy) == []

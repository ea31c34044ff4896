"""The public API the chaos plugin needs from the core, usable by any plugin: the run's sandbox
in ``config.stash`` (``rig.SANDBOX``), ``config.reroute`` (connections dial a proxy), and the
timeline's periods (``Timeline.periods``, ``Timeline.active``)."""

from __future__ import annotations

import contextlib
import socket
import threading

import rig
from rig.testing import RigRunner, make_plugin


def test_periods_pair_starts_with_their_ends_and_active_lists_the_open_ones() -> None:
    now = [0.0]
    timeline = rig.Timeline(clock=lambda: now[0])
    timeline.add("acme.fault", source="acme", kind="start", detail="pause", data={"fault": 1})
    now[0] = 2.0
    timeline.add("acme.other", source="acme", kind="start")
    now[0] = 3.0
    timeline.add("acme.fault", source="acme", kind="end")
    now[0] = 5.0
    assert [(p.name, p.start_s, p.end_s) for p in timeline.periods()] == [
        ("acme.fault", 0.0, 3.0), ("acme.other", 2.0, None)]
    assert [p.name for p in timeline.active()] == ["acme.other"]
    assert [p.name for p in timeline.periods(3.5, 4.0)] == ["acme.other"]
    first = timeline.periods(0.0, 1.0)[0]
    assert (first.detail, dict(first.data)) == ("pause", {"fault": 1})
    assert first.as_json()["end_s"] == 3.0
    assert timeline.now_s() == 5.0


def test_a_plugin_finds_the_sandbox_in_the_stash_and_reroutes_connections(
        rig_runner: RigRunner) -> None:
    """A plugin's rig_configure sees the sandbox under rig.SANDBOX and sends the run's
    connections through a TCP relay of its own: the run passes, through the relay."""
    relayed: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))
    seen: dict[str, object] = {}

    def relay(server: tuple[str, int]) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            relayed.append(1)
            upstream = socket.create_connection(server)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def configure(config: rig.Config) -> None:
        box = config.stash.get(rig.SANDBOX)
        seen["sandbox"] = box
        assert box is not None
        threading.Thread(target=relay, args=((box.host, box.port),), daemon=True).start()
        config.reroute(box.host, box.port, "127.0.0.1", listener.getsockname()[1])

    plugin = make_plugin(rig_configure=configure)
    relay_port = listener.getsockname()[1]
    try:
        run = rig_runner.run("--sandbox", "--plugin", "via", plugins=[("via", plugin)])
    finally:
        listener.close()
    assert run.exit_code == 0, run.output
    assert isinstance(seen["sandbox"], rig.Sandbox)
    assert relayed, "no connection went through the relay"
    assert run.report is not None
    box = seen["sandbox"]
    assert relay_port != box.port
    assert run.report["connections"][0]["port"] == box.port  # the server, not the relay
    assert str(relay_port) not in run.output


def test_through_a_reroute_error_lines_name_the_server_not_the_proxy(
        rig_runner: RigRunner) -> None:
    """A relay that hangs up at once: the one error line and the report name the server the
    user gave (``--host``), never the relay's address."""
    relay = socket.create_server(("127.0.0.1", 0))
    relay_port = relay.getsockname()[1]
    dead = socket.create_server(("127.0.0.1", 0))  # a port nothing else takes meanwhile
    server_port = dead.getsockname()[1]

    def hang_up() -> None:
        while True:
            try:
                client, _ = relay.accept()
            except OSError:
                return
            client.close()

    def configure(config: rig.Config) -> None:
        threading.Thread(target=hang_up, daemon=True).start()
        config.reroute("127.0.0.1", server_port, "127.0.0.1", relay_port)

    plugin = make_plugin(rig_configure=configure)
    try:
        run = rig_runner.run("--host", f"127.0.0.1:{server_port}", "--user", "root",
                             "--retry-attempts", "1", "--plugin", "via",
                             plugins=[("via", plugin)])
    finally:
        relay.close()
        dead.close()
    assert run.exit_code == 5, run.output
    errors = [line for line in run.output.splitlines() if line.startswith("rig: error:")]
    assert errors and all(f"127.0.0.1:{server_port}" in line for line in errors), run.output
    assert str(relay_port) not in run.output
    assert run.report is not None
    assert run.report["connections"][0]["port"] == server_port


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


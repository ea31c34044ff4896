"""Every way a connection can fail ends with one line naming the cause and the fix, exit 5,
and never shows the password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import rig
from rig.db.sandbox import free_port
from rig.testing import RigRunner, ServerDSN, make_plugin

SECRET = "Very-S3cret-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def password_user(rig_server: ServerDSN) -> Iterator[str]:
    """A user whose password is SECRET."""
    name = f"rig_pw_{uuid.uuid4().hex[:8]}"
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (SECRET,))
        cursor.execute(f"CREATE USER '{name}'@'localhost' IDENTIFIED BY %s", (SECRET,))
    yield name
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{name}'@'%', '{name}'@'localhost'")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections and never says anything."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def assert_one_error_line(stderr: str, *expected: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("rig: error: ")]
    assert len(errors) == 1, stderr
    for text in expected:
        assert text in errors[0], errors[0]
    assert "Traceback" not in stderr


def test_refused_port_is_retried_then_exits_5(rig_runner: RigRunner) -> None:
    port = free_port()
    run = rig_runner.run("--host", f"127.0.0.1:{port}", "--retry-attempts", "2")
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, f"connection refused by 127.0.0.1:{port}",
                          "is the server running")
    assert "connect attempt 1 to" in run.stderr  # the retry is visible
    assert run.report is not None
    assert run.report["exit_code"] == 5
    error = run.report["connections"][0]["error"]
    assert error["state"] == "connecting"
    assert error["path"] == ["initial", "parsing_config", "connecting"]


def test_wrong_password_exits_5_and_never_shows_it(
        rig_runner: RigRunner, password_user: str, tmp_path: Path) -> None:
    run = rig_runner.run_on_server("--user", password_user, "--password", "wrong-" + SECRET)
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, f"access denied for user '{password_user}'",
                          "(with a password)", "check --user and --password")
    assert SECRET not in run.output

    log = tmp_path / "rig.log"  # the most talkative run: trace level, tracebacks, a log file
    loud = rig_runner.run_on_server("--user", password_user, "--password", "wrong-" + SECRET, "-vv",
                          "--log-file", str(log), "--junit-xml", str(tmp_path / "j.xml"))
    assert loud.exit_code == 5
    written = (loud.output + log.read_text() + Path(loud.args[-1]).read_text()
               + (tmp_path / "j.xml").read_text())
    assert "access denied" in written
    assert SECRET not in written


def test_right_password_from_env_connects(rig_runner: RigRunner, password_user: str) -> None:
    run = rig_runner.run_on_server("--user", password_user, env={"RIG_PASSWORD": SECRET})
    assert run.exit_code == 0, run.stderr
    assert SECRET not in run.output


@pytest.fixture(scope="module", params=["Pässwörd9", "Pä€wörd密码", "\u2603-snow"])
def unicode_password_user(request: pytest.FixtureRequest,
                          rig_server: ServerDSN) -> Iterator[tuple[str, str]]:
    """A user whose password has non-ASCII characters (created over a utf8mb4 connection, as
    the mysql client does), and that password."""
    password = request.param
    name = f"rig_u8_{uuid.uuid4().hex[:8]}"
    with rig_server.connect(charset="utf8mb4") as conn, conn.cursor() as cursor:
        for host in ("%%", "localhost"):  # %% is the pattern %, once the parameter is in
            cursor.execute(f"CREATE USER '{name}'@'{host}' IDENTIFIED BY %s", (password,))
    yield name, password
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{name}'@'%', '{name}'@'localhost'")


def test_a_non_ascii_password_logs_in(rig_runner: RigRunner,
                                      unicode_password_user: tuple[str, str]) -> None:
    """The password goes to the server as UTF-8 (PyMySQL's default is latin-1: "access
    denied", or a codec error quoting the character)."""
    user, password = unicode_password_user
    from_env = rig_runner.run_on_server("--user", user, "-p", "no:basic",
                                        env={"RIG_PASSWORD": password})
    assert from_env.exit_code == 0, from_env.stderr
    from_flag = rig_runner.run_on_server("--user", user, f"--password={password}",
                                         "-p", "no:basic")
    assert from_flag.exit_code == 0, from_flag.stderr
    wrong = rig_runner.run_on_server("--user", user, env={"RIG_PASSWORD": password + "€"},
                                     report=False)
    assert wrong.exit_code == 5
    assert_one_error_line(wrong.stderr, f"access denied for user '{user}'")
    assert password not in wrong.output and "€" not in wrong.output


@pytest.fixture
def http_server() -> Iterator[int]:
    """A port on 127.0.0.1 where an HTTP server answers every connection with a 400."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refuse(BaseHTTPRequestHandler):
        def setup(self) -> None:  # answer at once, as some proxies do, without a request
            super().setup()
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        def handle(self) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_port_that_speaks_another_protocol_says_so(rig_runner: RigRunner,
                                                     http_server: int) -> None:
    run = rig_runner.run("--host", f"127.0.0.1:{http_server}", "--retry-attempts", "1")
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, f"127.0.0.1:{http_server} does not speak the MySQL "
                          "protocol (Packet sequence number wrong", "check --host and --port "
                          "(TiDB listens on 4000, MySQL and MariaDB on 3306)")


def test_an_account_that_logs_in_another_way_says_so(rig_runner: RigRunner,
                                                     rig_server: ServerDSN) -> None:
    """MariaDB's unix_socket accounts answer a TCP login with 1698, not 1045."""
    name = f"rig_sock_{uuid.uuid4().hex[:8]}"
    with rig_server.connect() as conn, conn.cursor() as cursor:
        try:
            cursor.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED VIA unix_socket")
        except Exception as exc:  # a server without the plugin
            pytest.skip(f"this server has no unix_socket authentication: {exc}")
    try:
        run = rig_runner.run_on_server("--user", name)
    finally:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{name}'@'%%'")
    assert run.exit_code == 5
    assert_one_error_line(
        run.stderr, f"access denied for user '{name}' at {rig_server.address}: the account "
        "logs in another way (such as unix_socket on the server's own machine), not with a "
        "password over TCP", "give an account that logs in with a password, or check --user")


def test_password_prompt_without_a_terminal_is_a_usage_error(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--password", report=False)
    assert run.exit_code == 4
    assert_one_error_line(run.stderr, "--password was given without a value and there is no "
                          "terminal", "set RIG_PASSWORD")


def test_unknown_database_exits_5(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--database", "no_such_database_here")
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, "database 'no_such_database_here' does not exist",
                          "create it or check --database")


@pytest.mark.parametrize("database", ["existing", "missing"])
def test_a_database_the_user_may_not_see_is_not_said_to_be_missing(
        rig_runner: RigRunner, rig_server: ServerDSN, password_user: str,
        database: str) -> None:
    """The server answers a user without privileges the same for a database it may not see
    and for one that does not exist (1044): rig says both, and what to grant."""
    name = f"rig_hidden_{uuid.uuid4().hex[:8]}"
    if database == "existing":
        with rig_server.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
    try:
        run = rig_runner.run_on_server("--user", password_user, "--database", name,
                                       env={"RIG_PASSWORD": SECRET})
    finally:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    assert run.exit_code == 5
    assert_one_error_line(
        run.stderr, f"user '{password_user}' may not use database '{name}' at "
        f"{rig_server.address}, or it does not exist", f"grant it (GRANT ALL ON `{name}`.* TO "
        f"'{password_user}'@'%'), or check --database")


def test_unknown_host_exits_5(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--host", "no-such-host.invalid:3306")
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, "unknown host 'no-such-host.invalid'", "check --host")


def test_connect_timeout_exits_5(rig_runner: RigRunner, silent_server: int) -> None:
    run = rig_runner.run("--host", f"127.0.0.1:{silent_server}", "--connect-timeout", "0.3",
                         "--retry-attempts", "1")
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, f"127.0.0.1:{silent_server}")
    assert "timed out" in run.stderr or "lost the connection" in run.stderr


def test_tls_required_against_a_server_without_tls_exits_5(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--ssl-mode", "required")
    assert run.exit_code == 5
    assert_one_error_line(run.stderr, "TLS failed with", "doesn't support it")


def test_a_verbose_run_shows_the_traceback(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--config", "/no/such/file.toml", "-v", report=False)
    assert run.exit_code == 4
    assert "Traceback" in run.stderr


def test_rig_with_no_options_and_nothing_listening_exits_5(tmp_path: Path) -> None:
    """The default --host is 127.0.0.1:4000 (what --help says); nothing there is an error,
    never a run that tested nothing and exited 0."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 4000)) == 0:
            pytest.skip("something listens on 127.0.0.1:4000 on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    env["HOME"] = str(tmp_path)  # no ~/.config/rig/rig.toml
    done = subprocess.run([sys.executable, "-m", "rig", "--retry-attempts", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 5
    assert_one_error_line(done.stderr, "connection refused by 127.0.0.1:4000",
                          "give --host HOST:PORT or --port PORT (default 127.0.0.1:4000), "
                          "or --sandbox")
    bare = subprocess.run([sys.executable, "-m", "rig"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert bare.returncode == 5
    assert_one_error_line(bare.stderr, "connection refused by 127.0.0.1:4000")


def test_port_alone_applies_to_the_default_host(rig_runner: RigRunner) -> None:
    """``rig --port N`` (what a mysql client user types) tests 127.0.0.1:N, not :4000."""
    server = rig_runner.server
    assert server is not None
    if server.host != "127.0.0.1":
        pytest.skip("the test server is not on 127.0.0.1")
    run = rig_runner.run("--port", str(server.port), "--user", server.user,
                         *(["--database", server.database] if server.database else []),
                         "-p", "no:basic", env=server.rig_env())
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    [connection] = run.report["connections"]
    assert (connection["host"], connection["port"]) == ("127.0.0.1", server.port)


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--host", "db.example.com"], {}, "--host (from command line)"),
    (["--port", "3306"], {}, "--port (from command line)"),
    (["--user", "alice"], {}, "--user (from command line)"),
    (["--password=pw-S3cret"], {}, "--password (from command line)"),
    (["--password"], {}, "--password (from command line)"),  # no prompt for it first
    ([], {"RIG_PASSWORD": "pw-S3cret"}, "--password (from env RIG_PASSWORD)"),
], ids=["host", "port", "user", "password", "password-prompt", "password-env"])
def test_sandbox_with_an_option_it_would_ignore_is_a_usage_error(
        rig_runner: RigRunner, args: list[str], env: dict[str, str], named: str) -> None:
    """The sandbox is its own server, logged in as root without a password: an option naming
    another server or login is a mistake, said before anything starts or prompts."""
    run = rig_runner.run("--sandbox", *args, env=env, report=False)
    assert run.exit_code == 4
    assert run.stderr == f"rig: error: --sandbox starts its own server, but {named} names " \
        "another server or login: drop one of them\n"


SLOW_QUERY = "SELECT SLEEP(1.2) AS slow"


def test_a_query_may_run_longer_than_the_connect_timeout(rig_runner: RigRunner) -> None:
    """--connect-timeout bounds the login handshake only: after it, queries may take long."""

    def slow(ctx: rig.Context) -> None:
        ctx.require_connection().scalar(SLOW_QUERY)
        ctx.check("slow_query", rig.Verdict.PASS, "returned")

    plugin = make_plugin(
        rig_register_states=lambda registry: registry.add_state("slow_querying", slow))
    run = rig_runner.run_on_server("--connect-timeout", "0.4", "--plugin", "slow",
                                   plugins=[("slow", plugin)])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert {"name": "slow_query", "verdict": "pass"}.items() <= run.report["checks"][-1].items()


def test_losing_the_server_mid_run_exits_5(rig_runner: RigRunner) -> None:
    """The server goes away while a state works; the retry cannot reconnect: exit 5, one line
    naming the server."""
    box = rig.Sandbox()
    box.start()
    try:
        def lose_it(ctx: rig.Context) -> None:
            box.stop()
            ctx.retry(lambda connection: connection.scalar("SELECT 1"), operation="select 1")

        plugin = make_plugin(
            rig_register_states=lambda registry: registry.add_state("lose_losing", lose_it))
        run = rig_runner.run("--host", box.address, "--user", box.user, "--retry-attempts", "2",
                             "--plugin", "lose", plugins=[("lose", plugin)])
    finally:
        box.stop()
    assert run.exit_code == 5, run.stderr
    assert_one_error_line(run.stderr, f"connection refused by {box.address}")
    assert run.report is not None and run.report["connections"][0]["error"]["exit_code"] == 5

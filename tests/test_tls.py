"""TLS modes against a real sandbox server holding a certificate from a throwaway CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rig.db.sandbox import Sandbox
from rig.testing import RigRunner, ServerDSN


@pytest.fixture(scope="module")
def tls_server() -> Iterator[Sandbox]:
    with Sandbox(tls=True) as box:
        yield box


@pytest.fixture
def tls_runner(tmp_path: Path, tls_server: Sandbox) -> RigRunner:
    return RigRunner(tmp_path, ServerDSN(tls_server.host, tls_server.port))


@pytest.mark.parametrize("mode", ["preferred", "required"])
def test_tls_is_used_and_reported(tls_runner: RigRunner, mode: str) -> None:
    run = tls_runner.run_on_server("--ssl-mode", mode)
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    tls = run.report["connections"][0]["tls"]
    assert tls["version"].startswith("TLS")
    assert tls["cipher"]
    assert run.section("basic")["c1"]["session"]["tls_cipher"] == tls["cipher"]
    assert {"verdict": "pass", "name": "tls"}.items() <= next(
        c for c in run.report["checks"] if c["name"] == "tls").items()


def test_verify_identity_with_the_right_ca(tls_runner: RigRunner, tls_server: Sandbox) -> None:
    assert tls_server.tls_files is not None
    run = tls_runner.run_on_server("--ssl-mode", "verify-identity", "--ssl-ca",
                                   str(tls_server.tls_files.ca))
    assert run.exit_code == 0, run.stderr


def test_verify_ca_with_a_foreign_ca_exits_5(tls_runner: RigRunner, tmp_path: Path) -> None:
    import trustme

    foreign = tmp_path / "foreign-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(foreign))
    run = tls_runner.run_on_server("--ssl-mode", "verify-ca", "--ssl-ca", str(foreign))
    assert run.exit_code == 5
    assert "TLS certificate check failed" in run.stderr
    assert "--ssl-ca" in run.stderr


def test_disabled_mode_connects_in_plain_text(tls_runner: RigRunner) -> None:
    run = tls_runner.run_on_server("--ssl-mode", "disabled")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert run.report["connections"][0]["tls"] is None

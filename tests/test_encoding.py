"""Bytes that are not UTF-8 on the command line or in a RIG_* variable (Python hands them over
as lone surrogates): refused for every option with one usage line naming the option, the value
shown with the bad bytes escaped — never a secret's value or its bytes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import rig
from rig.testing import RigRunner, ServerDSN, make_plugin

BAD = "\udcff"
"""The byte 0xff as Python decodes it from argv or the environment (surrogateescape)."""

PLAIN = [("--database", "-D/--database"), ("--host", "--host"), ("--user", "-u/--user")]


@pytest.mark.parametrize(("option", "named"), PLAIN)
def test_a_non_utf8_value_is_one_usage_line_with_the_byte_escaped(
        rig_runner: RigRunner, option: str, named: str) -> None:
    run = rig_runner.run_on_server(option, f"d{BAD}b", report=False)
    assert run.exit_code == 4, run.output
    assert run.stderr == (f"rig: error: argument {named}: invalid value 'd\\xffb': is not valid "
                          "UTF-8: give it as UTF-8 text (check the locale it was typed in) "
                          "(from command line)\n")


def test_a_non_utf8_value_in_the_environment_names_the_variable(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server(env={"RIG_DATABASE": f"caf{BAD}"}, report=False)
    assert run.exit_code == 4
    assert run.stderr.startswith("rig: error: argument -D/--database: invalid value 'caf\\xff': "
                                 "is not valid UTF-8")
    assert run.stderr.endswith("(from env RIG_DATABASE)\n")


@pytest.mark.parametrize("given", ["cli", "cli=", "env"])
def test_a_non_utf8_password_is_refused_unseen(rig_runner: RigRunner, given: str) -> None:
    secret = f"S3cr{BAD}tPw"
    args = {"cli": ["--password", secret], "cli=": [f"--password={secret}"], "env": []}[given]
    env = {"RIG_PASSWORD": secret} if given == "env" else {}
    run = rig_runner.run_on_server(*args, env=env, report=False)
    assert run.exit_code == 4
    source = "env RIG_PASSWORD" if given == "env" else "command line"
    assert run.stderr == ("rig: error: argument --password: invalid value ***: is not valid "
                          "UTF-8: give it as UTF-8 text (check the locale it was typed in) "
                          f"(from {source})\n")


def test_a_plugins_secret_option_is_refused_unseen(rig_runner: RigRunner) -> None:
    def rig_addoption(parser: rig.OptionParser) -> None:
        parser.getgroup("acme").addoption("--acme-token", secret=True)

    acme = make_plugin(rig_addoption=rig_addoption)
    run = rig_runner.run_on_server(env={"RIG_ACME_TOKEN": f"t0k{BAD}n"},
                                   plugins=[("acme", acme)], report=False)
    assert run.exit_code == 4
    assert run.stderr.startswith("rig: error: argument --acme-token: invalid value ***: ")
    assert "t0k" not in run.stderr and "xff" not in run.stderr


def _rig(args: list[bytes], env: dict[bytes, bytes]) -> subprocess.CompletedProcess[bytes]:
    """``python -m rig ARGS`` in a subprocess whose arguments and environment are bytes."""
    base = {key.encode(): value.encode() for key, value in os.environ.items()
            if not key.startswith("RIG_")}
    return subprocess.run([os.fsencode(sys.executable), b"-m", b"rig", *args],
                          env={**base, **env}, capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize(("option", "named"), PLAIN)
def test_a_real_process_given_bytes_exits_4(rig_server: ServerDSN, option: str,
                                            named: str) -> None:
    server = [b"--host", rig_server.address.encode(), b"--user", rig_server.user.encode()]
    env = {b"RIG_PASSWORD": rig_server.password.encode()} if rig_server.password else {}
    args = [*server, option.encode(), b"caf\xe9"]  # Latin-1, as a terminal might send it
    done = _rig(args, env)
    assert done.returncode == 4, done.stderr
    assert done.stderr == (f"rig: error: argument {named}: invalid value 'caf\\xe9': is not "
                           "valid UTF-8: give it as UTF-8 text (check the locale it was typed "
                           "in) (from command line)\n").encode()


@pytest.mark.parametrize("where", ["argv", "env"])
def test_a_real_process_never_echoes_a_non_utf8_password(rig_server: ServerDSN,
                                                         where: str) -> None:
    server = [b"--host", rig_server.address.encode(), b"--user", rig_server.user.encode()]
    password = b"Geheim\xe4\xff!"
    args = [*server, b"--password", password] if where == "argv" else server
    env = {b"RIG_PASSWORD": password} if where == "env" else {}
    done = _rig(args, env)
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith(b"rig: error: argument --password: invalid value ***: is "
                                  b"not valid UTF-8")
    assert done.stderr.count(b"\n") == 1
    for leak in (b"Geheim", b"\xe4", b"\xff", b"xe4", b"xff", b"udc"):
        assert leak not in done.stderr + done.stdout


def test_bytes_in_an_unknown_argument_are_shown_as_bytes() -> None:
    done = _rig([b"--us\xffer", b"x"], {})
    assert done.returncode == 4
    assert done.stderr == b"rig: error: unrecognized arguments: --us\\xffer x: did you mean " \
                          b"--user?\n"

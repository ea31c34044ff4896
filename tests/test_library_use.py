"""``rig.run()`` as a library call: it leaves the calling program's loguru sinks and stdlib
logging as it found them, and keeps nothing from one run to the next."""

from __future__ import annotations

import io
import logging

from loguru import logger

import rig
from rig.testing import ServerDSN


def run_quietly(rig_server: ServerDSN, *args: str) -> tuple[int, str]:
    err = io.StringIO()
    code = rig.run([*rig_server.rig_args(), "--basic-ping-count", "2", *args],
                   environ=rig_server.rig_env(), stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def test_run_leaves_the_callers_loguru_sinks_and_logging_handlers(
        rig_server: ServerDSN) -> None:
    mine = io.StringIO()
    sink = logger.add(mine, level="DEBUG", format="{message}")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        code, err = run_quietly(rig_server, "-v")
        assert code == 0, err
        logger.info("the caller logs after the run")
        logging.getLogger("caller").error("stdlib after the run")
    finally:
        logger.remove(sink)
    assert "the caller logs after the run" in mine.getvalue()  # the caller's sink is still there
    assert "the caller logs after the run" not in err  # the run's sink is gone
    assert "stdlib after the run" not in mine.getvalue()  # stdlib is no longer routed to loguru
    assert root.handlers == handlers and root.level == level
    assert "→" in mine.getvalue()  # rig's records reached the caller's sink, as any library's


def test_runs_do_not_share_tls_knowledge(rig_server: ServerDSN) -> None:
    """The sandbox has no TLS: in ``preferred`` mode each run probes it once and goes plain;
    nothing is remembered from one run to the next (no process-wide cache)."""
    for _ in range(2):
        code, err = run_quietly(rig_server, "-vv", "--ssl-mode", "preferred")
        assert code == 0, err

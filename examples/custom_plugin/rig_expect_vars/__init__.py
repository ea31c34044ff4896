"""rig plugin expect_vars: check server variables against the values you expect.

``rig --plugin expect_vars --expect-vars-var autocommit=ON --expect-vars-var max_connections=151``
makes one check per variable. Written from docs/plugin-guide.md; it imports only ``rig``.

It follows rig's naming rule: its option is ``--expect-vars-var`` (``--<plugin>-<name>``), its
state ``expect_vars_checking`` (``<plugin>_<what>``), its data key ``"expect_vars.actual"``.
"""

from __future__ import annotations

from typing import Any

import rig

__version__ = "0.2.0"

PLUGIN = "expect_vars"

ACTUAL: rig.Key[dict[str, str | None]] = rig.Key("expect_vars.actual")


def expectation(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` → ``(name, value)``; a ``ValueError`` makes rig exit 4 naming the option,
    the value and where it came from."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError("must look like NAME=VALUE, e.g. autocommit=ON")
    return name.strip().lower(), value.strip()


class CheckVariables:
    """Reads each expected variable with ``SHOW GLOBAL VARIABLES`` and compares it."""

    def execute(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        actual: dict[str, str | None] = {}
        for name, expected in ctx.config.getoption("expect_vars_var"):
            # The name is passed as a value (%s), never pasted into the SQL text.
            rows = connection.query("SHOW GLOBAL VARIABLES WHERE Variable_name = %s", (name,))
            value = str(rows[0]["Value"]) if rows else None
            actual[name] = value
            if value is None:
                ctx.check(f"var:{name}", rig.Verdict.FAIL, f"the server has no variable {name}")
            elif value.lower() == expected.lower():
                ctx.check(f"var:{name}", rig.Verdict.PASS, f"{name} = {value}")
            else:
                ctx.check(f"var:{name}", rig.Verdict.FAIL,
                          f"{name} = {value}, expected {expected}")
        ctx.data[ACTUAL] = actual  # a dict of str: what rig_report returns must be JSON


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    group = parser.getgroup(PLUGIN, "expect_vars plugin: server variables")
    group.addoption("--expect-vars-var", action="append", type=expectation,
                    metavar="NAME=VALUE",
                    help="a global variable and its expected value (repeatable)")


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    # The plugin cannot run without an expectation: config.require exits 4 saying how to give
    # one (an option added with required=True would break every run without this plugin).
    config.require("expect_vars_var")


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("expect_vars_checking", CheckVariables(),
                       description="compare server variables with --expect-vars-var")


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any]:
    return {conn.id: conn.data.get(ACTUAL) if conn.data else None
            for conn in result.connections}

"""Several connections at once, in the simplest form: every connection runs the same workflow
in its own thread, they meet at a barrier, and the run reports each of them.

    python examples/simple_multi_connection.py                      # a throwaway sandbox
    python examples/simple_multi_connection.py --host 127.0.0.1:3306 --user root --connections 8

Without ``--host`` the script starts a sandbox server (``rig.Sandbox``: mariadbd, mysqld or
tidb-server from the PATH) and removes it afterwards. Other arguments are rig's options.
"""

from __future__ import annotations

import sys
import time

import rig

ARRIVAL: rig.Key[int] = rig.Key("simple.arrival")


class Greeting:
    """An in-process plugin with one state: each connection takes a ticket, learns its server
    session id, waits until every live connection got that far, then reports."""

    @rig.hookimpl
    def rig_register_states(self, registry: rig.StateRegistry) -> None:
        registry.add_state("meeting", self.meeting,
                           description="take a ticket, then wait for the others")

    def meeting(self, ctx: rig.Context) -> None:
        ticket = ctx.shared.update("tickets", lambda n: (n or 0) + 1)
        ctx.data[ARRIVAL] = ticket
        session = ctx.require_connection().server_thread_id
        began = time.perf_counter()
        everyone = ctx.shared.wait_all_ready("met", timeout=30)
        waited = (time.perf_counter() - began) * 1000
        ctx.check("met", rig.Verdict.PASS if everyone else rig.Verdict.FAIL,
                  f"ticket {ticket} of {ctx.shared.parties}, server session {session}, "
                  f"waited {waited:.1f} ms for the others")


def main(argv: list[str]) -> int:
    args = argv if "--connections" in argv else [*argv, "--connections", "4"]
    if any(arg == "--host" or arg.startswith("--host=") for arg in argv):
        return rig.run(["--plugin", "greeting", *args], plugins=[("greeting", Greeting())])
    with rig.Sandbox() as box:
        return rig.run(["--plugin", "greeting", "--host", box.address, "--user", box.user,
                        *args], plugins=[("greeting", Greeting())])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

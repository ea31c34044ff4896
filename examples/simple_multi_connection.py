"""Several connections at once, in the simplest form: every connection runs the same workflow
in its own thread, they meet at a barrier, and the run reports each of them.

    python examples/simple_multi_connection.py                      # a throwaway sandbox
    python examples/simple_multi_connection.py --host 127.0.0.1:3306 --user root --connections 8

Without ``--host`` the script asks rig for a sandbox server (``--sandbox``: mariadbd, mysqld or
tidb-server from the PATH), which rig removes at the end. Other arguments are rig's options.
"""

from __future__ import annotations

import sys
import time

import rig

# Typed keys, named after the plugin ("<plugin>.<what>"): ctx.shared holds values every
# connection sees, ctx.data the values of one connection.
TICKETS: rig.Key[int] = rig.Key("greeting.tickets")
ARRIVAL: rig.Key[int] = rig.Key("greeting.arrival")


class Greeting:
    """An in-process plugin with one state: each connection takes a ticket, learns its server
    session id, waits until every live connection got that far, then reports."""

    @rig.hookimpl
    def rig_register_states(self, registry: rig.StateRegistry) -> None:
        registry.add_state("greeting_meeting", self.meeting,
                           description="take a ticket, then wait for the others")

    def meeting(self, ctx: rig.Context) -> None:
        # update() reads and replaces under the shared lock: no two connections get the same
        # ticket. The function gets None the first time.
        ticket = ctx.shared.update(TICKETS, lambda n: (n or 0) + 1)
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
    if not any(arg == "--host" or arg.startswith("--host=") for arg in argv):
        args = [*args, "--sandbox"]
    return rig.run(["--plugin", "greeting", *args], plugins=[("greeting", Greeting())])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Event-driven coordination between connections: one connection monitors a job table while
the others work through it.

    python examples/multi_connection_example.py                     # a throwaway sandbox
    python examples/multi_connection_example.py --host 127.0.0.1:3306 --user root --connections 5

- ``c1`` is the monitor: it creates the database ``rig_jobs_example`` with a table of pending
  jobs, then follows the workers' progress events until every job is done;
- every other connection is a worker: it waits at a barrier until the jobs exist, claims one
  job at a time (an atomic ``UPDATE``, so two workers never take the same job), marks it
  done, and publishes a ``progress`` event; ``finished`` when no job is left;
- the monitor drops the database at the end, also after a failure (a ``cleanup`` state).

A worker that fails is isolated: the others finish its share, and the monitor stops waiting
for it. Without ``--host`` a sandbox server is started and removed afterwards.
"""

from __future__ import annotations

import queue
import sys

import rig

DATABASE = "rig_jobs_example"
JOBS_PER_WORKER = 5
MONITOR = "c1"
IDLE_TIMEOUT_S = 15.0
DONE: rig.Key[int] = rig.Key("jobs.done")


class JobsExample:
    """The in-process plugin: states ``setting_up``, ``working``, ``tearing_down``."""

    @rig.hookimpl
    def rig_register_states(self, registry: rig.StateRegistry) -> None:
        registry.add_state("setting_up", self.setting_up,
                           description="the monitor creates the jobs; everyone waits for it")
        registry.add_state("working", self.working,
                           description="workers take jobs; the monitor follows their events")
        registry.add_state("tearing_down", self.tearing_down, cleanup=True,
                           description="the monitor drops the database")

    def setting_up(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        if ctx.connection_id == MONITOR:
            jobs = JOBS_PER_WORKER * max(ctx.shared.parties - 1, 1)
            db = rig.quote_identifier(DATABASE)
            connection.execute(f"DROP DATABASE IF EXISTS {db}")
            connection.execute(f"CREATE DATABASE {db}")
            connection.execute(f"CREATE TABLE {db}.jobs (id INT PRIMARY KEY, "
                               "status VARCHAR(10) NOT NULL, worker VARCHAR(10))")
            connection.execute(f"INSERT INTO {db}.jobs VALUES "
                               + ", ".join(f"({n}, 'pending', NULL)" for n in range(1, jobs + 1)))
            ctx.shared.set("jobs", jobs)
            ctx.log.info("created {} jobs", jobs)
        ctx.shared.wait_all_ready("jobs_created")  # workers start only once the jobs exist
        connection.execute(f"USE {rig.quote_identifier(DATABASE)}")

    def working(self, ctx: rig.Context) -> None:
        if ctx.connection_id == MONITOR:
            self._monitor(ctx)
        else:
            self._work(ctx)

    def _work(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        me = ctx.connection_id
        done = 0
        while not ctx.cancelled:
            claimed = connection.execute(
                "UPDATE jobs SET status = 'running', worker = %s WHERE status = 'pending' "
                "ORDER BY id LIMIT 1", (me,))
            if not claimed:
                break
            job = connection.scalar("SELECT id FROM jobs WHERE worker = %s AND "
                                    "status = 'running'", (me,))
            connection.scalar("SELECT SLEEP(0.02)")  # the work
            connection.execute("UPDATE jobs SET status = 'done' WHERE id = %s", (job,))
            done += 1
            ctx.shared.publish("progress", me, job=job)
        ctx.data[DONE] = done
        ctx.shared.publish("finished", me, done=done)
        ctx.check("worker", rig.Verdict.PASS, f"did {done} jobs")

    def _monitor(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        jobs = int(ctx.shared.get("jobs"))
        workers = ctx.shared.parties - 1
        finished: set[str] = set()
        progress, remaining = 0, jobs
        while not ctx.cancelled and (remaining or len(finished) < workers):
            try:  # once all jobs are done, wait briefly for the workers' "finished"
                event = ctx.shared.events.get(timeout=IDLE_TIMEOUT_S if remaining else 1.0)
            except queue.Empty:
                break
            if event.name == "progress":
                progress += 1
                if progress % max(jobs // 4, 1) == 0:
                    ctx.log.info("{}/{} jobs done (last: job {} by {})", progress, jobs,
                                 event.data["job"], event.sender)
            elif event.name == "finished":
                finished.add(event.sender)
            remaining = connection.scalar("SELECT COUNT(*) FROM jobs WHERE status <> 'done'")
        remaining = connection.scalar("SELECT COUNT(*) FROM jobs WHERE status <> 'done'")
        verdict = rig.Verdict.PASS if remaining == 0 else rig.Verdict.FAIL
        ctx.check("jobs", verdict, f"{jobs - remaining}/{jobs} jobs done; progress events "
                  f"{progress}; {len(finished)} worker(s) reported finished")

    def tearing_down(self, ctx: rig.Context) -> None:
        if ctx.connection_id == MONITOR and ctx.connection is not None:
            ctx.connection.execute(f"DROP DATABASE IF EXISTS {rig.quote_identifier(DATABASE)}")


def main(argv: list[str]) -> int:
    args = argv if "--connections" in argv else [*argv, "--connections", "4"]
    plugins = [("jobs_example", JobsExample())]
    if any(arg == "--host" or arg.startswith("--host=") for arg in argv):
        return rig.run(["--plugin", "jobs_example", *args], plugins=plugins)
    with rig.Sandbox() as box:
        return rig.run(["--plugin", "jobs_example", "--host", box.address, "--user", box.user,
                        *args], plugins=plugins)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

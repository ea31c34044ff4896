"""Event-driven coordination between connections: one connection monitors a job table while
the others work through it.

    python examples/multi_connection_example.py                     # a throwaway sandbox
    python examples/multi_connection_example.py --host 127.0.0.1:3306 --user root --connections 5

- ``c1`` is the monitor: it creates a scratch database with a table of pending jobs, shares the
  database's name and the number of jobs through ``ctx.shared``, then follows the workers'
  progress events until every job is done;
- every other connection is a worker: it waits at a barrier until the jobs exist, claims one
  job at a time (an atomic ``UPDATE``, so two workers never take the same job), marks it
  done, and publishes a ``progress`` event; ``finished`` when no job is left.

The example drops nothing itself: rig drops the scratch database when the run ends, also after
a failure or Ctrl-C (``--keep-tables`` keeps it). A worker that fails is isolated: the others
finish its share, and the monitor stops waiting for it. Without ``--host`` rig starts a sandbox
server (``--sandbox``) and removes it afterwards.
"""

from __future__ import annotations

import queue
import sys
import uuid

import rig

JOBS_PER_WORKER = 5
MONITOR = "c1"
IDLE_TIMEOUT_S = 15.0

# Typed keys named after the plugin. In ctx.shared (every connection): the scratch database
# and the number of jobs, set by the monitor. In ctx.data (one connection): the jobs it did.
DATABASE: rig.Key[str] = rig.Key("jobs_example.database")
JOBS: rig.Key[int] = rig.Key("jobs_example.jobs")
DONE: rig.Key[int] = rig.Key("jobs_example.done")


class JobsExample:
    """The in-process plugin: states ``jobs_example_setting_up`` and ``jobs_example_working``."""

    @rig.hookimpl
    def rig_register_states(self, registry: rig.StateRegistry) -> None:
        registry.add_state("jobs_example_setting_up", self.setting_up,
                           description="the monitor creates the jobs; everyone waits for it")
        registry.add_state("jobs_example_working", self.working,
                           description="workers take jobs; the monitor follows their events")

    def setting_up(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        if ctx.connection_id == MONITOR:
            jobs = JOBS_PER_WORKER * max(ctx.shared.parties - 1, 1)
            # Scratch data: a database the run creates (a new name, so two runs never meet)
            # and a table in it; rig drops both when the run ends.
            database = ctx.scratch.database(connection,
                                            f"rig_jobs_example_{uuid.uuid4().hex[:8]}").name
            ctx.scratch.create_table(connection, database, "jobs",
                                     "(id INT PRIMARY KEY, status VARCHAR(10) NOT NULL, "
                                     "worker VARCHAR(10))")
            connection.execute(f"INSERT INTO {rig.quote_identifier(database)}.jobs VALUES "
                               + ", ".join(f"({n}, 'pending', NULL)" for n in range(1, jobs + 1)))
            with ctx.shared.lock() as store:  # both values at once, for whoever reads them
                store[DATABASE] = database
                store[JOBS] = jobs
            ctx.log.info("created {} jobs in {}", jobs, database)
        ctx.shared.wait_all_ready("jobs_created")  # workers start only once the jobs exist
        database = ctx.shared.get(DATABASE)
        if database is None:  # the barrier stops waiting for a connection that failed
            raise RuntimeError(f"the monitor ({MONITOR}) failed before it created the jobs")
        connection.execute(f"USE {rig.quote_identifier(database)}")

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
        jobs = ctx.shared.get(JOBS, 0)
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


def main(argv: list[str]) -> int:
    args = argv if "--connections" in argv else [*argv, "--connections", "4"]
    if not any(arg == "--host" or arg.startswith("--host=") for arg in argv):
        args = [*args, "--sandbox"]
    return rig.run(["--plugin", "jobs_example", *args], plugins=[("jobs_example", JobsExample())])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The chaos schedule: the grammar, every malformed piece refused with one line (exit 4), and a
random nemesis that the same seed reproduces."""

from __future__ import annotations

import pytest

import rig_chaos
from rig.testing import RigRunner
from rig_chaos.schedule import ScheduleError, parse_schedule, random_schedule

PLUGINS = [("chaos", rig_chaos)]


def test_a_schedule_reads_kinds_parameters_starts_and_durations() -> None:
    faults = parse_schedule("kill@5s, pause@12s+3s, latency=200ms±50ms@20s+10s, "
                            "bandwidth=64kB@40s+2s, partial=0.5@1m+500ms, reset@70, cpu=2@80s+1s")
    assert [(f.kind, f.start_s, f.duration_s, f.params) for f in faults] == [
        ("kill", 5.0, None, {}), ("pause", 12.0, 3.0, {}),
        ("latency", 20.0, 10.0, {"delay_s": 0.2, "jitter_s": 0.05}),
        ("bandwidth", 40.0, 2.0, {"bytes_per_s": 64000}),
        ("partial", 60.0, 0.5, {"fraction": 0.5}), ("reset", 70.0, None, {}),
        ("cpu", 80.0, 1.0, {"processes": 2})]
    assert faults[2].label == "latency=200ms±50ms"


@pytest.mark.parametrize(("schedule", "says"), [
    ("kill", "'kill' has no start: write KIND[=PARAMS]@START[+DURATION]"),
    ("boom@3s", "'boom@3s': unknown fault 'boom': choose from kill, restart, pause"),
    ("pause@3s", "'pause@3s': pause needs a duration (write pause@3s+3s)"),
    ("latency@3s+1s", "latency needs a value (write latency=200ms±50ms)"),
    ("reset@3s+1s", "reset takes no duration (write reset@START)"),
    ("pause@soon+1s", "'soon' is not a time (write 5s, 500ms or 1m)"),
    ("partial=2@1s+1s", "'2' is not a fraction between 0 and 1"),
    ("bandwidth=fast@1s+1s", "'fast' is not a rate"),
    ("kill=9@1s", "kill takes no parameters"),
    ("pause@1s+5s, kill@2s", "kill@2s starts before pause@1s+5s ends: start it later"),
    (" , ", "the schedule is empty"),
])
def test_a_malformed_schedule_is_one_line_naming_the_piece_and_the_fix(
        rig_runner: RigRunner, schedule: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=None) as caught:
        parse_schedule(schedule)
    assert says in str(caught.value)
    run = rig_runner.run("--plugin", "chaos", "--chaos", schedule, plugins=PLUGINS)
    assert run.exit_code == 4, run.output
    lines = [line for line in run.stderr.splitlines() if line.startswith("rig:")]
    assert len(lines) == 1 and "argument --chaos: invalid value" in lines[0], run.stderr
    assert says in lines[0]
    assert "Traceback" not in run.output


def test_a_random_nemesis_is_the_same_for_the_same_seed() -> None:
    def draw(seed: int) -> list[tuple[str, float]]:
        return [(f.kind, f.start_s) for f in random_schedule(
            ["kill", "pause", "partition"], interval_s=4, fault_duration_s=1, seed=seed,
            horizon_s=40)]
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
    assert all(4 * (n + 1) <= start <= 4 * (n + 2) - 1 for n, (_, start) in enumerate(draw(7)))


def test_a_random_run_reports_its_seed_and_the_schedule_the_seed_gives(
        rig_runner: RigRunner) -> None:
    """With chaos alone (no workload), the whole random schedule runs on the sandbox."""
    run = rig_runner.run("--sandbox", "--plugin", "chaos", "--chaos-random", "cpu",
                         "--chaos-seed", "3", "--chaos-interval", "1",
                         "--chaos-fault-duration", "0.2", "--duration", "3", plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    section = run.section("chaos")
    assert (section["mode"], section["seed"]) == ("random", 3)
    expected = random_schedule(["cpu"], interval_s=1, fault_duration_s=0.2, seed=3,
                               horizon_s=3)
    assert section["schedule"] == [fault.as_json() for fault in expected]
    assert [fault["verdict"] for fault in section["faults"]] == ["pass", "pass"]


@pytest.mark.parametrize(("args", "says"), [
    (("--chaos", "kill@1s"), "--chaos kill would hurt a server chaos was not given: run with "
     "--sandbox, or name a local server you own"),
    (("--chaos", "cpu@1s+1s", "--chaos-server-pid", "1"),
     "--chaos-server-pid alone does not let chaos hurt a server"),
    ((), "argument --chaos: not set: give a schedule with --chaos"),
    (("--chaos-random", "kill", "--chaos-fault-duration", "9"),
     "--chaos-fault-duration 9 is not shorter than --chaos-interval 5"),
])
def test_chaos_refuses_what_it_may_not_do_with_one_line(
        rig_runner: RigRunner, args: tuple[str, ...], says: str) -> None:
    run = rig_runner.run("--host", "127.0.0.1:1", "--plugin", "chaos", *args, plugins=PLUGINS)
    assert run.exit_code == 4, run.output
    lines = [line for line in run.stderr.splitlines() if line.startswith("rig:")]
    assert len(lines) == 1 and says in lines[0], run.stderr


def test_a_malformed_schedule_is_refused_before_the_sandbox_starts(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox", "--plugin", "chaos", "--chaos", "kil@5s",
                         plugins=PLUGINS)
    assert run.exit_code == 4, run.output
    assert "unknown fault 'kil'" in run.stderr
    assert "sandbox" not in run.stderr  # no server was started for a run that cannot be

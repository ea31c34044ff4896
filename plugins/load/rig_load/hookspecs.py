"""Hooks the load plugin adds, so that other plugins can add workloads and follow a run.

A plugin that adds workloads implements ``load_workloads`` and is selected together with the
load plugin (``--plugin load,myworkloads``); its workloads are then valid values of
``--load-workload``. The load plugin calls the hook as ``config.hook.load_workloads(config=...)``
(one call reaching every selected plugin that implements it).

A plugin that wants each interval's figures as the run goes (the chaos plugin judges the dip a
fault caused) implements ``load_interval``, marked ``@rig.hookimpl(optionalhook=True)`` so that
it also loads when the load plugin is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rig

if TYPE_CHECKING:
    from rig_load.workloads import Workload


@rig.hookspec
def load_workloads(config: rig.Config) -> list[Workload]:
    """Return workloads to add to ``--load-workload``.

    :param config: the run's :class:`rig.Config`.
    :returns: a list of :class:`rig_load.Workload`.

    Example::

        from rig_load import Workload

        def make_event(cursor, tables):
            sql = f"SELECT COUNT(*) FROM {tables.names[0]}"
            def event():
                cursor.execute(sql)
                cursor.fetchall()
            return event

        @rig.hookimpl
        def load_workloads():
            return [Workload("count", "SELECT COUNT(*) per event", make_event, reads=1)]
    """
    raise NotImplementedError  # pragma: no cover - a specification only


@rig.hookspec
def load_interval(record: dict[str, Any], config: rig.Config) -> None:
    """Called as each report interval of a load run closes, before its line is shown.

    :param record: the interval, as in ``sections.load.intervals``: ``t_s`` (its end, seconds
        since the run's first connection started), ``seconds``, ``threads``, ``events``,
        ``tps``, ``qps``, ``p95_ms``, ``p99_ms``, ``errors``, ``reconnects``, ``ramp_up``,
        ``start_s`` and ``end_s`` (its bounds on the run's timeline, as ``TimelineEvent.at_s``)
        and ``faults`` (the injected-fault periods that overlapped it). Treat it as read-only.
    :param config: the run's :class:`rig.Config`.

    Called from the load run's reporter thread; an exception ends the run with exit 3 naming
    the plugin, once the load has stopped.
    """

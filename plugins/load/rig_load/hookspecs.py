"""Hooks the load plugin adds, so that other plugins can add workloads.

A plugin that adds workloads implements ``rig_load_workloads`` and is selected together with
the load plugin (``--plugin load,myworkloads``); its workloads are then valid values of
``--workload``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import rig

if TYPE_CHECKING:
    from rig_load.workloads import Workload


@rig.hookspec
def rig_load_workloads(config: rig.Config) -> list[Workload]:
    """Return workloads to add to ``--workload``.

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
        def rig_load_workloads():
            return [Workload("count", "SELECT COUNT(*) per event", make_event, reads=1)]
    """
    raise NotImplementedError  # pragma: no cover - a specification only

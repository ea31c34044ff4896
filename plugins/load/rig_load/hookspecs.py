"""Hooks the load plugin adds, so that other plugins can add workloads.

A plugin that adds workloads implements ``load_workloads`` and is selected together with the
load plugin (``--plugin load,myworkloads``); its workloads are then valid values of
``--load-workload``. The load plugin calls the hook as ``config.hook.load_workloads(config=...)``
(one call reaching every selected plugin that implements it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

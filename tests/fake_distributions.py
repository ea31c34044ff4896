"""Fake installed plugin distributions for the plugin-host tests.

A module the tests import rather than ``conftest.py``: plugin test directories have conftest
modules of their own, and two modules named ``conftest`` cannot both be imported by name.
"""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path


class FakeDistributions:
    """Writes real installed distributions (``*.dist-info`` with ``entry_points.txt``) into a
    directory on ``sys.path``, so entry-point discovery finds them exactly as it finds
    pip-installed plugins."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, dist: str, entry_point: str, module: str, source: str,
            version: str = "0.1.0") -> Path:
        """Install distribution ``dist`` with entry point ``entry_point = module`` in group
        ``rig.plugins`` and module ``module`` with ``source``."""
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[rig.plugins]\n{entry_point} = {module}\n")
        (info / "RECORD").write_text("")
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return self.root / f"{module}.py"

"""Shared helpers for rig's own tests.

Server fixtures (``rig_server``, ``rig_database``, ``rig_runner``) come from rig's test kit,
``rig.testing``, loaded through its ``pytest11`` entry point.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


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


@pytest.fixture
def fake_dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDistributions]:
    """A place to install fake plugin distributions for one test."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # stevedore's cache
    before = set(sys.modules)
    yield FakeDistributions(root)
    for name in set(sys.modules) - before:
        if sys.modules[name].__spec__ and str(root) in str(
                getattr(sys.modules[name], "__file__", "")):
            del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def marker_plugin_source(tmp_path: Path) -> Callable[[str], str]:
    """Source of a plugin module that writes ``marker`` when imported (to prove a plugin was
    never imported)."""

    def make(marker: str) -> str:
        path = tmp_path / marker
        return f"""
            from pathlib import Path
            Path({str(path)!r}).write_text("imported")
        """

    return make

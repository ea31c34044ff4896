"""Shared helpers for rig's own tests.

Server fixtures (``rig_server``, ``rig_database``, ``rig_runner``) come from rig's test kit,
``rig.testing``, loaded through its ``pytest11`` entry point.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import rig

from fake_distributions import FakeDistributions


@pytest.fixture
def fake_dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDistributions]:
    """A place to install fake plugin distributions for one test."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
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


@pytest.fixture(scope="module")
def fault_server() -> Iterator[rig.Sandbox]:
    """A sandbox server of the test module's own, for tests that kill, restart or pause it
    (the session's server must stay up)."""
    with rig.Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def alive(fault_server: rig.Sandbox) -> rig.Sandbox:
    """The module's fault server, running (a test before may have killed it)."""
    fault_server.revive()
    return fault_server

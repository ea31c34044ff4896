"""The core's import graph is what docs/architecture.md draws: layers that import only
downwards, siblings that do not import each other, and no cycle at all — run-time and
type-checking imports alike (grimp reads both)."""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
FACADE = {"rig", "rig.__main__"}
"""The public API (lazily importing everything) and ``python -m rig``: above every layer."""


def documented_layers() -> list[list[str]]:
    """The layers of the ``layers`` block of docs/architecture.md, top to bottom; siblings of
    one layer are separated by ``|``."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = re.search(r"```text\n# layers[^\n]*\n(.*?)```", text, re.DOTALL)
    assert block, "docs/architecture.md has no ```text block starting with '# layers'"
    return [[part.strip() for part in line.split("|")]
            for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("rig")


def owner(module: str, layers: list[list[str]]) -> tuple[int, str]:
    """(layer index, sibling) of ``module``: the longest documented name it is in."""
    found = [(index, name) for index, layer in enumerate(layers) for name in layer
             if module == name or module.startswith(name + ".")]
    assert found, f"{module} is in no layer of docs/architecture.md"
    return max(found, key=lambda item: len(item[1]))


def test_every_module_is_in_a_documented_layer(graph: grimp.ImportGraph) -> None:
    layers = documented_layers()
    for module in sorted(graph.modules - FACADE):
        owner(module, layers)
    documented = {name for layer in layers for name in layer}
    missing = {name for name in documented
               if not any(m == name or m.startswith(name + ".") for m in graph.modules)}
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_layers_import_only_downwards_and_siblings_not_each_other(
        graph: grimp.ImportGraph) -> None:
    layers = documented_layers()
    wrong = []
    for importer in sorted(graph.modules - FACADE):
        level, name = owner(importer, layers)
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported in FACADE:
                wrong.append(f"{importer} imports the facade {imported}")
                continue
            other_level, other_name = owner(imported, layers)
            if other_level < level or (other_level == level and other_name != name):
                wrong.append(f"{importer} ({name}) imports {imported} ({other_name})")
    assert not wrong, "\n".join(wrong)


def test_no_module_is_part_of_an_import_cycle(graph: grimp.ImportGraph) -> None:
    cycles = []
    for importer in sorted(graph.modules - FACADE):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) - FACADE):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" → ".join([importer, *back]))
    assert not cycles, "\n".join(cycles)

"""Pictures of a cycle: Graphviz text and a small self-contained SVG (no Graphviz needed)."""

from __future__ import annotations

import math
from html import escape

Edge = tuple[int, int, str]
"""(source transaction, target transaction, label)."""

_RADIUS = 90
_NODE = 20
_COLOURS = {"ww": "#1f77b4", "wr": "#2ca02c", "rw": "#d62728", "process": "#9467bd",
            "realtime": "#7f7f7f"}


def _nodes(edges: list[Edge]) -> list[int]:
    seen: list[int] = []
    for source, target, _ in edges:
        for node in (source, target):
            if node not in seen:
                seen.append(node)
    return seen


def cycle_dot(title: str, edges: list[Edge]) -> str:
    """Graphviz ``digraph`` text of the cycle ``edges``."""
    lines = [f'digraph "{title}" {{', "  node [shape=circle];"]
    lines += [f'  T{node} [label="T{node}"];' for node in _nodes(edges)]
    for source, target, label in edges:
        colour = _COLOURS.get(label.split()[0], "black")
        lines.append(f'  T{source} -> T{target} [label="{label}", color="{colour}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def cycle_svg(title: str, edges: list[Edge]) -> str:
    """An SVG of the cycle ``edges``: its transactions on a circle, an arrow per edge,
    labelled with the edge's kind and key."""
    nodes = _nodes(edges)
    size = 2 * (_RADIUS + _NODE + 40)
    centre = size / 2
    places = {node: (centre + _RADIUS * math.sin(2 * math.pi * i / len(nodes)),
                     centre - _RADIUS * math.cos(2 * math.pi * i / len(nodes)))
              for i, node in enumerate(nodes)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:.0f}" height="{size:.0f}" '
             f'viewBox="0 0 {size:.0f} {size:.0f}" font-family="sans-serif" font-size="11">',
             f"<title>{escape(title)}</title>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="context-stroke"/></marker></defs>']
    for source, target, label in edges:
        (x1, y1), (x2, y2) = places[source], places[target]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        dx, dy = (x2 - x1) / length, (y2 - y1) / length
        sx, sy, ex, ey = x1 + dx * _NODE, y1 + dy * _NODE, x2 - dx * _NODE, y2 - dy * _NODE
        # bend each arrow a little to its left, so A->B and B->A do not overlap
        cx, cy = (sx + ex) / 2 + dy * 18, (sy + ey) / 2 - dx * 18
        colour = _COLOURS.get(label.split()[0], "black")
        parts.append(f'<path d="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" '
                     f'fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'marker-end="url(#arrow)"/>')
        parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" fill="{colour}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for node, (x, y) in places.items():
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{_NODE}" fill="white" '
                     f'stroke="black"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">T{node}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

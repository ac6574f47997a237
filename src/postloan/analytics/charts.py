"""Static inline SVG charts for the printable report (no script, so nothing can fail
in the browser and the page prints the same as it shows)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f5fa8", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#2c3e50")
W, H, PAD = 640, 260, 44


def line_chart(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], percent: bool
) -> str:
    """Lines over shared x labels; values are display figures (already exact upstream)."""
    values = [v for s in series.values() for v in s if v is not None]
    top = max(values, default=0.0) or 1.0
    n = max(len(labels), 2)

    def x(i: int) -> float:
        return PAD + i * (W - 2 * PAD) / (n - 1)

    def y(v: float) -> float:
        return H - PAD - v / top * (H - 2 * PAD)

    parts = [_frame(title)]
    for k in range(5):
        v = top * k / 4
        text = f"{v * 100:.2f}%" if percent else f"{v:,.0f}"
        parts.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{PAD - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{text}</text>'
        )
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{H - PAD + 14}" font-size="10" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for j, (name, points) in enumerate(series.items()):
        colour = PALETTE[j % len(PALETTE)]
        coords = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points) if v is not None]
        if coords:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(coords)}"/>'
            )
        parts.append(_legend(j, name, colour))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float]) -> str:
    top = max(values, default=0.0) or 1.0
    n = max(len(labels), 1)
    width = (W - 2 * PAD) / n
    parts = [_frame(title)]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = v / top * (H - 2 * PAD)
        parts.append(
            f'<rect x="{PAD + i * width + 4:.1f}" y="{H - PAD - h:.1f}" width="{width - 8:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}"/>'
            f'<text x="{PAD + (i + 0.5) * width:.1f}" y="{H - PAD + 14}" font-size="10" '
            f'text-anchor="middle">{escape(label)}</text>'
            f'<text x="{PAD + (i + 0.5) * width:.1f}" y="{H - PAD - h - 3:.1f}" font-size="9" '
            f'text-anchor="middle">{v:,.0f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _frame(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" '
        f'role="img" aria-label="{escape(title)}">'
        f'<text x="{W / 2}" y="16" font-size="13" text-anchor="middle">{escape(title)}</text>'
    )


def _legend(j: int, name: str, colour: str) -> str:
    lx = PAD + (j % 4) * 140
    ly = 30 + (j // 4) * 12
    return (
        f'<rect x="{lx}" y="{ly - 8}" width="10" height="3" fill="{colour}"/>'
        f'<text x="{lx + 14}" y="{ly - 4}" font-size="10">{escape(name)}</text>'
    )

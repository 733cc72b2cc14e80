"""Training curves as a PNG (OpenCV drawing; no plotting library needed): one panel per metric
against the step."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

PANEL_W, PANEL_H, MARGIN = 480, 220, 48
COLOURS = [(180, 90, 30), (40, 140, 40), (30, 60, 200), (150, 40, 150)]  # BGR


def plot_curves(rows: list[dict], x: str, metrics: list[str], path: str | Path, title: str) -> Path:
    """Draw each metric of ``rows`` (dicts with ``x`` and some of ``metrics``) in its own panel."""
    import cv2

    panels = []
    for i, name in enumerate(metrics):
        pts = [(float(r[x]), float(r[name])) for r in rows
               if x in r and name in r and r[name] is not None and math.isfinite(float(r[name]))]
        img = np.full((PANEL_H, PANEL_W, 3), 255, np.uint8)
        cv2.putText(img, f"{title}: {name}", (MARGIN, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        x0, y0, x1, y1 = MARGIN, 30, PANEL_W - 12, PANEL_H - 28
        cv2.rectangle(img, (x0, y0), (x1, y1), (160, 160, 160), 1)
        if pts:
            xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
            lo, hi = float(ys.min()), float(ys.max())
            hi = hi if hi > lo else lo + 1e-9
            xl, xh = float(xs.min()), float(xs.max())
            xh = xh if xh > xl else xl + 1.0
            u = x0 + (xs - xl) / (xh - xl) * (x1 - x0)
            v = y1 - (ys - lo) / (hi - lo) * (y1 - y0)
            line = np.stack([u, v], axis=1).round().astype(np.int32)
            cv2.polylines(img, [line], False, COLOURS[i % len(COLOURS)], 2, cv2.LINE_AA)
            for p in line:
                cv2.circle(img, (int(p[0]), int(p[1])), 2, COLOURS[i % len(COLOURS)], -1)
            for val, yy in ((hi, y0 + 10), (lo, y1)):
                cv2.putText(img, f"{val:.3g}", (2, yy), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
            cv2.putText(img, f"{x} {xl:.0f}..{xh:.0f}", (x0, PANEL_H - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 1, cv2.LINE_AA)
        else:
            cv2.putText(img, "no values", (x0 + 10, (y0 + y1) // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 200), 1)
        panels.append(img)
    out = Path(path)
    if not cv2.imwrite(str(out), np.vstack(panels) if panels else np.full((PANEL_H, PANEL_W, 3), 255, np.uint8)):
        raise OSError(f"could not write {out}")
    return out

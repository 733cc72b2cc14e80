"""Debug pictures of tool results: points, masks, boxes and grasps drawn on the camera image."""

from __future__ import annotations

import numpy as np

from .geometry3d import EDGES


def annotate(rgb: np.ndarray, responses: list, variables=None) -> np.ndarray:
    """RGB image with every response's structured results drawn in."""
    import cv2

    img = np.ascontiguousarray(rgb[..., ::-1]).copy()
    h, w = img.shape[:2]
    if variables is not None and "segmentation_mask" in variables:
        mask = variables.get("segmentation_mask")
        if getattr(mask, "shape", None) == (h, w):
            overlay = img.copy()
            overlay[mask] = (0.5 * overlay[mask] + [0, 110, 0]).astype(np.uint8)
            img = overlay
            cnts, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(img, cnts, -1, (0, 255, 0), 1)
    for r in responses:
        d = r.data
        for x, y in d.get("points", []):
            c = (int(x * w), int(y * h))
            cv2.circle(img, c, 7, (255, 255, 255), 2)
            cv2.circle(img, c, 4, (0, 0, 255), -1)
        if "corners_2d" in d:
            pts = [(int(x * w), int(y * h)) for x, y in d["corners_2d"]]
            for a, b in EDGES:
                cv2.line(img, pts[a], pts[b], (255, 200, 0), 1, cv2.LINE_AA)
        if "points_2d" in d:
            p = [(int(x * w), int(y * h)) for x, y in d["points_2d"]]
            cv2.line(img, p[1], p[2], (255, 0, 255), 2)
            cv2.line(img, p[1], p[3], (255, 0, 255), 2)
            cv2.line(img, p[2], p[4], (255, 0, 255), 2)
            cv2.circle(img, p[0], 3, (255, 0, 255), -1)
        cv2.putText(img, r.name, (6, 16 + 16 * responses.index(r)), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255) if r.ok else (0, 0, 255), 1, cv2.LINE_AA)
    return img[..., ::-1]

"""View selection (3D-R1): score every camera for a target by visibility, occlusion and coverage."""

from __future__ import annotations

import numpy as np

from ..pointing.referring import ReferenceError, ground, parse_reference
from .base import ToolWorld
from .geometry3d import gravity_box
from .offline import PerceptionCache


class ViewScorer:
    """score = 0.5 visibility + 0.3 (1 - occlusion) + 0.2 coverage, per camera."""

    def __init__(self, cache: PerceptionCache | None = None) -> None:
        self.cache = cache or PerceptionCache()

    def __call__(self, world: ToolWorld, target: str) -> list[dict]:
        try:
            ref = parse_reference(target)
        except ReferenceError:
            ref = None
        rows = []
        for cam in world.cameras():
            frame = world.capture(cam)
            scene = self.cache(frame)
            objs = scene.objects
            found = ground(ref, objs) if ref is not None else []
            vis, occ = 0.0, 1.0
            if found:
                o = found[0]
                corners, _ = gravity_box(o.points_cam, scene.plane)
                k = frame.intrinsics
                uv = corners[:, :2] / corners[:, 2:3] * [k[0, 0], k[1, 1]] + [k[0, 2], k[1, 2]]
                import cv2

                hull = cv2.convexHull(uv.astype(np.float32))
                expected = max(float(cv2.contourArea(hull)), 1.0)
                occ = float(np.clip(1.0 - o.area_px / expected, 0.0, 1.0))
                vis = float(np.clip(o.area_px / (0.01 * frame.width * frame.height), 0.0, 1.0))
            rows.append({"camera": cam, "visibility": vis, "occlusion": occ, "coverage": float(len(objs)),
                         "found": bool(found)})
        most = max((r["coverage"] for r in rows), default=1.0) or 1.0
        for r in rows:
            r["coverage"] = r["coverage"] / most
            r["score"] = 0.5 * r["visibility"] + 0.3 * (1.0 - r["occlusion"]) + 0.2 * r["coverage"]
        return rows

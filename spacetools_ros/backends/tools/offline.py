"""Offline CPU tool backends over tabletop perception: pointing, segmentation, sensor depth."""

from __future__ import annotations

import numpy as np

from ...core.camera import CameraFrame
from ..perception.describe import describe
from ..perception.tabletop import TableScene, TabletopPerception
from ..pointing.referring import ReferenceError, ground, parse_reference
from ..pointing.free_space import find_spot, parse_spot
from ...core.language.frames import check_frame


class PerceptionCache:
    """Runs tabletop perception once per frame (frames are immutable)."""

    def __init__(self, perception: TabletopPerception | None = None, size: int = 8) -> None:
        self.perception = perception or TabletopPerception()
        self._cache: dict[int, tuple[CameraFrame, TableScene]] = {}
        self.size = size

    def __call__(self, frame: CameraFrame) -> TableScene:
        key = id(frame)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        if frame.depth_m is None:
            raise ValueError("perception needs a depth image")
        scene = self.perception(frame)
        describe(scene.objects, frame.intrinsics, scene.table_axes, scene.plane, frame.rgb)
        if len(self._cache) >= self.size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (frame, scene)
        return scene


class OfflinePointing:
    """Referring expressions grounded on perceived objects (colour, shape, size, relations)."""

    def __init__(self, cache: PerceptionCache, spatial_frame: str = "camera") -> None:
        self.cache = cache
        self.spatial_frame = check_frame(spatial_frame)  # of side words: the camera's view or the robot's

    def point(self, frame: CameraFrame, description: str, all_matches: bool) -> list[tuple[float, float]]:
        """Normalized points of the matching objects (inside each object's mask), or of a free spot
        for a free-space description ("a free spot left of the bowl")."""
        query = parse_spot(description)
        if query is not None:
            spot = find_spot(self.cache(frame), query, self.spatial_frame)
            return [] if spot is None else [spot]
        try:
            ref = parse_reference(description)
        except ReferenceError:
            return []
        found = ground(ref, self.cache(frame).objects, self.spatial_frame)
        if not all_matches:
            found = found[:1]
        return [((o.pixel[0] + 0.5) / frame.width, (o.pixel[1] + 0.5) / frame.height) for o in found]


class OfflineSegmentation:
    """The perceived segment under the prompt points, or a colour/depth region grown from them."""

    def __init__(self, cache: PerceptionCache) -> None:
        self.cache = cache

    def segment(self, frame: CameraFrame, points_px: list[tuple[int, int]]) -> tuple[np.ndarray, float]:
        """(mask, score): score is the fraction of prompt points inside the returned mask."""
        scene = self.cache(frame)
        votes: dict[int, int] = {}
        for u, v in points_px:
            best, best_d = None, 12.0  # pixels: a point just off an object's edge still selects it
            for o in scene.objects:
                if o.mask[v, u]:
                    best, best_d = o, 0.0
                    break
                ys, xs = np.nonzero(o.mask[max(0, v - 12):v + 13, max(0, u - 12):u + 13])
                if len(xs):
                    d = float(np.min(np.hypot(xs + max(0, u - 12) - u, ys + max(0, v - 12) - v)))
                    if d < best_d:
                        best, best_d = o, d
            if best is not None:
                votes[best.index] = votes.get(best.index, 0) + 1
        if votes:
            idx = max(votes, key=votes.get)
            obj = scene.objects[idx]
            return obj.mask.copy(), votes[idx] / len(points_px)
        return self._grow(frame, points_px), 0.5

    @staticmethod
    def _grow(frame: CameraFrame, points_px) -> np.ndarray:
        import cv2

        rgb = frame.rgb.astype(np.float32)
        depth = frame.depth_m
        valid = np.isfinite(depth) & (depth > 0)  # a real sensor's holes are not a surface to grow over
        mask = np.zeros(depth.shape, bool)
        for u, v in points_px:
            if not valid[v, u]:  # a prompt on a hole: grow from the nearest valid pixel beside it
                ys, xs = np.nonzero(valid[max(0, v - 3):v + 4, max(0, u - 3):u + 4])
                if not len(xs):
                    continue
                i = int(np.argmin(np.hypot(xs + max(0, u - 3) - u, ys + max(0, v - 3) - v)))
                u, v = int(xs[i] + max(0, u - 3)), int(ys[i] + max(0, v - 3))
            col, dep = rgb[v, u], float(depth[v, u])
            similar = (np.linalg.norm(rgb - col, axis=2) < 30) & valid & (np.abs(depth - dep) < 0.05)
            n, lab = cv2.connectedComponents(similar.astype(np.uint8), connectivity=4)
            mask |= lab == lab[v, u]
        return mask


class SensorDepth:
    """Depth from the RGB-D sensor (the frame's own depth image), its holes filled from neighbouring
    pixels of nearly the same colour as the tabletop perception fills them (measured pixels keep
    their values; a hole with no such neighbour stays 0, no depth). A dark block returns depth on a
    few per cent of its pixels: unfilled, a grasp was planned from 37 points, or from none."""

    def depth(self, frame: CameraFrame) -> tuple[np.ndarray, float]:
        """(depth metres, fx)."""
        from ..perception.tabletop import fill_holes_by_colour

        if frame.depth_m is None:
            raise RuntimeError("this image has no depth from the sensor")
        depth = np.where(np.isfinite(frame.depth_m), frame.depth_m, 0.0).astype(np.float32)
        return fill_holes_by_colour(depth, frame.rgb), float(frame.intrinsics[0, 0])

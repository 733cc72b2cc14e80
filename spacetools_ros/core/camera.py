"""Camera frames (colour + depth + calibration) as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CameraFrame:
    """One RGB-D frame with its calibration.

    Attributes:
        camera: camera name.
        rgb: (H, W, 3) uint8.
        depth_m: (H, W) float32 metres along the optical axis (z), or None.
        intrinsics: 3x3 K.
        extrinsics: 4x4 pose of the optical frame (x right, y down, z forward) in the base frame.
        stamp_s: acquisition time (simulation or ROS time), seconds.
        segmentation: (H, W) int32 object index (-1 = none), simulator ground truth, or None.
    """

    camera: str
    rgb: np.ndarray = field(repr=False)
    depth_m: np.ndarray | None = field(repr=False)
    intrinsics: np.ndarray
    extrinsics: np.ndarray
    stamp_s: float = 0.0
    segmentation: np.ndarray | None = field(default=None, repr=False)

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.rgb.shape[0])


def backproject(depth_m: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(H, W, 3) points in the optical frame from a depth image and intrinsics."""
    h, w = depth_m.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    z = depth_m.astype(np.float32)
    x = (u - k[0, 2]) * z / k[0, 0]
    y = (v - k[1, 2]) * z / k[1, 1]
    return np.stack([x, y, z], axis=-1)


def project(points_base: np.ndarray, k: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """(N, 2) pixel coordinates (u, v) of base-frame points."""
    t_inv = np.linalg.inv(extrinsics)
    p = np.asarray(points_base, dtype=float) @ t_inv[:3, :3].T + t_inv[:3, 3]
    uv = p[:, :2] / p[:, 2:3] * np.array([k[0, 0], k[1, 1]]) + np.array([k[0, 2], k[1, 2]])
    return uv


HOLE_WINDOW_PX = 7
HOLE_MIN_VALID = 5
LEVEL_WINDOWS_PX = (31, 81)  # a wider hole is level with the valid surface around it, looked for in these
LEVEL_MIN_VALID = 40


def valid_depth_at(depth_m: np.ndarray, u: int, v: int) -> float:
    """Depth (m) at pixel (u, v), filled from valid neighbours where the sensor has a hole; nan if none."""
    z = float(depth_m[v, u])
    if np.isfinite(z) and z > 0:
        return z
    r = HOLE_WINDOW_PX // 2
    win = np.asarray(depth_m[max(0, v - r):v + r + 1, max(0, u - r):u + r + 1], dtype=float)
    ok = win[np.isfinite(win) & (win > 0)]
    return float(np.median(ok)) if len(ok) >= HOLE_MIN_VALID else float("nan")


def ray_point_base(frame: CameraFrame, x: float, y: float) -> np.ndarray:
    """Base-frame point seen at normalized image coordinates (x, y): the depth at that pixel, or, where
    a real sensor left a hole (0 / non-finite), the median of the valid depth around it
    (``HOLE_WINDOW_PX`` square, at least ``HOLE_MIN_VALID`` pixels). A wider hole (a dark plate's
    whole floor returns nothing) is taken to be level with the surface seen around it: the pixel's
    ray meets the horizontal plane at the median height of the valid pixels within
    ``LEVEL_WINDOWS_PX`` (at least ``LEVEL_MIN_VALID``).

    Non-finite when the depth image has no valid value there.
    """
    u, v = min(int(x * frame.width), frame.width - 1), min(int(y * frame.height), frame.height - 1)
    z = valid_depth_at(frame.depth_m, u, v) if frame.depth_m is not None else float("nan")
    k = frame.intrinsics
    ray = np.array([(u + 0.5 - k[0, 2]) / k[0, 0], (v + 0.5 - k[1, 2]) / k[1, 1], 1.0])
    if np.isfinite(z) or frame.depth_m is None:
        return frame.extrinsics[:3, :3] @ (ray * z) + frame.extrinsics[:3, 3]
    return _level_with_surroundings(frame, u, v, ray)


def _level_with_surroundings(frame: CameraFrame, u: int, v: int, ray: np.ndarray) -> np.ndarray:
    t = np.asarray(frame.extrinsics, dtype=float)
    k = np.asarray(frame.intrinsics, dtype=float)
    depth = np.asarray(frame.depth_m, dtype=float)
    for w in LEVEL_WINDOWS_PX:
        r = w // 2
        v0, u0 = max(0, v - r), max(0, u - r)
        win = depth[v0:v + r + 1, u0:u + r + 1]
        ok = np.isfinite(win) & (win > 0)
        if ok.sum() < LEVEL_MIN_VALID:
            continue
        vv, uu = np.nonzero(ok)
        zz = win[ok]
        cam = np.stack([(uu + u0 + 0.5 - k[0, 2]) * zz / k[0, 0], (vv + v0 + 0.5 - k[1, 2]) * zz / k[1, 1], zz], axis=1)
        height = float(np.median(cam @ t[:3, :3].T[:, 2] + t[2, 3]))
        d = t[:3, :3] @ ray
        if d[2] >= -1e-6:  # the ray does not go down to that plane
            break
        return t[:3, 3] + (height - t[2, 3]) / d[2] * d
    return np.full(3, np.nan)

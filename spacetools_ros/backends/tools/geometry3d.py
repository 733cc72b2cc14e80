"""3D helpers of the vision tools: point clouds, mask selection, table plane, oriented boxes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..perception.tabletop import fit_plane, plane_axes

EDGES = [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7)]


def point_cloud(depth_m: np.ndarray, f_px: float) -> np.ndarray:
    """Every pixel back-projected (principal point at the image centre), finite 0 < z < 100 m kept,
    pixel-row-major order."""
    h, w = depth_m.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    z = depth_m.astype(np.float32)
    pts = np.stack([(u - w / 2) * z / f_px, (v - h / 2) * z / f_px, z], axis=-1).reshape(-1, 3)
    keep = np.isfinite(pts[:, 2]) & (pts[:, 2] > 0) & (pts[:, 2] < 100)
    return pts[keep]


def mask_select(cloud: np.ndarray, mask: np.ndarray, f_px: float) -> np.ndarray:
    """Indices of the cloud points whose projection lands inside the mask."""
    h, w = mask.shape
    z = cloud[:, 2]
    u = np.floor(cloud[:, 0] * f_px / z + w / 2).astype(np.int64)
    v = np.floor(cloud[:, 1] * f_px / z + h / 2).astype(np.int64)
    ok = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    idx = np.nonzero(ok)[0]
    return idx[mask[v[ok], u[ok]]]


def project_norm(points: np.ndarray, f_px: float, w: int, h: int) -> np.ndarray:
    """Normalized image coordinates (x, y) of camera-frame points."""
    p = np.asarray(points, dtype=float)
    return np.stack([(p[:, 0] * f_px / p[:, 2] + w / 2) / w, (p[:, 1] * f_px / p[:, 2] + h / 2) / h], axis=1)


def table_plane(cloud: np.ndarray, seed: int = 0) -> np.ndarray:
    """Dominant plane of a cloud (n, d), n towards the camera."""
    rng = np.random.default_rng(seed)
    sample = cloud[rng.integers(0, len(cloud), min(len(cloud), 20000))]
    return fit_plane(sample, rng, 200, 0.004)


def gravity_box(obj: np.ndarray, plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box standing on the plane around an object's points: (8 corners, bottom face first,
    counter-clockwise seen from above; extent (long, short, height))."""
    import cv2

    n, d = plane[:3], plane[3]
    e1, e2, _ = plane_axes(n).T
    uv = np.stack([obj @ e1, obj @ e2], axis=1).astype(np.float32)
    (cx, cy), (sw, sh), ang = cv2.minAreaRect(uv)
    a = np.deg2rad(ang)
    ax1 = np.cos(a) * e1 + np.sin(a) * e2
    ax2 = -np.sin(a) * e1 + np.cos(a) * e2
    top = float(np.max(obj @ n + d))
    base = cx * e1 + cy * e2 - d * n  # centre of the footprint, on the plane
    corners = []
    for hgt in (0.0, top):
        for s1, s2 in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            corners.append(base + s1 * sw / 2 * ax1 + s2 * sh / 2 * ax2 + hgt * n)
    corners = np.array(corners)
    # counter-clockwise seen from above (from +n)
    c = corners[:4] - corners[:4].mean(axis=0)
    if np.cross(c[0], c[1]) @ n < 0:
        corners = corners[[0, 3, 2, 1, 4, 7, 6, 5]]
    return corners, np.array([max(sw, sh), min(sw, sh), top])


def open3d_box(obj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open3D minimal oriented box (corners in Open3D's order, extent)."""
    import open3d as o3d

    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(obj.astype(np.float64)))
    try:
        box = pcd.get_minimal_oriented_bounding_box()
    except Exception:  # noqa: BLE001 - degenerate clouds
        box = pcd.get_oriented_bounding_box()
    return np.asarray(box.get_box_points()), np.asarray(box.extent)


def hull_circle(xy: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(centre, radius) of the circle through the corners of the points' 2D convex hull: a dish's
    rim seen from above. What stands in the dish, a dark floor that returns little depth, or an arm
    hiding part of it moves the points' middle but not the outline around them. None for fewer
    than 30 points or a hull of fewer than 5 corners."""
    import cv2

    xy = np.asarray(xy, dtype=float)
    if len(xy) < 30:
        return None
    hull = xy[cv2.convexHull(np.asarray(xy, np.float32), returnPoints=False).ravel()]
    if len(hull) < 5:
        return None
    sol, *_ = np.linalg.lstsq(np.column_stack([2 * hull, np.ones(len(hull))]), (hull ** 2).sum(axis=1), rcond=None)
    return sol[:2], float(np.median(np.linalg.norm(hull - sol[:2], axis=1)))


def dish_outline(xy: np.ndarray, radius_m: float) -> tuple[np.ndarray, float] | None:
    """``hull_circle`` when its radius is within 20% of ``radius_m`` (the footprint's half size),
    else None (the circle does not fit what was seen)."""
    fit = hull_circle(xy)
    if fit is None or not 0.8 * radius_m <= fit[1] <= 1.2 * radius_m:
        return None
    return fit


@dataclass(frozen=True)
class Footprint:
    """A perceived object's gravity-aligned box in the base frame.

    Attributes:
        centre: (2,) middle of the footprint (of a dish: of its rim's circle, when that fits).
        yaw: of the box's first side, rad.
        sides: the box's two horizontal sides, m (the first along ``yaw``).
        radius: half the longer side (of a dish: its rim's circle, when that fits), m.
        height: from the table to the top, m.
    """

    centre: np.ndarray
    yaw: float
    sides: tuple[float, float]
    radius: float
    height: float


def base_footprint(points_cam: np.ndarray, plane: np.ndarray, extrinsics: np.ndarray, dish: bool) -> Footprint:
    """The ``gravity_box`` of an object's points (camera frame) in the base frame; a ``dish`` (bowl
    or plate) is located by its rim (``dish_outline``): what stands in it, or an arm hiding its far
    part, moves the box but not the rim."""
    t = extrinsics
    corners, extent = gravity_box(points_cam, plane)
    bottom = (corners @ t[:3, :3].T + t[:3, 3])[:4]
    l1 = float(np.linalg.norm(bottom[1] - bottom[0]))
    l2 = float(np.linalg.norm(bottom[2] - bottom[1]))
    ax = bottom[1] - bottom[0]
    centre, radius = bottom.mean(axis=0)[:2], max(l1, l2) / 2
    if dish:
        fit = dish_outline((points_cam @ t[:3, :3].T + t[:3, 3])[:, :2], radius)
        if fit is not None:
            centre, radius = fit
    return Footprint(centre, float(np.arctan2(ax[1], ax[0])), (l1, l2), radius, float(extent[2]))

"""Exact answers from simulator state: masks (COCO run-length), centroids, projected 3D boxes,
top-down grasps, free table regions and side relations.

Conventions: pixel (u, v) = (column, row) covers [u, u+1) x [v, v+1), so its centre is (u+0.5, v+0.5);
normalised image coordinates are (u / W, v / H) with the origin at the top-left corner (so a pixel
centre's normalised point maps back to the pixel with ``int(x * W)``). Camera frames are OpenCV
optical frames; ``extrinsics`` is the camera's pose in the base frame (base <- optical).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.geometry import quat_to_mat
from ..core.grasping import GRASP_FRAME_TO_TCP_M, WIDTH_MARGIN_M, grasp_height_m, top_down_rotation, wrap_yaw
from ..core.relations import SIDE_MAX_DIST_M, SIDE_MIN_M, SIDE_MIN_PX, Body
from ..core.scene import SceneObject
from ..core.shapes import support_height_m, support_radius_m

# gripper-frame points (m) projected for the grasp answer: centre, left base, right base, left tip,
# right tip (+x = "left" finger, +z = approach), as the grasp tool reports them
GRIPPER_POINTS = np.array([[0, 0, 0], [0.08, 0, 0], [-0.08, 0, 0], [0.08, 0, 0.08], [-0.08, 0, 0.08]], float)
FREE_CLEARANCE_M = 0.03      # a free spot is at least this far from every object's footprint
FREE_REACH_M = (0.25, 0.80)  # ... this far from the robot base (where its arm places)
TABLE_EDGE_MARGIN_M = 0.03
TABLE_DEPTH_TOL_M = 0.003    # a pixel sees the table where the rendered depth meets the table plane


def rle_encode(mask: np.ndarray) -> dict:
    """COCO uncompressed run-length encoding: column-major runs, starting with a run of zeros.

    Returns:
        {"size": [H, W], "counts": [int, ...]}.
    """
    flat = np.asarray(mask, bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(c) for c in counts]}


def rle_decode(rle: dict) -> np.ndarray:
    """Inverse of ``rle_encode``: (H, W) bool."""
    h, w = rle["size"]
    vals = np.zeros(len(rle["counts"]), bool)
    vals[1::2] = True
    flat = np.repeat(vals, rle["counts"])
    return flat.reshape((w, h)).T


def centroid_norm(mask: np.ndarray) -> list[float]:
    """Normalised (x, y) of the mean of the mask's pixel centres."""
    v, u = np.nonzero(mask)
    h, w = mask.shape
    return [round(float((u.mean() + 0.5) / w), 5), round(float((v.mean() + 0.5) / h), 5)]


def interior_point_norm(mask: np.ndarray) -> list[float]:
    """Normalised (x, y) of the mask pixel farthest from the mask's border (first in row-major order on ties)."""
    import cv2

    padded = np.pad(np.asarray(mask, np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    v, u = np.unravel_index(int(np.argmax(dist)), dist.shape)
    h, w = mask.shape
    return [round(float((u + 0.5) / w), 5), round(float((v + 0.5) / h), 5)]


def answer_point(mask: np.ndarray) -> list[float]:
    """The point a pointing answer gives: the centroid when it lies on the mask, else the interior point."""
    c = centroid_norm(mask)
    h, w = mask.shape
    if mask[min(int(c[1] * h), h - 1), min(int(c[0] * w), w - 1)]:
        return c
    return interior_point_norm(mask)


def to_camera(points_base: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """(N, 3) base-frame points in the optical frame."""
    t = np.asarray(extrinsics, float)
    return (np.asarray(points_base, float) - t[:3, 3]) @ t[:3, :3]


def project_px(points_base: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """(N, 2) continuous pixel coordinates (u, v) of base-frame points."""
    p = to_camera(points_base, extrinsics)
    k = np.asarray(intrinsics, float)
    return np.stack([k[0, 0] * p[:, 0] / p[:, 2] + k[0, 2], k[1, 1] * p[:, 1] / p[:, 2] + k[1, 2]], axis=1)


def box_extent(obj: SceneObject) -> tuple[float, float, float]:
    """(x, y, z) size of the object's box in its own frame (bottom centre at the origin)."""
    if obj.shape == "box":
        return obj.size[0], obj.size[1], obj.size[2]
    return obj.size[0], obj.size[0], obj.height_m


def box_corners(obj: SceneObject, position: np.ndarray, quat_wxyz: np.ndarray) -> np.ndarray:
    """(8, 3) base-frame corners of the object's oriented box: the bottom face, then the top face,
    each counter-clockwise seen from above starting at the object frame's (-x, -y) corner."""
    sx, sy, sz = box_extent(obj)
    local = np.array([[-sx / 2, -sy / 2, 0.0], [sx / 2, -sy / 2, 0.0], [sx / 2, sy / 2, 0.0], [-sx / 2, sy / 2, 0.0]])
    local = np.concatenate([local, local + [0.0, 0.0, sz]])
    return local @ quat_to_mat(quat_wxyz).T + np.asarray(position, float)


def centre_of(obj: SceneObject, position: np.ndarray, quat_wxyz: np.ndarray) -> np.ndarray:
    """(3,) base-frame centre of the object's box."""
    return np.asarray(position, float) + quat_to_mat(quat_wxyz) @ np.array([0.0, 0.0, obj.height_m / 2])


def yaw_of(quat_wxyz: np.ndarray) -> float:
    """Rotation about z (rad) of a pose."""
    r = quat_to_mat(quat_wxyz)
    return math.atan2(r[1, 0], r[0, 0])


def body(obj: SceneObject, position: np.ndarray) -> Body:
    """The object for ``core.relations.relation_holds`` at its (bottom-centre) position."""
    return Body(np.asarray(position, float), obj.footprint_radius_m, support_radius_m(obj), support_height_m(obj))


def top_down_grasp(obj: SceneObject, position: np.ndarray, quat_wxyz: np.ndarray, max_opening_m: float) -> dict | None:
    """The top-down parallel-jaw grasp of a block, can or ball (``core/grasping.py`` conventions):
    fingers closing across the block's narrower side (a can or ball: across the line of sight from
    the robot base), the TCP on the object's vertical axis at ``grasp_height_m`` above its bottom.
    None when nothing fits between the open fingers (dishes, wide blocks).

    Returns:
        pose_base: 4x4 gripper base ("hand") frame in the base frame: x = finger closing axis
            ("left" finger at +x), z = approach (down); the TCP lies ``GRASP_FRAME_TO_TCP_M`` along z.
        tcp_base (3,), contacts_base (2, 3) [left, right] where the pads meet the surface,
        width_m (the contacts' distance), yaw_rad (finger axis), opening_m (width + margin).
    """
    p = np.asarray(position, float)
    h = obj.height_m
    z_rel = grasp_height_m(h)
    if obj.shape == "box":
        yaw = yaw_of(quat_wxyz)
        sides = sorted([(obj.size[0], yaw), (obj.size[1], yaw + math.pi / 2)])
        width, yaw = sides[0]
    elif obj.shape in ("cylinder", "sphere"):
        yaw = math.atan2(p[1], p[0]) + math.pi / 2
        r = obj.size[0] / 2
        width = obj.size[0] if obj.shape == "cylinder" else 2 * math.sqrt(max(r * r - (z_rel - r) ** 2, 0.0))
    else:
        return None
    if width + WIDTH_MARGIN_M > max_opening_m:
        return None
    yaw = wrap_yaw(yaw)
    rot = top_down_rotation(yaw)
    tcp = np.array([p[0], p[1], p[2] + z_rel])
    pose = np.eye(4)
    pose[:3, :3] = rot
    pose[:3, 3] = tcp - rot[:, 2] * GRASP_FRAME_TO_TCP_M
    x = rot[:, 0]
    contacts = np.stack([tcp + x * width / 2, tcp - x * width / 2])
    return {"pose_base": pose, "tcp_base": tcp, "contacts_base": contacts, "width_m": float(width),
            "yaw_rad": float(yaw), "opening_m": float(min(width + WIDTH_MARGIN_M, max_opening_m)),
            "top_centre_base": np.array([p[0], p[1], p[2] + h])}


def footprint_distance(points_xy: np.ndarray, obj: SceneObject, position: np.ndarray, quat_wxyz: np.ndarray) -> np.ndarray:
    """(N,) distance (m) from table points to the object's footprint (0 inside it)."""
    rel = np.asarray(points_xy, float) - np.asarray(position, float)[:2]
    if obj.shape != "box":
        return np.maximum(np.linalg.norm(rel, axis=1) - obj.size[0] / 2, 0.0)
    yaw = yaw_of(quat_wxyz)
    c, s = math.cos(yaw), math.sin(yaw)
    lx, ly = rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c
    dx = np.maximum(np.abs(lx) - obj.size[0] / 2, 0.0)
    dy = np.maximum(np.abs(ly) - obj.size[1] / 2, 0.0)
    return np.hypot(dx, dy)


def table_points(intrinsics: np.ndarray, extrinsics: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel centre's ray meets the table plane z = 0: ((H, W, 2) base-frame x, y; (H, W)
    depth along the optical axis, inf where the ray does not go down)."""
    k = np.asarray(intrinsics, float)
    t = np.asarray(extrinsics, float)
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], axis=-1)
    d = rays @ t[:3, :3].T
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(d[..., 2] < -1e-9, -t[2, 3] / d[..., 2], np.inf)
    xy = t[:2, 3] + d[..., :2] * np.where(np.isfinite(depth), depth, 0.0)[..., None]
    return xy, depth


def free_space_mask(relation: str, frame: str, anchor: SceneObject, anchor_position: np.ndarray, objects: list,
                    intrinsics: np.ndarray, extrinsics: np.ndarray, depth_m: np.ndarray, segmentation: np.ndarray,
                    table) -> np.ndarray:
    """(H, W) bool: pixels that see the table (rendered depth on the table plane, no object) at a
    spot that is free (at least ``FREE_CLEARANCE_M`` from every footprint), on the table (edge
    margin), within reach of the robot, and where a point on the table stands in ``relation``
    (left/right/front/behind) to the anchor by ``core/relations.relation_holds``'s side rule in
    ``frame`` (``camera``: image columns / rows at the pixel against the anchor's projected bottom
    centre; ``robot``: base-frame x / y)."""
    h, w = depth_m.shape
    xy, plane_depth = table_points(intrinsics, extrinsics, w, h)
    ok = np.isfinite(plane_depth) & (np.abs(depth_m - plane_depth) < TABLE_DEPTH_TOL_M) & (segmentation < 0)
    ok &= (xy[..., 0] >= table.x_range_m[0] + TABLE_EDGE_MARGIN_M) & (xy[..., 0] <= table.x_range_m[1] - TABLE_EDGE_MARGIN_M)
    ok &= (xy[..., 1] >= table.y_range_m[0] + TABLE_EDGE_MARGIN_M) & (xy[..., 1] <= table.y_range_m[1] - TABLE_EDGE_MARGIN_M)
    reach = np.hypot(xy[..., 0], xy[..., 1])
    ok &= (reach >= FREE_REACH_M[0]) & (reach <= FREE_REACH_M[1])
    a = np.asarray(anchor_position, float)
    d = np.hypot(xy[..., 0] - a[0], xy[..., 1] - a[1])
    ok &= (d < SIDE_MAX_DIST_M) & (d >= anchor.footprint_radius_m)
    if frame == "robot":
        dx, dy = xy[..., 0] - a[0], xy[..., 1] - a[1]
        side = {"left": (dy > SIDE_MIN_M) & (np.abs(dy) > np.abs(dx)), "right": (dy < -SIDE_MIN_M) & (np.abs(dy) > np.abs(dx)),
                "front": (dx < -SIDE_MIN_M) & (np.abs(dx) > np.abs(dy)), "behind": (dx > SIDE_MIN_M) & (np.abs(dx) > np.abs(dy))}
    else:
        from ..core.relations import DEPTH_MIN_PX

        ua = project_px(a[None, :], intrinsics, extrinsics)[0]
        u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        du, dv = u - ua[0], v - ua[1]
        side = {"left": (du < -SIDE_MIN_PX) & (np.abs(du) > np.abs(dv)), "right": (du > SIDE_MIN_PX) & (np.abs(du) > np.abs(dv)),
                "front": (dv > DEPTH_MIN_PX) & (np.abs(dv) > np.abs(du)), "behind": (dv < -DEPTH_MIN_PX) & (np.abs(dv) > np.abs(du))}
    ok &= side[relation]
    pts = xy.reshape(-1, 2)
    flat = ok.ravel()
    for obj, pos, quat in objects:
        idx = np.flatnonzero(flat)
        if not len(idx):
            break
        flat[idx] = footprint_distance(pts[idx], obj, pos, quat) >= FREE_CLEARANCE_M
    return flat.reshape(h, w)

"""Geometric top-down parallel-jaw grasp sampler on a camera-frame point cloud.

Candidates: the gripper comes straight down (against the table normal), fingers closing across
the object at yaws every 15 degrees; each is checked for the fingers' swept boxes against the
rest of the scene cloud and the table, then scored (narrow, centred, deep enough). A dish too wide
for the hand (a bowl, a plate) is pinched at its rim instead: one finger inside, one outside, the
fingers closing across the wall at points around it.
Returned poses are the gripper base frame (GraspGen/Panda convention): x = finger axis ("left"),
z = approach, fingertip centre (TCP) at z = ``tcp_depth_m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.grasping import GRASP_FRAME_TO_TCP_M, grasp_height_m
from ..perception.tabletop import plane_axes, robust_std
from .geometry3d import hull_circle, table_plane


@dataclass(frozen=True)
class GraspSamplerConfig:
    """Gripper geometry (m) and sampling."""

    max_opening_m: float = 0.08
    width_margin_m: float = 0.012
    pad_depth_m: float = 0.045        # finger length above the TCP that must be free
    pad_thickness_m: float = 0.02
    pad_halfwidth_m: float = 0.012
    tip_below_tcp_m: float = 0.009
    tcp_depth_m: float = GRASP_FRAME_TO_TCP_M
    yaw_step_deg: float = 15.0
    hand_bottom_m: float = 0.037      # the hand's body above the fingers: its lowest point above the TCP, ...
    hand_halflength_m: float = 0.105  # ... its half length along the finger axis ...
    hand_halfwidth_m: float = 0.035   # ... and across it
    hand_margin_m: float = 0.012      # the planner keeps 8 mm from obstacles; a noisy sensor adds some
    hand_reach_above_m: float = 0.25  # the hand's body up to the pre-grasp 10 cm up, above the TCP
    pad_margin_m: float = 0.010       # ... around the open fingers too
    max_scene_points: int = 8192
    min_obstacle_height_m: float = 0.004  # what stands higher above the table may be an obstacle ...
    max_stray_points: int = 2  # ... and more points than this where an open finger goes is one


NOISE_SIGMAS = 3.0  # obstacles stand this many times the table's noise above it


def table_noise_m(heights: np.ndarray) -> float:
    """Robust rms of the heights of points within 1.5 cm of the table (the table's depth noise)."""
    near = heights[np.abs(heights) < 0.015]
    if len(near) < 100:
        return 0.0
    return robust_std(near)


def resting_sphere(uv: np.ndarray, h: np.ndarray, iters: int = 15) -> tuple[np.ndarray, float, float]:
    """Least-squares ball lying on the table through points given in table coordinates (``uv`` in
    the plane, ``h`` above it): its centre (2,) in the plane, radius and rms residual (m). The centre
    is at height r, so three unknowns; a camera sees one side of a ball, and the top face alone
    would put its middle off by a centimetre under depth noise."""
    c = np.array([*np.median(uv, axis=0), max(float(np.percentile(h, 95)) / 2, 0.005)])
    for _ in range(iters):
        d = np.stack([uv[:, 0] - c[0], uv[:, 1] - c[1], h - c[2]], axis=1)
        dist = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        res = dist - c[2]
        # d res / d (x, y, r): -(dx, dy)/dist, and -(h - r)/dist - 1 (centre height moves with r)
        jac = np.stack([-d[:, 0] / dist, -d[:, 1] / dist, -d[:, 2] / dist - 1.0], axis=1)
        step, *_ = np.linalg.lstsq(jac, -res, rcond=None)
        c = c + step
        if np.linalg.norm(step) < 1e-6:
            break
    d = np.stack([uv[:, 0] - c[0], uv[:, 1] - c[1], h - c[2]], axis=1)
    rms = float(np.sqrt(np.mean((np.linalg.norm(d, axis=1) - c[2]) ** 2)))
    return c[:2], float(c[2]), rms


BALL_MAX_RMS_M = 0.0029   # a resting-ball fit this close is a ball (blocks and cans fit worse, measured)
BALL_RADIUS_M = (0.012, 0.045)


RIM_STEP_DEG = 20.0       # rim grasps every this many degrees around a dish
RIM_MIN_DEPTH_M = 0.006   # a dish: its inside is at least this much lower than its rim
RIM_WIDTH_M = 0.012       # what the fingers close across at the rim (the wall and a margin)
RIM_BELOW_TOP_M = 0.012   # the TCP this far below the rim ...
RIM_FLOOR_CLEAR_M = 0.004  # ... with the fingertips at least this far above the dish's floor
RIM_WALL_HALF_M = 0.003   # the wall's middle this far inside the outline
RIM_INWARD_M = (0.0, 0.01, 0.02)  # the hand's centre this far inside the wall (the closing fingers centre it)


def dish_rim(uv: np.ndarray, h: np.ndarray, top: float) -> tuple[np.ndarray, float, float] | None:
    """(centre in the plane, rim radius, floor height) of a dish (a bowl, a plate with a raised rim):
    a ring of rim points around a visibly lower inside. None when the points are not a dish."""
    if len(uv) < 60:
        return None
    # the outline seen from above is the rim's outer circle (a camera may see only the far wall's
    # inside, an arc a circle fit cannot be trusted on): a circle through the hull's corners
    fit = hull_circle(uv)
    if fit is None:
        return None
    centre, r_out = fit
    dist = np.linalg.norm(uv - centre, axis=1)
    inside = dist < 0.6 * r_out
    if not 0.03 <= r_out <= 0.15:
        return None
    if inside.sum() < 0.05 * len(uv):
        # a ring with nothing inside: a floor as low as the table, not told apart from it
        # (a thin plate's); a third of the outline's area holds almost no points
        return centre, r_out - RIM_WALL_HALF_M, float(np.percentile(h, 2))
    floor = float(np.percentile(h[inside], 50))
    if floor > top - RIM_MIN_DEPTH_M:
        return None
    return centre, r_out - RIM_WALL_HALF_M, floor


def _ball(uv: np.ndarray, h: np.ndarray, top: float) -> tuple[np.ndarray, float] | None:
    """(centre in the plane, radius) when the points are a ball lying on the table, else None."""
    if len(h) < 30:
        return None
    centre, r, rms = resting_sphere(uv, h)
    if rms > BALL_MAX_RMS_M or not BALL_RADIUS_M[0] <= r <= BALL_RADIUS_M[1] or abs(2 * r - top) > 0.25 * top:
        return None
    return centre, r


class GeometricGraspSampler:
    """GraspBackend: top-down antipodal candidates, collision-checked against the scene cloud."""

    def __init__(self, config: GraspSamplerConfig | None = None, seed: int = 0) -> None:
        self.cfg = config or GraspSamplerConfig()
        self.seed = seed

    def grasps(self, cloud_cam: np.ndarray, object_idx: np.ndarray) -> tuple[list[tuple[np.ndarray, float]], int]:
        """Collision-free grasps for the object points, best first; (list, candidates tried)."""
        cfg = self.cfg
        if len(object_idx) == 0:
            raise RuntimeError("Mask removed all points; cannot generate grasp.")
        plane = table_plane(cloud_cam, self.seed)
        n, d = plane[:3], plane[3]
        obj = cloud_cam[object_idx]
        h_obj = obj @ n + d
        keep = h_obj > 0.003
        if keep.sum() < 10:
            raise RuntimeError("Mask removed all points; cannot generate grasp.")
        obj, h_obj = obj[keep], h_obj[keep]
        mask = np.ones(len(cloud_cam), bool)
        mask[object_idx] = False
        rest = cloud_cam[mask]
        h_rest = rest @ n + d
        # an obstacle rises above the table's noise: a structured-light table reads 2.5 mm rms at a
        # metre, 7% of its points more than 4 mm up, and those around a ball blocked every grasp
        rest = rest[h_rest > max(cfg.min_obstacle_height_m, NOISE_SIGMAS * table_noise_m(h_rest))]
        if len(rest) > cfg.max_scene_points:
            rng = np.random.default_rng(self.seed)
            rest = rest[rng.choice(len(rest), cfg.max_scene_points, replace=False)]
        e1, e2, _ = plane_axes(n).T
        top = float(np.percentile(h_obj, 99))
        uv = np.stack([obj @ e1, obj @ e2], axis=1)
        top_face = h_obj > top - 0.008
        ball = _ball(uv, h_obj, top)
        if ball is not None:  # a ball: its fitted centre and height, not the noisy top's
            top = 2.0 * ball[1]
        z_tcp = grasp_height_m(top)
        tried, out, fits = 0, [], False
        for yaw in np.deg2rad(np.arange(0.0, 180.0, cfg.yaw_step_deg)):
            tried += 1
            ax = np.cos(yaw) * e1 + np.sin(yaw) * e2
            perp = np.cross(n, ax)
            s = uv @ np.array([np.cos(yaw), np.sin(yaw)])
            t = uv @ np.array([-np.sin(yaw), np.cos(yaw)])
            width = float(s.max() - s.min())
            if width + cfg.width_margin_m > cfg.max_opening_m:
                continue
            fits = True
            if ball is not None:
                mid_s = float(ball[0] @ np.array([np.cos(yaw), np.sin(yaw)]))
                mid_t = float(ball[0] @ np.array([-np.sin(yaw), np.cos(yaw)]))
            else:  # the top face is seen whole from above, the sides only from the camera's side
                ts, tt = (s[top_face], t[top_face]) if top_face.sum() >= 20 else (s, t)
                mid_s = float((ts.max() + ts.min()) / 2)
                mid_t = float((tt.max() + tt.min()) / 2)
            centre = (mid_s * ax + mid_t * perp) - d * n + z_tcp * n
            depth_t = float(t.max() - t.min())
            clearance = self._clearance(rest, centre, ax, perp, n, d, width, depth_t)
            if clearance is None:
                continue
            # narrow, deep enough, and far from neighbours (a planner keeps margins around them)
            conf = (0.4 * (1.0 - width / cfg.max_opening_m) + 0.2 * min(depth_t / 0.05, 1.0)
                    + 0.4 * min(clearance / 0.04, 1.0))
            out.append((self._pose(ax, n, centre), float(np.clip(conf, 0.0, 1.0))))
        if not out:
            rim = dish_rim(uv, h_obj, top)
            if rim is not None:
                tried += self._rim_grasps(out, rest, rim, top, e1, e2, n, d)
            elif tried and not fits:
                raise RuntimeError(f"No grasp: the object is wider than the gripper opens "
                                   f"({cfg.max_opening_m * 100:.0f} cm) in every direction and has no rim to pinch.")
        if tried and not out:
            raise RuntimeError("No collision-free grasps found. All grasps collide with other objects.")
        out.sort(key=lambda g: -g[1])
        return out, tried

    def _rim_grasps(self, out: list, rest, rim, top: float, e1, e2, n, d) -> int:
        """Pinch grasps around a dish's rim (finger axis radial) into ``out``; candidates tried."""
        cfg = self.cfg
        centre2, radius, floor = rim
        z_tcp = max(top - RIM_BELOW_TOP_M, floor + cfg.tip_below_tcp_m + RIM_FLOOR_CLEAR_M)
        z_tcp = min(z_tcp, top)  # the pads (they reach below the TCP) must still meet the wall
        if len(rest):  # the dish's own unmasked fringe (no higher than its rim) is not an obstacle
            ruv = np.stack([rest @ e1, rest @ e2], axis=1)
            own = (np.linalg.norm(ruv - centre2, axis=1) < radius + 0.01) & (rest @ n + d < top + 0.004)
            rest = rest[~own]
        tried = 0
        for ang in np.deg2rad(np.arange(0.0, 360.0, RIM_STEP_DEG)):
            radial = np.array([np.cos(ang), np.sin(ang)])
            ax = radial[0] * e1 + radial[1] * e2
            perp = np.cross(n, ax)
            for off in RIM_INWARD_M:  # with a neighbour close outside, the hand moves in over the dish
                tried += 1
                p2 = centre2 + (radius - off) * radial
                centre = p2[0] * e1 + p2[1] * e2 - d * n + z_tcp * n
                clearance = self._clearance(rest, centre, ax, perp, n, d, RIM_WIDTH_M, RIM_WIDTH_M)
                if clearance is not None:
                    break
            if clearance is None:
                continue
            # a rim pinch holds less than a grasp across; one off the wall slides the dish while closing
            conf = 0.3 + 0.3 * min(clearance / 0.04, 1.0) - 2.0 * off
            out.append((self._pose(ax, n, centre), float(conf)))
        return tried

    def _pose(self, ax: np.ndarray, n: np.ndarray, tcp: np.ndarray) -> np.ndarray:
        """The gripper base pose (4x4, camera frame) coming down against ``n`` with the fingers
        closing along ``ax`` and the TCP at ``tcp``."""
        approach = -n
        pose = np.eye(4)
        pose[:3, 0], pose[:3, 1], pose[:3, 2] = ax, np.cross(approach, ax), approach
        pose[:3, 3] = tcp - approach * self.cfg.tcp_depth_m
        return pose

    def _clearance(self, rest, centre, ax, perp, n, d, width, depth) -> float | None:
        """None when the open fingers collide, else their free distance to the nearest neighbour (m)."""
        cfg = self.cfg
        # the fingertips must stay above the table
        if (centre @ n + d) - cfg.tip_below_tcp_m < 0.003:
            return None
        if len(rest) == 0:
            return 0.1
        rel = rest - centre
        a, p, z = rel @ ax, rel @ perp, rel @ n
        # unmasked fringe of the object itself (segmentation edges) is not an obstacle
        own = (np.abs(a) <= width / 2 + 0.004) & (np.abs(p) <= depth / 2 + 0.004)
        a, p, z = a[~own], p[~own], z[~own]
        open_half = cfg.max_opening_m / 2  # the hand approaches fully open
        pm = cfg.pad_margin_m
        in_pad = ((np.abs(a) >= open_half - 0.002) & (np.abs(a) <= open_half + cfg.pad_thickness_m + pm)
                  & (np.abs(p) <= cfg.pad_halfwidth_m + pm)
                  & (z >= -cfg.tip_below_tcp_m - 0.004) & (z <= cfg.pad_depth_m + 0.06))
        between = (np.abs(a) < open_half) & (np.abs(p) <= cfg.pad_halfwidth_m) & (z >= -cfg.tip_below_tcp_m) & (z < 0.12)
        # the hand's body (it starts where the fingers end) must clear neighbours too
        m = cfg.hand_margin_m
        # (up to where the straight approach starts: what is higher, the arm itself over the table
        # at home, moves away before the hand comes down)
        in_hand = ((np.abs(a) <= cfg.hand_halflength_m + m) & (np.abs(p) <= cfg.hand_halfwidth_m + m)
                   & (z >= cfg.hand_bottom_m - m) & (z <= cfg.hand_reach_above_m))
        if in_pad.sum() > cfg.max_stray_points or between.sum() > 5 or in_hand.sum() > 5:
            return None
        band = (np.abs(p) <= cfg.pad_halfwidth_m + 0.03) & (z >= -cfg.tip_below_tcp_m - 0.01) & (z <= 0.12)
        outside = np.abs(a[band]) - (open_half + cfg.pad_thickness_m)
        outside = outside[outside > -0.001]
        return float(outside.min()) if len(outside) else 0.1

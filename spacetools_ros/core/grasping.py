"""Geometric top-down grasps and placements for known object shapes (TCP frame: x = finger
opening axis, z = approach direction)."""

from __future__ import annotations

import math

import numpy as np

from .geometry import Pose
from .planning_scene import CollisionObject

FINGER_BELOW_TCP_M = 0.009   # finger pads reach this far past the TCP
MIN_TCP_HEIGHT_M = 0.016     # keeps the pads ~7 mm above the table
GRASP_FRAME_TO_TCP_M = 0.1034  # a grasp pose is the hand frame; the TCP lies this far along its z
MAX_DEPTH_BELOW_TOP_M = 0.04  # the fingers reach this far below an object's top
WIDTH_MARGIN_M = 0.012       # opening needed beyond the object's width


def top_down_rotation(yaw_rad: float) -> np.ndarray:
    """TCP rotation pointing straight down with the finger axis at ``yaw_rad`` in the base frame."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    x = np.array([c, s, 0.0])
    z = np.array([0.0, 0.0, -1.0])
    return np.stack([x, np.cross(z, x), z], axis=1)


def wrap_yaw(yaw_rad: float) -> float:
    """Grasp yaw folded into (-pi/2, pi/2] (a parallel gripper is symmetric under a half turn)."""
    y = math.atan2(math.sin(yaw_rad), math.cos(yaw_rad))
    if y > math.pi / 2:
        y -= math.pi
    elif y <= -math.pi / 2:
        y += math.pi
    return y


def grasp_height_m(height_m: float) -> float:
    """TCP height above the object's bottom: near the centre of mass (so a slender object does not
    swing about the finger axis), but no deeper than the fingers reach below its top."""
    top = height_m
    near_com = min(top - 0.02, height_m / 2 + 0.01)
    return max(max(near_com, top - MAX_DEPTH_BELOW_TOP_M), MIN_TCP_HEIGHT_M)


def _grasp_height(obj: CollisionObject) -> float:
    return obj.pose.position[2] + grasp_height_m(obj.height_m)


def _object_yaw(obj: CollisionObject) -> float:
    r = obj.pose.rotation
    return math.atan2(r[1, 0], r[0, 0])


def top_down_grasps(obj: CollisionObject, max_width_m: float) -> list[Pose]:
    """Candidate TCP grasp poses for an object, best first.

    Boxes are grasped across a horizontal side narrower than the gripper; cylinders and
    spheres across their diameter (yaws facing the robot first); bowls and plates at the rim.
    Returns an empty list when the object is too large for the gripper.
    """
    p = obj.pose.position
    prims = obj.primitives
    kind = prims[0].kind
    out: list[Pose] = []
    if len(prims) > 1 or (kind == "cylinder" and prims[0].size[1] * 2 < 0.025):
        # bowl or plate: pinch the rim on the side nearest the robot
        radius = max(pr.position[0] ** 2 + pr.position[1] ** 2 for pr in prims) ** 0.5 if len(prims) > 1 else prims[0].size[0]
        radius = radius if len(prims) > 1 else prims[0].size[0] - 0.01
        toward = -p[:2] / max(np.linalg.norm(p[:2]), 1e-9)
        for off in (0.0, 0.6, -0.6, 1.2, -1.2):
            ang = math.atan2(toward[1], toward[0]) + off
            c = p[:2] + radius * np.array([math.cos(ang), math.sin(ang)])
            z = max(p[2] + obj.height_m - 0.012, p[2] + MIN_TCP_HEIGHT_M)
            out.append(Pose(np.array([c[0], c[1], z]), top_down_rotation(wrap_yaw(ang))))
        return out
    z = _grasp_height(obj)
    centre = np.array([p[0], p[1], z])
    if kind == "box":
        sx, sy = prims[0].size[0] * 2, prims[0].size[1] * 2
        yaw = _object_yaw(obj)
        sides = sorted([(sx, yaw), (sy, yaw + math.pi / 2)])
        for width, ang in sides:
            if width + WIDTH_MARGIN_M <= max_width_m:
                out.append(Pose(centre, top_down_rotation(wrap_yaw(ang))))
        return out
    diameter = prims[0].size[0] * 2
    if diameter + WIDTH_MARGIN_M > max_width_m:
        return []
    facing = math.atan2(p[1], p[0]) + math.pi / 2  # fingers across the line of sight from the base
    for off in (0.0, math.pi / 4, -math.pi / 4, math.pi / 2):
        out.append(Pose(centre, top_down_rotation(wrap_yaw(facing + off))))
    return out


def grasp_tcp_in_base(extrinsics: np.ndarray, grasp_cam: np.ndarray) -> Pose:
    """TCP pose (base frame) of a 4x4 grasp pose given in the camera's optical frame.

    Raises:
        ValueError: when the grasp is not a finite rigid transform.
    """
    hand = Pose.from_matrix(extrinsics).compose(Pose.from_matrix(grasp_cam))
    return hand.compose(Pose(np.array([0.0, 0.0, GRASP_FRAME_TO_TCP_M]), np.eye(3)))

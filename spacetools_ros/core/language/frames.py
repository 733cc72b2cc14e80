"""Which way a side word points: in the camera view (image left/right, nearer/farther from the
camera) or in the robot's frame (left = +y of the base, right = -y, in front = -x, nearer the robot
along its forward axis, behind = +x), as a base-frame direction, an image direction, or the
camera-view word for the same direction."""

from __future__ import annotations

import numpy as np

from ..camera import project

SPATIAL_FRAMES = ("camera", "robot")
SIDE_RELATIONS = ("left", "right", "front", "behind")
_IMAGE = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "front": (0.0, 1.0), "behind": (0.0, -1.0)}


def check_frame(spatial_frame: str) -> str:
    """The frame name, or ValueError for anything but camera | robot."""
    if spatial_frame not in SPATIAL_FRAMES:
        raise ValueError(f"spatial_frame must be one of {SPATIAL_FRAMES}, got {spatial_frame!r}")
    return spatial_frame


def base_direction(relation: str) -> np.ndarray:
    """Unit (x, y) base-frame direction of a robot-frame side relation."""
    return np.array({"left": (0.0, 1.0), "right": (0.0, -1.0), "front": (-1.0, 0.0), "behind": (1.0, 0.0)}[relation])


def image_direction(relation: str, at_base: np.ndarray, spatial_frame: str, intrinsics: np.ndarray,
                    extrinsics: np.ndarray) -> np.ndarray:
    """Unit (du, dv) image direction in which a side relation points at a base point (v grows down)."""
    if check_frame(spatial_frame) == "camera":
        return np.array(_IMAGE[relation])
    p0 = np.asarray(at_base, float)[:3]
    p1 = p0 + np.append(0.05 * base_direction(relation), 0.0)
    d = np.diff(project(np.stack([p0, p1]), intrinsics, extrinsics), axis=0)[0]
    return d / (np.linalg.norm(d) or 1.0)


def camera_relation(relation: str, at_base: np.ndarray, spatial_frame: str, intrinsics: np.ndarray,
                    extrinsics: np.ndarray) -> str:
    """The camera-view side word closest to a relation's direction at the anchor (other relations
    unchanged): with the camera facing the robot, the robot's left is the image's right."""
    if relation not in SIDE_RELATIONS or check_frame(spatial_frame) == "camera":
        return relation
    du, dv = image_direction(relation, at_base, spatial_frame, intrinsics, extrinsics)
    if abs(du) >= abs(dv):
        return "left" if du < 0 else "right"
    return "front" if dv > 0 else "behind"


def robot_side_offset(relation: str, obj_base: np.ndarray, anchor_base: np.ndarray) -> tuple[float, float]:
    """(along, across) metres: where an object is from its anchor along a robot-frame side
    relation's direction and across it (the relation holds when ``along`` is clearly positive and
    larger than ``across``)."""
    d = base_direction(relation)
    off = np.asarray(obj_base, float)[:2] - np.asarray(anchor_base, float)[:2]
    return float(off @ d), float(abs(off[0] * d[1] - off[1] * d[0]))

"""Collision/visual primitives of scene objects, shared by the simulator and the planner.

Each object is a set of primitives in its own frame: origin at the centre of its footprint
on the table top, z up, rotated by the object's yaw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import Pose, rot_z
from .scene import SceneObject

BOWL_WALL_SEGMENTS = 16
BOWL_WALL_THICKNESS_M = 0.006
BOWL_BOTTOM_THICKNESS_M = 0.008
PLATE_FLOOR_THICKNESS_M = 0.003  # a plate is a shallow dish: a thin floor inside a raised rim
DISH_FLOOR_M = {"bowl": BOWL_BOTTOM_THICKNESS_M, "plate": PLATE_FLOOR_THICKNESS_M}


@dataclass(frozen=True)
class Primitive:
    """A MuJoCo-style primitive.

    Attributes:
        kind: ``box`` | ``cylinder`` | ``sphere``.
        size: MuJoCo size: box half-extents (3); cylinder (radius, half-height); sphere (radius,).
        position: (3,) centre in the object frame, metres.
        yaw_rad: rotation about the object frame's z axis.
    """

    kind: str
    size: tuple[float, ...]
    position: tuple[float, float, float]
    yaw_rad: float = 0.0

    def half_height(self) -> float:
        """Half of the vertical extent."""
        return {"box": self.size[-1], "cylinder": self.size[-1], "sphere": self.size[0]}[self.kind]


def object_primitives(obj: SceneObject) -> tuple[Primitive, ...]:
    """Primitives of a scene object in its own frame."""
    if obj.shape == "box":
        sx, sy, sz = obj.size
        return (Primitive("box", (sx / 2, sy / 2, sz / 2), (0.0, 0.0, sz / 2)),)
    if obj.shape == "cylinder":
        d, h = obj.size
        return (Primitive("cylinder", (d / 2, h / 2), (0.0, 0.0, h / 2)),)
    if obj.shape == "sphere":
        r = obj.size[0] / 2
        return (Primitive("sphere", (r,), (0.0, 0.0, r)),)
    # bowl or plate: a flat floor and a ring of wall segments (a plate's rim is what a hand pinches)
    d, h = obj.size
    r = d / 2
    t = BOWL_WALL_THICKNESS_M
    floor = DISH_FLOOR_M[obj.shape]
    prims = [Primitive("cylinder", (r, floor / 2), (0.0, 0.0, floor / 2))]
    n = BOWL_WALL_SEGMENTS
    seg_half_len = (r - t / 2) * math.tan(math.pi / n) + t / 2
    for k in range(n):
        a = 2 * math.pi * k / n
        rc = r - t / 2
        prims.append(Primitive("box", (t / 2, seg_half_len, h / 2), (rc * math.cos(a), rc * math.sin(a), h / 2), a))
    return tuple(prims)


def support_height_m(obj: SceneObject) -> float | None:
    """Height (above the table) of the surface an item placed on this object rests on.

    Returns None when nothing can be placed on the object (spheres).
    """
    if obj.shape in DISH_FLOOR_M:
        return DISH_FLOOR_M[obj.shape]
    if obj.shape == "sphere":
        return None
    return obj.height_m


def support_radius_m(obj: SceneObject) -> float:
    """Radius of the usable support area (inside a bowl or a plate's rim, on top of a box)."""
    if obj.shape in DISH_FLOOR_M:
        return obj.size[0] / 2 - BOWL_WALL_THICKNESS_M
    if obj.shape == "box":
        return min(obj.size[0], obj.size[1]) / 2
    return obj.size[0] / 2


def object_pose(obj: SceneObject, z_m: float = 0.0) -> Pose:
    """Pose of the object frame in the base frame, as described by the scene."""
    return Pose(np.array([obj.position[0], obj.position[1], z_m]), rot_z(math.radians(obj.yaw_deg)))

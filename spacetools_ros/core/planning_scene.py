"""The planner's view of the world: collision objects, the table and an attached (held) object."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .geometry import Pose, quat_to_mat
from .scene import Scene, SceneObject, Table
from .shapes import Primitive, object_primitives


def footprint_radius(primitives: tuple[Primitive, ...]) -> float:
    """Radius of the vertical cylinder about the object frame's axis that holds every primitive (m)."""
    return max(math.hypot(p.position[0], p.position[1])
               + (math.hypot(p.size[0], p.size[1]) if p.kind == "box" else p.size[0]) for p in primitives)


@dataclass(frozen=True)
class CollisionObject:
    """A rigid obstacle made of primitives.

    Attributes:
        name: object id (the scene object's name).
        primitives: primitives in the object frame.
        pose: object frame in the base frame.
        height_m: vertical extent from the object frame origin (its bottom).
    """

    name: str
    primitives: tuple[Primitive, ...]
    pose: Pose
    height_m: float

    def signature(self) -> tuple:
        """Hashable identity of geometry and pose (rounded to 0.1 mm / 1e-4)."""
        return (self.name, self.primitives, tuple(np.round(self.pose.position, 4)),
                tuple(np.round(self.pose.rotation.ravel(), 4)))


@dataclass(frozen=True)
class AttachedObject:
    """An object held by the gripper, rigidly attached to the TCP frame.

    Attributes:
        name: object id.
        primitives: primitives in the object frame.
        pose_in_tcp: object frame expressed in the TCP frame.
        height_m: object height (object frame origin is its bottom centre).
    """

    name: str
    primitives: tuple[Primitive, ...]
    pose_in_tcp: Pose
    height_m: float


@dataclass(frozen=True)
class PlanningScene:
    """Obstacles for planning. Frames: base frame."""

    objects: tuple[CollisionObject, ...] = ()
    table: Table = field(default_factory=Table)
    attached: AttachedObject | None = None

    def object(self, name: str) -> CollisionObject:
        """Collision object by name (KeyError when absent)."""
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)

    def without(self, name: str) -> "PlanningScene":
        """The scene without one object."""
        return PlanningScene(tuple(o for o in self.objects if o.name != name), self.table, self.attached)

    def signature(self) -> tuple:
        """Hashable identity of the scene's geometry."""
        att = None
        if self.attached is not None:
            a = self.attached
            att = (a.name, a.primitives, tuple(np.round(a.pose_in_tcp.matrix().ravel(), 4)))
        return (tuple(o.signature() for o in self.objects), self.table, att)


def collision_object(obj: SceneObject, position, quat_wxyz) -> CollisionObject:
    """Collision object for a scene object at a measured pose (position of its bottom centre)."""
    return CollisionObject(obj.name, object_primitives(obj),
                           Pose(np.asarray(position, dtype=float), quat_to_mat(quat_wxyz)), obj.height_m)


def planning_scene_from_poses(scene: Scene, poses: dict[str, tuple[np.ndarray, np.ndarray]]) -> PlanningScene:
    """Planning scene from measured object poses {name: (position, quat wxyz)}."""
    objs = tuple(collision_object(o, *poses[o.name]) for o in scene.objects if o.name in poses)
    return PlanningScene(objs, scene.table)

"""The robot tools' world: cameras, and grasp/place primitives planned against obstacles perceived
from the camera (never a simulator's ground truth). The same world serves the embedded sim and a
robot reached over ROS."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import MotionFailure
from ...core.geometry import Pose
from ...core.manipulation import BOX_PADDING_M, Manipulator
from ...core.planning_scene import CollisionObject, PlanningScene, footprint_radius
from ...core.results import ActionResult, FailureReason
from ...core.scene import Table
from ...core.shapes import DISH_FLOOR_M, Primitive
from ..perception.tabletop import TableScene
from .geometry3d import base_footprint
from .offline import PerceptionCache

FREE_GAP_M = 0.012       # a spot on the table is free when the held object keeps this from every other
FREE_SEARCH_M = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06)  # ... else the nearest free spot this far away
FREE_SEARCH_DIRECTIONS = 16


def free_spot(scene: PlanningScene, held, point_xy: np.ndarray) -> np.ndarray:
    """The table spot nearest ``point_xy`` where the held object's footprint keeps ``FREE_GAP_M``
    from every obstacle's (a large object asked onto a crowded spot moves a few cm aside rather
    than fail); ``point_xy`` itself when it is free or nothing nearby is."""
    r_held = footprint_radius(held.primitives)
    others = [(o.pose.position[:2], footprint_radius(o.primitives)) for o in scene.objects]

    def free(p: np.ndarray) -> bool:
        return all(np.linalg.norm(p - c) >= r_held + r + FREE_GAP_M for c, r in others)

    p0 = np.asarray(point_xy, float)
    if free(p0):
        return p0
    for step in FREE_SEARCH_M:
        for k in range(FREE_SEARCH_DIRECTIONS):
            a = 2 * np.pi * k / FREE_SEARCH_DIRECTIONS
            p = p0 + step * np.array([np.cos(a), np.sin(a)])
            if free(p):
                return p
    return p0


HOME_TOLERANCE_RAD = 0.02  # an arm within this of home (every joint) already stands out of the view
HELD_SEGMENT_M = 0.12  # a segment whose points' median lies this near the held object's centre is it


def planning_scene_from_perception(scene: TableScene, table) -> PlanningScene:
    """Gravity-aligned boxes around the perceived objects, in the base frame."""
    objs = []
    for o in scene.objects:
        fp = base_footprint(o.points_cam, scene.plane, scene.frame.extrinsics, dish=o.shape in ("bowl", "plate"))
        c, s = np.cos(fp.yaw), np.sin(fp.yaw)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        h = fp.height
        if o.shape in ("cylinder", "sphere", "bowl", "plate"):  # round: a box would stick out at the corners
            prim = Primitive("cylinder", (fp.radius + 0.002, h / 2), (0.0, 0.0, h / 2))
        else:
            prim = Primitive("box", (fp.sides[0] / 2 + BOX_PADDING_M, fp.sides[1] / 2 + BOX_PADDING_M, h / 2), (0.0, 0.0, h / 2))
        objs.append(CollisionObject(f"seen{o.index}_{o.color}_{o.shape}", (prim,),
                                    Pose(np.array([fp.centre[0], fp.centre[1], 0.0]), rot), h))
    return PlanningScene(tuple(objs), table)


def perceived_positions(scene: TableScene, table: Table) -> dict[str, list[float]]:
    """Bottom centres (base frame, m) of the perceived objects, named colour_shape (a second one of
    a kind gets _2, ...)."""
    out: dict[str, list[float]] = {}
    for o in planning_scene_from_perception(scene, table).objects:
        base = o.name.split("_", 1)[1]
        name, k = base, 2
        while name in out:
            name, k = f"{base}_{k}", k + 1
        out[name] = [round(float(v), 4) for v in o.pose.position]
    return out


class PerceivedToolWorld:
    """ToolWorld over a Manipulator: frames from a camera source, obstacles from perception.

    Args:
        manipulator: the grasp/place primitives (over any MotionBackend).
        capture: camera name (None = the robot's camera) -> fresh frame.
        camera_names: the cameras, the robot's first.
        table: the table the perceived objects stand on.
    """

    def __init__(self, manipulator: Manipulator, capture: Callable[[str | None], CameraFrame],
                 camera_names: list[str], table: Table, cache: PerceptionCache | None = None) -> None:
        self.manipulator = manipulator
        self._capture = capture
        self._cameras = list(camera_names)
        self._active = self._cameras[0]
        self.table = table
        self.cache = cache or PerceptionCache()
        self._last: CameraFrame | None = None
        self._before_first_look: Callable[[str], None] | None = None

    def clear_view_before_first_look(self, progress: Callable[[str], None]) -> None:
        """The next capture first moves the arm out of the camera's view when it stands elsewhere
        than home (see ``clear_view_first``); a command refused before anything is looked at moves
        nothing."""
        self._before_first_look = progress

    def cameras(self) -> list[str]:
        """Camera names (first = the robot's camera)."""
        return list(self._cameras)

    @property
    def active_camera(self) -> str:
        """The camera the robot looks through now (the first one until a view is selected)."""
        return self._active

    def use_camera(self, name: str | None) -> None:
        """Look through ``name`` from now on (None: the first camera again)."""
        name = name or self._cameras[0]
        if name not in self._cameras:
            raise ValueError(f"unknown camera '{name}' (cameras: {', '.join(self._cameras)})")
        if name != self._active:
            self._active, self._last = name, None

    def capture(self, camera: str | None = None) -> CameraFrame:
        """A fresh frame of ``camera`` (None: the active camera)."""
        pending, self._before_first_look = self._before_first_look, None
        if pending is not None and self.clear_view_first():
            pending("[agent] the arm stood in the camera's view: moved home before looking")
        name = camera or self._active
        frame = self._capture(None if name == self._cameras[0] else name)
        if name == self._active:
            self._last = frame
        return frame

    def perceived_positions(self) -> dict[str, list[float]]:
        """Where the objects seen in a fresh frame stand (see ``perceived_positions``)."""
        return perceived_positions(self.cache(self.capture()), self.table)

    def _perceived_scene(self) -> None:
        frame = self._last or self.capture()
        man = self.manipulator
        held = man.holding
        seen = self.cache(frame)
        ps = planning_scene_from_perception(seen, self.table)
        if held is not None:
            # the held object is attached, not an obstacle: the segment whose points lie where the
            # hand holds it (not whatever stands on the table under the hand: a plate below home)
            at = man.motion.tcp_pose().compose(held.pose_in_tcp).position + [0.0, 0.0, held.height_m / 2]
            t = frame.extrinsics
            ps = PlanningScene(tuple(c for o, c in zip(seen.objects, ps.objects) if np.linalg.norm(
                np.median(o.points_cam @ t[:3, :3].T + t[:3, 3], axis=0) - at) > HELD_SEGMENT_M), ps.table, held)
        man.motion.set_planning_scene(ps)

    def _clear_view(self) -> None:
        """Back to the home pose so the next camera image shows the table, not the arm."""
        man = self.manipulator
        try:
            # gently with a load, more so with one that swings in the grip
            man.go_home(speed_scale=0.35 * man.load_speed_factor() if man.holding is not None else 1.0)
        except MotionFailure:
            pass

    def clear_view_first(self) -> bool:
        """Before an episode's first capture: the arm goes home when it stands elsewhere (a cancelled
        or timed-out command leaves it where it stopped, in the camera's view, where its links would
        be perceived as obstacles around the objects). True when it moved; an arm that holds
        something or cannot plan its way home stays."""
        man = self.manipulator
        if man.holding is not None:
            return False
        before = man.motion.current_joints().copy()
        if float(np.abs(before - man.home_q).max()) <= HOME_TOLERANCE_RAD:
            return False
        self._clear_view()
        self._last = None
        return bool(np.abs(man.motion.current_joints() - before).max() > HOME_TOLERANCE_RAD)

    def grasp_comforts(self, tcp_poses_base: list[Pose]) -> list[float | None]:
        """How far from its joint limits the arm would take each grasp (None: out of reach), against
        the perceived scene (``Manipulator.grasp_comfort``)."""
        self._perceived_scene()
        return [self.manipulator.grasp_comfort(p) for p in tcp_poses_base]

    def execute_grasp(self, tcp_pose_base: Pose) -> ActionResult:
        """Plan against the perceived scene, run the grasp primitive, clear the camera's view."""
        self._perceived_scene()
        res = self.manipulator.execute_grasp(tcp_pose_base)
        if set(res.phase_times_s) - {"ik"}:
            self._clear_view()
            if res.success and self.manipulator.lost_hold():  # held when lifted, lost on the way
                res = replace(res, success=False, reason=FailureReason.OBJECT_DROPPED.value,
                              message="the object slipped out of the hand on its way out of the camera's view")
        return res

    def place_at(self, point_base: np.ndarray, support: str | None) -> ActionResult:
        """Place on the surface at ``point_base`` (the object there, if any, is the support)."""
        self._perceived_scene()
        man = self.manipulator
        point = np.asarray(point_base, dtype=float).copy()
        below = man.object_at(np.array([point[0], point[1], max(point[2] - 0.005, 0.0)]))
        if support is None and below is not None:
            support = below.name
        if below is not None and below.name.endswith(("_bowl", "_plate", "_box", "_cylinder")):
            # the camera's ray may hit a container's near rim, and a block stacked off-centre topples:
            # things go in the middle, on the floor or the top
            point[:2] = below.pose.position[:2]
            dish = next((k for k in DISH_FLOOR_M if below.name.endswith(f"_{k}")), None)
            point[2] = below.pose.position[2] + (DISH_FLOOR_M[dish] + 0.002 if dish else below.height_m)
        elif below is None and support is None and man.holding is not None:
            point[:2] = free_spot(man.motion.planning_scene(), man.holding, point[:2])
        res = man.place_at(point, support)
        if set(res.phase_times_s) - {"ik"}:
            self._clear_view()
        return replace(res, point_base=tuple(float(v) for v in point))

    def return_held(self) -> ActionResult | None:
        """At the end of an episode, an object still in the hand goes back where it was picked
        (None when nothing is held)."""
        man = self.manipulator
        if man.holding is None or man.pick_origin is None:
            return None
        self._perceived_scene()
        res = man.place_at(man.pick_origin, None)
        if set(res.phase_times_s) - {"ik"}:
            self._clear_view()
        return res


class SimToolWorld(PerceivedToolWorld):
    """The perceived world of an EmbeddedSession (frames rendered by its simulator)."""

    def __init__(self, session, cache: PerceptionCache | None = None) -> None:
        super().__init__(session.manipulator, session.sim.render, [c.name for c in session.scene.cameras],
                         session.scene.table, cache)
        self.session = session

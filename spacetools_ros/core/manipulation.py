"""Grasp and place primitives (SpaceTools' robot tools) over any MotionBackend.

Frames: base frame; a grasp is a TCP pose (x = finger opening axis, z = approach).
Every failure leaves the gripper in a safe state and returns a structured result.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .envelope import Workspace, approach_violation, grasp_violation, place_violation
from .errors import MotionFailure
from .geometry import Pose, rot_x, rot_z
from .grasping import top_down_rotation
from .planning_scene import AttachedObject, CollisionObject, PlanningScene, footprint_radius
from .results import ActionResult, FailureReason

if TYPE_CHECKING:
    from .motion_api import MotionBackend


@dataclass(frozen=True)
class PrimitiveConfig:
    """Distances (m) and thresholds of the primitives (see config/motion.yaml)."""

    approach_distance_m: float = 0.10
    lift_height_m: float = 0.12
    retreat_height_m: float = 0.10
    place_drop_m: float = 0.008
    min_hold_width_m: float = 0.004
    recentre_round_grasps: bool = True  # close twice on a can or ball, the second time turned a quarter turn
    release_clearance_m: float = 0.012  # released once the fingers open this much wider than the grip
    release_opening_m: float = 0.025    # a release opens the fingers this much wider than the grip
    transport_speed_scale: float = 0.7  # fraction of the planner's speed while carrying an object
    slender_speed_factor: float = 0.6   # ... times this for an object that swings in the grip (see _swings)
    workspace: Workspace = field(default_factory=Workspace)


EDGE_PINCH_RATIO = 0.5  # closed narrower than this fraction of a block's narrowest side: an edge, not faces
LIFTED_PINCH_RATIO = 0.7  # ... or, once lifted, narrower than this: it turns between the fingers (a face
                          # grip holds 0.9-1.0 of the perceived side; a cube held by its edge closed at
                          # 0.73, lifted 0.60, and went on turning to 0.23 on its way)
BOX_PADDING_M = 0.003   # perception pads a seen block's box by this on every side
# at the far edge of the table a grasp straight down may be out of reach (a block 80 cm from the base:
# the wrist would have to stand above it); leaning the hand about its finger axis, which keeps the pads
# on the same two faces, brings the wrist back towards the base
LEAN_DEG = (10.0, 20.0)
HALF_TURN = np.diag([-1.0, -1.0, 1.0])  # half a turn about the approach: the same grasp for a parallel gripper


def _leaning(grasp: Pose, angle_rad: float) -> list[Pose]:
    """The grasp leaned ``angle_rad`` about its finger axis either way (each stands for its
    half-turned twin too, which leans the same way): the one whose approach points away from the
    robot base (its wrist nearer the base) first."""
    out = [Pose(grasp.position, grasp.rotation @ rot_x(sign * angle_rad), grasp.frame) for sign in (1.0, -1.0)]
    outward = grasp.position[:2] / max(float(np.linalg.norm(grasp.position[:2])), 1e-9)
    return sorted(out, key=lambda p: -float(p.rotation[:2, 2] @ outward))


def _narrowest_side(target: CollisionObject | None) -> float | None:
    """A single-box obstacle's narrowest horizontal side without perception's padding, else None."""
    if target is None or len(target.primitives) != 1 or target.primitives[0].kind != "box":
        return None
    half = min(target.primitives[0].size[0], target.primitives[0].size[1])
    return max(0.0, 2.0 * (half - BOX_PADDING_M))


MAX_PLACE_DESCENTS = 3  # place poses whose descent is tried before a place fails
FINGERTIP_CLEAR_M = 0.005  # a release keeps the fingertips this far above the top of the support
RECENTRE_LIFT_M = 0.015  # a round object is lifted this far to centre between the pads before the turn
RECENTRE_MAX_OFF_AXIS = 0.5  # a grasp this far off a round object's axis, in radii, holds it off its centre
RECENTRE_SLIP_RATIO = 0.8  # the fingers closed narrower than this of the first close as it was lifted: it was
                           # squeezed out across the pads (held at their edge) and stands where the turn misses it
OFF_CENTRE_GRIP_M = 0.03  # an object whose centre is this far beside the fingers (a dish by its rim) swings


class _SqueezedOut(Exception):
    """A round object held at the pads' edge left the fingers as it was lifted to centre it."""


def _off_centre(obj: AttachedObject) -> bool:
    """Held well away from its centre (a dish by its rim)."""
    return float(np.linalg.norm(obj.pose_in_tcp.position[:2])) > OFF_CENTRE_GRIP_M


def _yaw(rotation: np.ndarray) -> float:
    """The heading of a rotation's x axis about the base's z."""
    return math.atan2(rotation[1, 0], rotation[0, 0])


def _swings(obj: AttachedObject) -> bool:
    """Taller than 1.3 times its narrowest horizontal width, or held well away from its centre (a
    dish by its rim): either turns in a parallel grip when the arm accelerates."""
    widths = [2 * (min(p.size[0], p.size[1]) if p.kind == "box" else p.size[0]) for p in obj.primitives]
    slender = bool(widths) and obj.height_m > 1.3 * max(widths)
    return slender or _off_centre(obj)


class Manipulator:
    """``execute_grasp`` and ``place_at`` with verification, over a MotionBackend."""

    def __init__(self, motion: "MotionBackend", max_gripper_width_m: float, home_q: np.ndarray,
                 config: PrimitiveConfig | None = None, capture_images: bool = True,
                 joint_limits: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.motion = motion
        # (lower, upper) position limits: how far a posture stands from them (None: not known)
        self.joint_limits = None if joint_limits is None else tuple(np.asarray(v, float) for v in joint_limits)
        self.max_width = max_gripper_width_m
        self.home_q = np.asarray(home_q, dtype=float)
        self.config = config or PrimitiveConfig()
        self.capture_images = capture_images
        self.holding: AttachedObject | None = None
        self.pick_origin: np.ndarray | None = None  # where the held object stood (bottom centre, base)

    # ------------------------------------------------------------------ helpers
    def _image(self):
        if not self.capture_images:
            return None
        frame = self.motion.capture()
        return None if frame is None else frame.rgb

    def _result(self, action: str, t0: float, phases: dict, plans: list, reason: str | None, msg: str) -> ActionResult:
        return ActionResult(action=action, success=reason is None, reason=reason, message=msg,
                            execution_time_s=self.motion.now_s() - t0, phase_times_s=dict(phases),
                            plan_times_s=tuple(plans), image=self._image())

    def object_at(self, point: np.ndarray, margin_m: float = 0.015) -> CollisionObject | None:
        """The obstacle whose bounding cylinder contains ``point`` (nearest axis first)."""
        best = None
        for o in self.motion.planning_scene().objects:
            r = footprint_radius(o.primitives)
            d = float(np.linalg.norm(point[:2] - o.pose.position[:2]))
            z_ok = o.pose.position[2] - margin_m <= point[2] <= o.pose.position[2] + o.height_m + margin_m
            if d <= r + margin_m and z_ok and (best is None or d < best[0]):
                best = (d, o)
        return None if best is None else best[1]

    def _timed(self, phases: dict, plans: list, name: str, fn, *args, **kw):
        t = self.motion.now_s()
        step = fn(*args, **kw)
        phases[name] = phases.get(name, 0.0) + self.motion.now_s() - t
        if step is not None and hasattr(step, "plan_time_s"):
            plans.append(step.plan_time_s)
            phases["plan"] = phases.get("plan", 0.0) + step.plan_time_s
        return step

    def limit_margin(self, q: np.ndarray) -> float:
        """How far a posture stands from its nearest joint limit, as a part of that joint's range
        (0 at a limit, 0.5 mid-range; 0.5 when the limits are not known)."""
        if self.joint_limits is None:
            return 0.5
        lo, hi = self.joint_limits
        q = np.asarray(q, float)
        return float(np.min(np.minimum(q - lo, hi - q) / np.maximum(hi - lo, 1e-9)))

    def _reachable(self, grasp: Pose, allowed: frozenset) -> tuple[list[tuple[Pose, np.ndarray, float]], MotionFailure | None]:
        """The grasp and its half-turned twin, where the arm reaches them (the pre-grasp too): each
        with its pre-grasp posture and its posture's margin from the joint limits, the larger first;
        and why one was not reached.
        Beside the base, the twin nearer a limit (2% of a wrist's range) held a plate by its rim in a
        posture from which the hand could not rise along a line, and the plate fell on the way."""
        out, last_exc = [], None
        for cand in (grasp, Pose(grasp.position, grasp.rotation @ HALF_TURN, grasp.frame)):
            try:
                q_pre = self.motion.ik(cand.translated(-cand.rotation[:, 2] * self.config.approach_distance_m),
                                       finger_width_m=self.max_width)
                q = self.motion.ik(cand, allowed=allowed, finger_width_m=self.max_width)
            except MotionFailure as exc:
                last_exc = exc
                continue
            out.append((cand, q_pre, self.limit_margin(q)))
        out.sort(key=lambda r: -r[2])
        return out, last_exc

    def _target_of(self, grasp: Pose) -> tuple[CollisionObject | None, frozenset]:
        """The obstacle a grasp at this pose takes, and the contacts it allows."""
        target = self.object_at(grasp.position)
        return target, (frozenset() if target is None else frozenset({frozenset({"robot", f"obj:{target.name}"})}))

    def grasp_comfort(self, grasp: Pose) -> float | None:
        """How far from its joint limits the arm would take this grasp (``limit_margin`` of the
        better of the grasp and its half-turned twin), or None when it cannot reach either."""
        if grasp_violation(grasp, self.config.workspace) is not None:
            return None
        reachable, _ = self._reachable(grasp, self._target_of(grasp)[1])
        return reachable[0][2] if reachable else None

    # ------------------------------------------------------------------ grasp
    def execute_grasp(self, grasp: Pose, object_name: str | None = None) -> ActionResult:
        """Pre-grasp, approach, close, lift, verify held.

        Args:
            grasp: TCP pose at the grasp, base frame.
            object_name: the obstacle being grasped (default: the one at the grasp point).
        """
        t0 = self.motion.now_s()
        phases: dict[str, float] = {}
        plans: list[float] = []
        cfg = self.config
        if self.holding is not None:
            return self._result("grasp", t0, phases, plans, FailureReason.INVALID_TARGET.value,
                                f"already holding '{self.holding.name}'")
        why = grasp_violation(grasp, cfg.workspace)  # the last line: whoever called, nothing outside moves
        if why is not None:
            return self._result("grasp", t0, phases, plans, FailureReason.INVALID_TARGET.value, why)
        scene = self.motion.planning_scene()
        target = None
        if object_name is not None:
            try:
                target = scene.object(object_name)
            except KeyError:
                return self._result("grasp", t0, phases, plans, FailureReason.INVALID_TARGET.value,
                                    f"unknown object '{object_name}'")
            allowed = frozenset({frozenset({"robot", f"obj:{target.name}"})})
        else:
            target, allowed = self._target_of(grasp)
        tp = time.perf_counter()
        # a parallel gripper is symmetric: the same grasp turned half a turn about the approach axis
        reachable, last_exc = [], None
        for group in ([grasp], *(_leaning(grasp, np.deg2rad(a)) for a in LEAN_DEG)):
            for cand in group:
                found, why = self._reachable(cand, allowed)
                reachable += [(c, q_pre) for c, q_pre, _ in found]
                last_exc = why or last_exc
            if reachable:  # leaning only where straight down is out of reach
                break
        phases["ik"] = time.perf_counter() - tp
        if not reachable:
            return self._result("grasp", t0, phases, plans, last_exc.reason, str(last_exc))
        try:
            if self.motion.gripper_width() < self.max_width - 0.005:
                self._timed(phases, plans, "open", self.motion.set_gripper, self.max_width)
        except MotionFailure as exc:
            return self._result("grasp", t0, phases, plans, exc.reason, str(exc))
        for k, (grasp, q_pre) in enumerate(reachable):
            try:
                self._timed(phases, plans, "pre_grasp", self.motion.move_joints, q_pre)
                self._timed(phases, plans, "approach", self.motion.move_linear, grasp, allowed=allowed)
                break
            except MotionFailure as exc:
                # near a joint limit the straight approach may not be followable from this
                # configuration; the half-turned grasp puts the wrist elsewhere: try it once
                if exc.reason != FailureReason.IK_FAILED.value or k == len(reachable) - 1:
                    return self._result("grasp", t0, phases, plans, exc.reason, str(exc))
        pre = grasp.translated(-grasp.rotation[:, 2] * cfg.approach_distance_m)
        width = self._timed(phases, plans, "close", self.motion.set_gripper, 0.0)
        closed_at = grasp
        if width >= cfg.min_hold_width_m:
            try:
                grasp, width = self._recentre(grasp, width, target, allowed, phases, plans)
            except _SqueezedOut as exc:  # open and back off: it stands where a fresh look finds it
                self._recover_open(pre, phases, plans, allowed)
                return self._result("grasp", t0, phases, plans, FailureReason.GRASP_MISSED.value, str(exc))
        if width < cfg.min_hold_width_m:
            self._recover_open(pre, phases, plans, allowed)
            return self._result("grasp", t0, phases, plans, FailureReason.GRASP_MISSED.value,
                                f"fingers closed to {width * 1000:.1f} mm: nothing between them")
        narrow = _narrowest_side(target)
        if narrow is not None and width < EDGE_PINCH_RATIO * narrow:
            # far narrower than the block's narrowest side: the fingers hold an edge or a corner,
            # which turns out of the grip on the way (or wedges the block on the hand)
            self._recover_open(pre, phases, plans, allowed)
            return self._result("grasp", t0, phases, plans, FailureReason.GRASP_MISSED.value,
                                f"fingers closed to {width * 1000:.1f} mm on a block {narrow * 1000:.0f} mm "
                                "across: only an edge was between them")
        held_allowed = frozenset({frozenset({"held", "table"}), frozenset({"held", "obj"})})
        turned_back = False
        while True:
            if target is not None:
                tcp_now = self.motion.tcp_pose()
                self.holding = AttachedObject(target.name, target.primitives,
                                              tcp_now.inverse().compose(target.pose), target.height_m)
                self.pick_origin = target.pose.position.copy()
                self.motion.set_planning_scene(PlanningScene(scene.without(target.name).objects, scene.table, self.holding))
            try:
                self._timed(phases, plans, "lift", self.motion.move_linear,
                            grasp.translated([0.0, 0.0, cfg.lift_height_m]), allowed=held_allowed)
                break
            except MotionFailure as exc:
                if grasp is not closed_at and not turned_back and exc.reason == FailureReason.IK_FAILED.value:
                    # the re-centred (turned) hand cannot rise along a line (its wrist near a
                    # limit): open, turn back and lift as first closed
                    self.holding = None
                    self.motion.set_planning_scene(scene)
                    grasp, width = self._turn_and_close([closed_at], allowed, phases, plans, rise=False)
                    turned_back = True
                    if width >= cfg.min_hold_width_m:
                        continue
                    exc = MotionFailure(FailureReason.GRASP_MISSED.value, "nothing held after turning back")
                # safe state: put the object down where it is, back off, hold nothing
                self._recover_open(pre, phases, plans, allowed)
                self._drop_held()
                return self._result("grasp", t0, phases, plans, exc.reason, f"lift failed, object released: {exc}")
        width = self.motion.gripper_width()
        if width < cfg.min_hold_width_m:
            self._drop_held()
            return self._result("grasp", t0, phases, plans, FailureReason.OBJECT_DROPPED.value,
                                "the object slipped out during the lift")
        if narrow is not None and width < LIFTED_PINCH_RATIO * narrow:
            # the fingers closed on it but, lifted, it turns between them (an edge or a corner is
            # held): carried on, it hangs off the hand and lands beside where it is put. Put it
            # back down where it was and let go
            try:
                self._timed(phases, plans, "recover", self.motion.move_linear, grasp, allowed=held_allowed)
            except MotionFailure:
                pass  # released from where the hand is: it was only lifted a few centimetres
            self._recover_open(pre, phases, plans, allowed)
            self._drop_held()
            return self._result("grasp", t0, phases, plans, FailureReason.GRASP_MISSED.value,
                                f"the block turned in the fingers as it was lifted ({width * 1000:.1f} mm held, "
                                f"{narrow * 1000:.0f} mm across): only an edge was between them")
        name = target.name if target is not None else "object"
        return self._result("grasp", t0, phases, plans, None, f"holding {name} ({width * 1000:.1f} mm)")

    def _recentre(self, grasp: Pose, width: float, target: CollisionObject | None, allowed: frozenset,
                  phases: dict, plans: list) -> tuple[Pose, float]:
        """Closing centres an object along the finger axis, not across it: flat pads squeeze a can
        or a ball at the same width wherever it sits between them, so a grasp moved across the
        fingers (by the camera's calibration error) holds it near the pads' edge, where it slips in
        transport, and the width cannot tell. For a round object: open, turn the hand a quarter
        turn about the (vertical) approach and close again; the offset now lies along the fingers,
        which centre it. Returns the grasp held and the width (the same ones when the turned hand
        cannot be reached, the object is not round or the fingers hold it away from its axis: a dish
        by its rim, which the turn would drag round under the open fingers)."""
        if (not self.config.recentre_round_grasps or target is None or len(target.primitives) != 1
                or target.primitives[0].kind not in ("cylinder", "sphere")
                or grasp.rotation[2, 2] > -0.95  # only a vertical approach turns about the object's axis
                or np.linalg.norm(grasp.position[:2] - target.pose.position[:2])
                > RECENTRE_MAX_OFF_AXIS * target.primitives[0].size[0]):
            return grasp, width
        # the two are the same grasp; the wrist may reach only one (IK may find the other one in
        # another arm posture, which the turn in place cannot reach: a joint at its limit)
        turns = [Pose(grasp.position, grasp.rotation @ rot_z(q), grasp.frame) for q in (np.pi / 2, -np.pi / 2)]
        q_now, reachable = self.motion.current_joints(), []
        for cand in turns:
            try:
                q = self.motion.ik(cand, allowed=allowed, finger_width_m=self.max_width)
            except MotionFailure:
                continue
            reachable.append((float(np.abs(np.asarray(q) - q_now).sum()), len(reachable), cand))
        if not reachable:
            return grasp, width
        reachable = [cand for *_, cand in sorted(reachable)]  # the wrist's own turn before another posture
        # lifted clear of the table the object hangs between the pads and centres along them; on the
        # table its friction holds it a few millimetres off (3.5 of 6 mm left on a can), which the
        # turn would put across the pads, where it creeps towards their edge on the way and falls
        try:
            self._timed(phases, plans, "recentre", self.motion.move_linear,
                        grasp.translated([0.0, 0.0, RECENTRE_LIFT_M]), allowed=allowed)
            self._timed(phases, plans, "recentre", self.motion.move_linear, grasp, allowed=allowed)
        except MotionFailure:
            pass  # turned where the hand is: as centred as the close left it
        now = self.motion.gripper_width()
        if now < RECENTRE_SLIP_RATIO * width:
            # a 5 cm can held 1 cm off across the pads slid out of them 2.3 cm as it was lifted: the
            # turned fingers, coming down where it had been, landed on it and knocked it over
            raise _SqueezedOut(f"the object slipped out across the fingers as it was lifted (closed from "
                               f"{width * 1000:.1f} to {now * 1000:.1f} mm): it was held at the pads' edge")
        return self._turn_and_close(reachable, allowed, phases, plans, fallback=grasp)

    def _turn_and_close(self, turns: list[Pose], allowed: frozenset, phases: dict, plans: list,
                        fallback: Pose | None = None, rise: bool = True) -> tuple[Pose, float]:
        """Open, rise clear above the object (``rise``; else turn in place: an object the fingers
        centred, under a wrist that cannot rise), turn to the first of ``turns`` the hand can come
        down to and close again: the grasp held and the width (when no turn can be made the hand
        comes back down and closes where it was: ``fallback``, or its pose now). Turned in place
        round an object off their middle, the open fingers swept a can held 1.5 cm off and knocked
        it over."""
        grasp = fallback if fallback is not None else self.motion.tcp_pose()
        up = np.array([0.0, 0.0, self.config.approach_distance_m if rise else 0.0])
        try:
            self._timed(phases, plans, "recentre", self.motion.set_gripper, self.max_width)
            if turns and rise:
                self._timed(phases, plans, "recentre", self.motion.move_linear, grasp.translated(up), allowed=allowed)
        except MotionFailure:
            turns = []  # the fingers did not open, or the hand cannot rise: close again where it is
        for cand in turns:
            try:
                if rise:
                    self._timed(phases, plans, "recentre", self.motion.move_linear, cand.translated(up), allowed=allowed)
                self._timed(phases, plans, "recentre", self.motion.move_linear, cand, allowed=allowed)
            except MotionFailure:
                continue
            grasp = cand
            break
        else:
            if turns and rise:  # no turn made: back down to where it closed first
                try:
                    self._timed(phases, plans, "recentre", self.motion.move_linear, grasp, allowed=allowed)
                except MotionFailure:
                    pass
        return grasp, self._timed(phases, plans, "close", self.motion.set_gripper, 0.0)

    def _recover_open(self, retreat: Pose, phases, plans, allowed: frozenset = frozenset()) -> None:
        """Open and back off along the approach; the hand may stand inside the grasped object's
        padded model (``allowed``: it and the robot), which would otherwise hold it down there, in
        the camera's view, hiding what it failed to pick."""
        self._timed(phases, plans, "recover", self.motion.set_gripper, self.max_width)
        try:
            self._timed(phases, plans, "recover", self.motion.move_linear, retreat, allowed=allowed)
        except MotionFailure:
            pass

    def lost_hold(self) -> bool:
        """Whether what the hand held has slipped out since it was lifted (the fingers closed past
        ``min_hold_width_m``); it is then no longer held."""
        if self.holding is None or self.motion.gripper_width() >= self.config.min_hold_width_m:
            return False
        self._drop_held()
        return True

    def _drop_held(self) -> None:
        scene = self.motion.planning_scene()
        self.holding = None
        self.motion.set_planning_scene(PlanningScene(scene.objects, scene.table, None))

    # ------------------------------------------------------------------ place
    def _above_walls(self, point: np.ndarray, support: str | None) -> np.ndarray:
        """The place point raised so that the fingertips stay FINGERTIP_CLEAR_M above the top of
        what the object goes on or in: fingers lowered into a small bowl cannot open clear of a
        ball without pressing the walls, and carry ball and bowl away on the retreat; released
        above the rim, the object drops into it."""
        if support is None or self.holding is None:
            return point
        try:
            obj = self.motion.planning_scene().object(support)
        except KeyError:
            return point
        top = float(obj.pose.position[2]) + obj.height_m
        tcp_above_bottom = float(self.holding.pose_in_tcp.position[2])  # the TCP's z points down
        lowest = top + FINGERTIP_CLEAR_M - tcp_above_bottom
        return point if point[2] >= lowest else np.array([point[0], point[1], lowest])

    def place_poses(self, point: np.ndarray) -> list[Pose]:
        """TCP poses that put the held object's bottom centre at ``point`` (+drop), best first."""
        assert self.holding is not None
        cur = self.motion.tcp_pose()
        cur_yaw = _yaw(cur.rotation)
        obj_in_tcp = self.holding.pose_in_tcp.position
        out = []
        for dyaw in (0.0, math.pi / 2, -math.pi / 2, math.pi / 4, -math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4):
            r = top_down_rotation(cur_yaw + dyaw) if abs(cur.rotation[2, 2] + 1) < 0.05 else rot_z(dyaw) @ cur.rotation
            bottom = np.asarray(point, dtype=float) + np.array([0.0, 0.0, self.config.place_drop_m])
            out.append(Pose(bottom - r @ obj_in_tcp, r))
        return out

    def _reachable_places(self, point: np.ndarray, lower_allowed: frozenset, phases: dict):
        """(place pose, joints above it) for each of ``place_poses`` that both ends of the descent
        can reach, in order; IK from the arm's configuration when asked (the arm may have moved)."""
        for pose in self.place_poses(point):
            if approach_violation(pose, self.config.workspace) is not None:  # a tilted hand could fling the object
                continue
            tp = time.perf_counter()
            try:
                q_pre = self.motion.ik(pose.translated([0.0, 0.0, self.config.lift_height_m]))
                self.motion.ik(pose, allowed=lower_allowed)
            except MotionFailure:
                continue
            finally:
                phases["ik"] = phases.get("ik", 0.0) + time.perf_counter() - tp
            yield pose, q_pre

    def place_at(self, point: np.ndarray, support: str | None = None) -> ActionResult:
        """Transport, lower, release, retreat, verify released.

        Args:
            point: (3,) where the held object's bottom centre goes (z = support surface), base frame.
            support: name of the object it is placed on/in (allowed contact while lowering).
        """
        t0 = self.motion.now_s()
        phases: dict[str, float] = {}
        plans: list[float] = []
        cfg = self.config
        point = np.asarray(point, dtype=float)
        if self.holding is None:
            return self._result("place", t0, phases, plans, FailureReason.NOT_HOLDING.value, "nothing is held")
        why = place_violation(point, cfg.workspace, surface_tol_m=0.005)
        if why is not None:
            return self._result("place", t0, phases, plans, FailureReason.INVALID_TARGET.value, why)
        if self.lost_hold():
            return self._result("place", t0, phases, plans, FailureReason.OBJECT_DROPPED.value,
                                "the object was lost before placing")
        point = self._above_walls(point, support)
        held = self.holding.name
        lower_allowed = frozenset({frozenset({"held", "table"})} |
                                  ({frozenset({"held", f"obj:{support}"}), frozenset({"robot", f"obj:{support}"})}
                                   if support else set()))
        # the first reachable pose; when the straight descent from above it cannot be followed
        # (near the base or a joint limit: the line breaks although both ends are reachable), the
        # next one, turned about the vertical (the hand is still above, nothing touched)
        last = None
        for tried, (pose, q_pre) in enumerate(self._reachable_places(point, lower_allowed, phases), 1):
            try:
                self._timed(phases, plans, "transport", self.motion.move_joints, q_pre,
                            speed_scale=cfg.transport_speed_scale * self.load_speed_factor())
                if self.lost_hold():
                    return self._result("place", t0, phases, plans, FailureReason.OBJECT_DROPPED.value,
                                        "the object slipped out during transport")
                self._timed(phases, plans, "lower", self.motion.move_linear, pose, allowed=lower_allowed)
            except MotionFailure as exc:
                last = exc
                if exc.reason == FailureReason.IK_FAILED.value and tried < MAX_PLACE_DESCENTS:
                    continue
                return self._result("place", t0, phases, plans, exc.reason, str(exc))
            break
        else:
            if last is not None:
                return self._result("place", t0, phases, plans, last.reason, str(last))
            return self._result("place", t0, phases, plans, FailureReason.IK_FAILED.value,
                                f"no reachable pose to place at {np.round(point, 3).tolist()}")
        grip_width = self.motion.gripper_width()
        # open just clear of the object: fingers spread to full width inside a bowl press on its
        # walls and carry it away on the retreat
        width = self._timed(phases, plans, "release", self.motion.set_gripper,
                            min(self.max_width, grip_width + cfg.release_opening_m))
        tcp = self.motion.tcp_pose()
        placed_pose = tcp.compose(self.holding.pose_in_tcp)
        placed = CollisionObject(held, self.holding.primitives,
                                 Pose(placed_pose.position - np.array([0, 0, cfg.place_drop_m]), placed_pose.rotation),
                                 self.holding.height_m)
        scene = self.motion.planning_scene()
        self.holding = None
        names = {o.name for o in scene.objects}
        if held in names:  # perception gave another object (a look-alike) this name since the pick
            k = 2
            while f"{held}_{k}" in names:
                k += 1
            placed = CollisionObject(f"{held}_{k}", placed.primitives, placed.pose, placed.height_m)
        self.motion.set_planning_scene(PlanningScene(scene.objects + (placed,), scene.table, None))
        # let go = the fingers moved well clear of the object (inside a bowl the walls may stop them
        # before they open fully)
        if width < min(self.max_width - 0.01, grip_width + cfg.release_clearance_m):
            return self._result("place", t0, phases, plans, FailureReason.RELEASE_FAILED.value,
                                f"fingers opened only to {width * 1000:.1f} mm (held at {grip_width * 1000:.1f} mm)")
        retreat = pose.translated([0.0, 0.0, cfg.retreat_height_m])
        try:
            retreat_allowed = frozenset({frozenset({"robot", f"obj:{placed.name}"})} |
                                        ({frozenset({"robot", f"obj:{support}"})} if support else set()))
            try:
                self._timed(phases, plans, "retreat", self.motion.move_linear, retreat, allowed=retreat_allowed)
            except MotionFailure as exc:
                if exc.reason != FailureReason.COLLISION.value:
                    raise
                # the opened fingers reach into a neighbour's padded model beside the object (a
                # real finger there would have pushed it): rising straight up moves them away from
                # it. Left down there, the arm stood in the camera's view and hid the anchor
                self._timed(phases, plans, "retreat", self.motion.move_linear, retreat,
                            allowed=retreat_allowed | {frozenset({"robot", "obj"})})
        except MotionFailure as exc:
            # the object is down and released: the place succeeded even if the hand cannot back out
            # along a straight line; the next motion plans its own way out
            return self._result("place", t0, phases, plans, None, f"released {held}; straight retreat blocked ({exc})")
        return self._result("place", t0, phases, plans, None, f"released {held}")

    def load_speed_factor(self) -> float:
        """How much slower than with a firm load the arm moves with what it holds (1: nothing held
        or a firm grip; ``slender_speed_factor`` for an object that swings in the grip)."""
        return self.config.slender_speed_factor if self.holding is not None and _swings(self.holding) else 1.0

    def go_home(self, speed_scale: float = 1.0) -> None:
        """Plan and move to the home configuration (raises MotionFailure); slower when holding.

        An object held well off its centre (a dish by its rim) is carried level instead: a
        joint-space path from the table to home tilts the hand on its way, and a rim-held plate then
        turns out of the fingers (seen: dropped upside down, 5 of 6 true-pose trials). The hand goes
        in a straight line, pointing down, to home's TCP position, keeping its yaw (turning it on the
        way, or a joint-space move to the home posture after, tilted the widest plate out again);
        where that line cannot be followed, the joint-space path as before. The arm then stands in
        another posture than home's, from which places near the base can be out of reach, so a
        firmly held object goes home by joints as before."""
        if self.holding is not None and _off_centre(self.holding) and self._carry_level(
                self.motion.tcp_pose(self.home_q).position):
            return
        self.motion.move_joints(self.home_q, speed_scale=speed_scale)

    def _carry_level(self, position: np.ndarray) -> bool:
        """The hand straight to ``position``, pointing down and keeping its yaw; False (nothing
        moved) when it does not point down now or the line cannot be planned."""
        cur = self.motion.tcp_pose()
        if cur.rotation[2, 2] > -0.95:
            return False
        try:
            self.motion.move_linear(Pose(np.asarray(position, float), top_down_rotation(_yaw(cur.rotation)), cur.frame))
        except MotionFailure:
            return False
        return True

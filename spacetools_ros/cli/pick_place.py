"""``spacetools pick-place``: one motion-level pick-and-place episode in the embedded sim,
using the simulator's true object poses (no perception, no policy)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..compose.session import EmbeddedSession
from ..core.errors import MotionFailure, TargetError
from ..core.geometry import Pose
from ..core.grasping import top_down_grasps
from ..core.results import ActionResult
from ..core.scene import Scene
from ..core.shapes import support_height_m, support_radius_m
from ..ros import topics

PLACE_AT_TOLERANCE_M = 0.03


@dataclass(frozen=True)
class PlaceTarget:
    """Where the picked object goes: a point on the table or an object to put it on/in."""

    point: np.ndarray  # (3,) bottom centre of the placed object, base frame
    support: str | None


def resolve_targets(scene: Scene, pick: str, place_on: str | None, place_at: tuple[float, float] | None) -> PlaceTarget:
    """Validate the pick object and the place target against the scene.

    Raises:
        TargetError: unknown objects, a target that is the picked object itself, a sphere
            support, a point off the table / outside the workspace or occupied.
    """
    names = [o.name for o in scene.objects]
    if pick not in names:
        raise TargetError(f"unknown object to pick '{pick}' (scene has: {', '.join(names)})")
    picked = scene.object(pick)
    if place_on is not None:
        if place_on not in names:
            raise TargetError(f"unknown place target '{place_on}' (scene has: {', '.join(names)})")
        if place_on == pick:
            raise TargetError("cannot place an object on itself")
        sup = scene.object(place_on)
        h = support_height_m(sup)
        if h is None:
            raise TargetError(f"cannot place anything on '{place_on}' ({sup.shape})")
        if picked.footprint_radius_m > support_radius_m(sup) + 0.03 and sup.shape == "bowl":
            raise TargetError(f"'{pick}' does not fit in '{place_on}'")
        return PlaceTarget(np.array([sup.position[0], sup.position[1], h]), place_on)
    assert place_at is not None
    x, y = place_at
    if not (math.isfinite(x) and math.isfinite(y)):
        raise TargetError("place point must be finite")
    r = picked.footprint_radius_m
    if not scene.table.contains(x, y, margin_m=r):
        raise TargetError(f"place point ({x:.3f}, {y:.3f}) is off the table")
    if math.hypot(x, y) < scene.table.robot_keepout_radius_m + r:
        raise TargetError(f"place point ({x:.3f}, {y:.3f}) is inside the robot base keep-out")
    for o in scene.objects:
        if o.name != pick and math.dist((x, y), o.position) < r + o.footprint_radius_m:
            raise TargetError(f"place point ({x:.3f}, {y:.3f}) is occupied by '{o.name}'")
    return PlaceTarget(np.array([x, y, 0.0]), None)


def check_success(session: EmbeddedSession, pick: str, target: PlaceTarget) -> tuple[bool, str | None]:
    """Ground-truth check of the final state (simulator poses)."""
    pos = session.sim.object_poses()[pick][0]
    if session.sim.arm_state().gripper_width_m < 0.05 and np.linalg.norm(pos - session.motion.tcp_pose().position) < 0.06:
        return False, "object still in the gripper"
    if target.support is not None:
        sup_pose = session.sim.object_poses()[target.support][0]
        sup = session.scene.object(target.support)
        d = float(np.linalg.norm(pos[:2] - sup_pose[:2]))
        on_top = pos[2] >= sup_pose[2] + (support_height_m(sup) or 0.0) - 0.012
        if d <= support_radius_m(sup) + 0.005 and on_top:
            return True, None
        return False, f"'{pick}' ended {d * 100:.1f} cm from the centre of '{target.support}' at z={pos[2]:.3f} m"
    d = float(np.linalg.norm(pos[:2] - target.point[:2]))
    if d <= PLACE_AT_TOLERANCE_M and abs(pos[2]) < 0.02:
        return True, None
    return False, f"'{pick}' ended {d * 100:.1f} cm from the place point"


def _grasp_candidates(session: EmbeddedSession, pick: str) -> list[Pose]:
    obj = session.motion.planning_scene().object(pick)
    cands = top_down_grasps(obj, session.robot.gripper_max_width_m)
    if not cands:
        raise TargetError(f"'{pick}' is too large for the gripper ({session.robot.gripper_max_width_m * 1000:.0f} mm)")
    return cands


def _precheck_reach(session: EmbeddedSession, pick: str, grasps: list[Pose], target: PlaceTarget) -> None:
    """Before any motion: some grasp and the place pose must have IK solutions."""
    man = session.manipulator
    allowed = frozenset({frozenset({"robot", f"obj:{pick}"})})
    if not any(_has_ik(session, g, allowed) for g in grasps):
        raise TargetError(f"'{pick}' is out of reach (no IK solution for any grasp)")
    obj = session.motion.planning_scene().object(pick)
    g = grasps[0]
    above = target.point + np.array([0.0, 0.0, (g.position[2] - obj.pose.position[2]) + man.config.place_drop_m])
    allowed_sup = frozenset({frozenset({"robot", f"obj:{target.support}"})}) if target.support else frozenset()
    ok = any(_has_ik(session, Pose(above, g.rotation @ rz), allowed_sup | allowed)
             for rz in (np.eye(3), np.diag([-1.0, -1.0, 1.0])))
    if not ok:
        raise TargetError(f"place target {np.round(target.point, 3).tolist()} is out of reach")


def _has_ik(session: EmbeddedSession, pose: Pose, allowed: frozenset) -> bool:
    try:
        session.motion.ik(pose, allowed=allowed, finger_width_m=session.robot.gripper_max_width_m)
        return True
    except MotionFailure:
        return False


def run_pick_place(session: EmbeddedSession, pick: str, target: PlaceTarget,
                   progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
                   on_result: Callable[[ActionResult], None] | None = None,
                   label: Callable[[str], None] | None = None) -> dict:
    """Run grasp, place and return home; returns the result document (without final poses).

    Raises:
        TargetError: a target found unreachable before any motion.
    """
    t_wall = time.perf_counter()
    grasps = _grasp_candidates(session, pick)
    _precheck_reach(session, pick, grasps, target)
    man = session.manipulator
    results: list[ActionResult] = []
    set_label = label or (lambda s: None)

    def record(res: ActionResult, what: str) -> bool:
        results.append(res)
        if on_result:
            on_result(res)
        progress(f"[pick-place] {what}: {'ok' if res.success else res.reason} "
                 f"({res.execution_time_s:.2f} s) {res.message}")
        return res.success

    grasp_res = None
    set_label(f"grasp {pick}")
    for g in grasps:  # the next candidate only when this one could not start (no IK, no motion)
        grasp_res = man.execute_grasp(g, pick)
        if grasp_res.success or set(grasp_res.phase_times_s) - {"ik"}:
            break
    assert grasp_res is not None
    if record(grasp_res, f"grasp {pick}"):
        set_label(f"place {pick} -> {target.support or np.round(target.point[:2], 2).tolist()}")
        record(man.place_at(target.point, target.support), "place")
    reason = next((r.reason for r in results if not r.success), None)
    set_label("home")
    t_home = session.motion.now_s()
    try:
        if man.holding is None:
            session.refresh_planning_scene()
        man.go_home()
    except MotionFailure as exc:
        progress(f"[pick-place] return home failed: {exc}")
    timings: dict[str, float] = {}
    for r in results:
        for k, v in r.phase_times_s.items():
            key = f"{r.action}.{k}"
            timings[key] = round(timings.get(key, 0.0) + v, 4)
        timings[f"{r.action}.total"] = round(r.execution_time_s, 4)
    timings["home"] = round(session.motion.now_s() - t_home, 4)
    timings["sim_time_s"] = round(session.sim.time_s, 4)
    timings["wall_time_s"] = round(time.perf_counter() - t_wall, 4)
    success, why = (False, reason) if reason else check_success(session, pick, target)
    return {
        "success": bool(success),
        "reason": None if success else (why or reason),
        "timings": timings,
        "plan_times_s": [round(t, 4) for r in results for t in r.plan_times_s],
        "actions": [r.to_dict() for r in results],
        "pick": pick,
        "place_target": {"point": [round(float(v), 4) for v in target.point], "support": target.support},
        "topics": {"result": topics.qualify(topics.EPISODE_RESULT)},
    }

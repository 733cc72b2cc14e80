"""Kinematics and collision checking of the arm against a planning scene, using MuJoCo as the
geometry engine (forward kinematics, Jacobians, convex-convex distance queries).

This is the planner's own model, built from the robot description and the planning scene;
it does not read the simulator's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.geometry import Pose, mat_to_quat, quat_to_mat, rotation_log
from ...core.planning_scene import PlanningScene
from ...core.robot_spec import RobotSpec

DETECTION_MARGIN_M = 0.02


@dataclass(frozen=True)
class Clearances:
    """Minimum distances (m) the planner keeps; pairs listed as allowed are not checked."""

    robot_object_m: float = 0.008
    robot_table_m: float = 0.005
    held_object_m: float = 0.005
    held_table_m: float = 0.003
    self_m: float = 0.0


class MujocoKinematics:
    """FK, IK and collision queries for one planning scene (rebuilt when the scene changes)."""

    def __init__(self, robot: RobotSpec, clearances: Clearances | None = None) -> None:
        import mujoco

        self._mj = mujoco
        self.robot = robot
        self.clear = clearances or Clearances()
        self._sig = None
        self._rng = np.random.default_rng(0)
        self.scene = PlanningScene()
        self.set_scene(self.scene)

    # ------------------------------------------------------------------ model
    def set_scene(self, scene: PlanningScene) -> None:
        """Use a planning scene (recompiles only when its geometry changed)."""
        sig = scene.signature()
        if sig == self._sig:
            self.scene = scene
            return
        from ..sim.mujoco_world import add_primitive, build_robot_spec

        mj = self._mj
        spec = build_robot_spec(self.robot, mj)
        world = spec.worldbody
        t = scene.table
        cx, cy = (t.x_range_m[0] + t.x_range_m[1]) / 2, (t.y_range_m[0] + t.y_range_m[1]) / 2
        hx, hy = (t.x_range_m[1] - t.x_range_m[0]) / 2, (t.y_range_m[1] - t.y_range_m[0]) / 2
        world.add_geom(name="table", type=mj.mjtGeom.mjGEOM_BOX, size=[hx, hy, 0.02], pos=[cx, cy, -0.02])
        for o in scene.objects:
            body = world.add_body(name=f"obj/{o.name}", pos=list(o.pose.position), quat=list(mat_to_quat(o.pose.rotation)))
            for k, p in enumerate(o.primitives):
                add_primitive(body, p, mj, name=f"obj/{o.name}/{k}")
        if scene.attached is not None:
            a = scene.attached
            tcp = spec.site(self.robot.tcp_frame)
            hand = spec.body("panda_hand")
            # attached pose: hand <- tcp <- object
            t_hand_tcp = Pose(np.array(tcp.pos), quat_to_mat(np.asarray(tcp.quat, dtype=float)))
            t_hand_obj = t_hand_tcp.compose(a.pose_in_tcp)
            body = hand.add_body(name="held", pos=list(t_hand_obj.position), quat=list(mat_to_quat(t_hand_obj.rotation)))
            for k, p in enumerate(a.primitives):
                add_primitive(body, p, mj, name=f"held/{k}", mass=0.001)
        for g in spec.geoms:
            g.margin = DETECTION_MARGIN_M
            g.gap = 0.0
        self.model = spec.compile()
        self.data = mj.MjData(self.model)
        m = self.model
        self._qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in self.robot.arm_joints])
        self._fadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in self.robot.finger_joints])
        self._tcp = m.site(self.robot.tcp_frame).id
        self._cat = self._geom_categories()
        self._self_excluded = self._default_self_contacts()
        self._sig = sig
        self.scene = scene

    def _geom_categories(self) -> list[str]:
        m = self.model
        cats = []
        for g in range(m.ngeom):
            name = m.geom(g).name
            if name == "table":
                cats.append("table")
            elif name.startswith("obj/"):
                cats.append("obj:" + name.split("/")[1])
            elif name.startswith("held/"):
                cats.append("held")
            else:
                cats.append("robot:" + m.body(m.geom_bodyid[g]).name)
        return cats

    def _default_self_contacts(self) -> set[frozenset]:
        """Robot link pairs touching at the home pose (mesh hulls of neighbours): never checked."""
        self._set_q(self.robot.home_rad, self.robot.gripper_max_width_m)
        self._mj.mj_collision(self.model, self.data)
        out = set()
        for c in self.data.contact[: self.data.ncon]:
            a, b = self._cat[c.geom1], self._cat[c.geom2]
            if a.startswith("robot:") and b.startswith("robot:"):
                out.add(frozenset((a, b)))
        return out

    def _set_q(self, q: np.ndarray, finger_width_m: float) -> None:
        self.data.qpos[self._qadr] = q
        self.data.qpos[self._fadr] = finger_width_m / 2
        self._mj.mj_kinematics(self.model, self.data)

    # ------------------------------------------------------------------ queries
    def fk(self, q: np.ndarray) -> Pose:
        """TCP pose (base frame) at configuration q."""
        self._set_q(np.asarray(q, dtype=float), self.robot.gripper_max_width_m)
        return Pose(self.data.site_xpos[self._tcp].copy(), self.data.site_xmat[self._tcp].reshape(3, 3).copy())

    def contacts(self, q: np.ndarray, finger_width_m: float, allowed: frozenset = frozenset()) -> list[tuple[str, str, float]]:
        """Pairs (category a, category b, distance m) closer than their clearance.

        Args:
            q: arm configuration.
            finger_width_m: finger opening used for the check.
            allowed: set of frozenset({cat_a, cat_b}) pairs to ignore; a category ``robot`` or
                ``obj:NAME`` matches every link / that object. ``("held", "*")`` style wildcards
                are written as frozenset({"held", "*"}).
        """
        self._set_q(np.asarray(q, dtype=float), finger_width_m)
        self._mj.mj_collision(self.model, self.data)
        hits = []
        cl = self.clear
        for c in self.data.contact[: self.data.ncon]:
            a, b = self._cat[c.geom1], self._cat[c.geom2]
            ga, gb = a.split(":")[0], b.split(":")[0]
            if ga == "robot" and gb == "robot":
                if frozenset((a, b)) in self._self_excluded:
                    continue
                need = cl.self_m
            elif {ga, gb} == {"robot", "held"}:
                continue  # the hand holds it
            elif "held" in (ga, gb):
                need = cl.held_table_m if "table" in (ga, gb) else cl.held_object_m
            elif "table" in (ga, gb):
                need = cl.robot_table_m
            else:
                need = cl.robot_object_m
            if c.dist >= need:
                continue
            if _allowed(a, b, allowed):
                continue
            hits.append((a, b, float(c.dist)))
        return hits

    def is_valid(self, q: np.ndarray, finger_width_m: float, allowed: frozenset = frozenset()) -> bool:
        """Within joint limits and collision-free."""
        return self.robot.within_limits(q) and not self.contacts(q, finger_width_m, allowed)

    def ik(self, target: Pose, seed: np.ndarray, *, tol_m: float = 5e-4, tol_rad: float = 5e-3,
           max_iter: int = 150, restarts: int = 8, finger_width_m: float | None = None,
           allowed: frozenset = frozenset(), check_collision: bool = True) -> np.ndarray | None:
        """Damped least-squares IK for the TCP, with posture bias toward ``seed``.

        Returns:
            A configuration inside the limits (and collision-free when asked), or None.
        """
        width = self.robot.gripper_max_width_m if finger_width_m is None else finger_width_m
        lo, hi = self.robot.position_lower_rad, self.robot.position_upper_rad
        seeds = [np.asarray(seed, dtype=float), self.robot.home_rad.copy()]
        for _ in range(restarts):
            seeds.append(self._rng.uniform(lo + 0.1, hi - 0.1))
        best = None
        for s in seeds:
            q = self._solve(target, np.clip(s, lo, hi), tol_m, tol_rad, max_iter, seed)
            if q is None:
                continue
            if check_collision and self.contacts(q, width, allowed):
                continue
            cost = float(np.sum((q - seed) ** 2))
            if best is None or cost < best[0]:
                best = (cost, q)
            if cost < 1.0:
                break
        return None if best is None else best[1]

    def _solve(self, target: Pose, q: np.ndarray, tol_m, tol_rad, max_iter, posture) -> np.ndarray | None:
        mj, m, d = self._mj, self.model, self.data
        lo, hi = self.robot.position_lower_rad, self.robot.position_upper_rad
        jacp = np.zeros((3, m.nv))
        jacr = np.zeros((3, m.nv))
        vadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in self.robot.arm_joints])
        lam = 0.05
        for _ in range(max_iter):
            self._set_q(q, self.robot.gripper_max_width_m)
            pos = d.site_xpos[self._tcp]
            rot = d.site_xmat[self._tcp].reshape(3, 3)
            e_p = target.position - pos
            e_r = rotation_log(target.rotation @ rot.T)
            if np.linalg.norm(e_p) < tol_m and np.linalg.norm(e_r) < tol_rad:
                return q
            mj.mj_comPos(m, d)
            mj.mj_jacSite(m, d, jacp, jacr, self._tcp)
            jac = np.vstack([jacp[:, vadr], jacr[:, vadr]])
            err = np.concatenate([e_p, e_r])
            jjt = jac @ jac.T + lam**2 * np.eye(6)
            dq = jac.T @ np.linalg.solve(jjt, err)
            # posture in the null space keeps the elbow near the seed
            null = np.eye(len(q)) - np.linalg.pinv(jac, rcond=1e-4) @ jac
            dq += null @ (0.05 * (np.asarray(posture) - q))
            n = np.linalg.norm(dq)
            if n > 0.3:
                dq *= 0.3 / n
            q = np.clip(q + dq, lo, hi)
        return None


def _allowed(a: str, b: str, allowed: frozenset) -> bool:
    if not allowed:
        return False
    names_a = {a, a.split(":")[0], "*"}
    names_b = {b, b.split(":")[0], "*"}
    for pair in allowed:
        p = tuple(pair) if len(pair) == 2 else (next(iter(pair)),) * 2
        if (p[0] in names_a and p[1] in names_b) or (p[1] in names_a and p[0] in names_b):
            return True
    return False


ROBOT_REACH_M = 1.25  # bound on the distance of any link or held-object point from any joint axis

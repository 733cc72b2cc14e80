"""MuJoCo simulation of the cell: physics, servo control, RGB-D rendering, ground truth."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

from ...core.camera import CameraFrame
from ...core.robot_spec import RobotSpec, load_robot_spec
from ...core.scene import Scene
from ...core.trajectory import JointTrajectory, TrajectoryFollower
from . import mujoco_world, sensor_model


def ensure_headless_gl() -> None:
    """Select a headless OpenGL backend unless the user chose one (must run before importing mujoco)."""
    if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
        os.environ["MUJOCO_GL"] = "egl"
    if os.environ.get("MUJOCO_GL") in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])


@dataclass(frozen=True)
class ArmState:
    """Measured arm joint state (rad, rad/s, N*m) and gripper opening (m)."""

    stamp_s: float
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    finger_positions: np.ndarray

    @property
    def gripper_width_m(self) -> float:
        """Distance between the finger pads."""
        return float(self.finger_positions.sum())


class MujocoSim:
    """The simulated cell. Not thread-safe: call from one thread (renderers are bound to it)."""

    def __init__(self, scene: Scene, robot: RobotSpec | None = None) -> None:
        ensure_headless_gl()
        import mujoco

        self._mj = mujoco
        self.scene = scene
        self.robot = robot or load_robot_spec()
        self.model = mujoco_world.build_world(scene, self.robot)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._arm_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in self.robot.arm_joints])
        self._arm_vadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in self.robot.arm_joints])
        self._finger_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in self.robot.finger_joints])
        self._finger_vadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in self.robot.finger_joints])
        self._arm_act = np.array([m.actuator(f"act/{n}").id for n in self.robot.arm_joints])
        self._grip_act = m.actuator("act/gripper").id
        self._kv_over_kp = np.array(mujoco_world.ARM_KV) / np.array(mujoco_world.ARM_KP)
        self._obj_qadr = {o.name: m.jnt_qposadr[m.joint(f"obj/{o.name}").id] for o in scene.objects}
        self._obj_vadr = {o.name: m.jnt_dofadr[m.joint(f"obj/{o.name}").id] for o in scene.objects}
        self._obj_body = {o.name: m.body(f"obj/{o.name}").id for o in scene.objects}
        self._body_to_obj = {v: i for i, v in enumerate(self._obj_body.values())}
        self._renderers: dict[tuple[int, int], object] = {}
        self._render_thread: int | None = None
        self._geom_surface: tuple[np.ndarray, np.ndarray] | None = None
        self.follower = TrajectoryFollower(self.robot.arm_joints, self.robot.home_rad)
        self.lock = threading.RLock()
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Arm at home, gripper open, objects at their scene poses, settled."""
        mj = self._mj
        mj.mj_resetData(self.model, self.data)
        self.data.qpos[self._arm_qadr] = self.robot.home_rad
        half = self.robot.gripper_max_width_m / 2
        self.data.qpos[self._finger_qadr] = half
        self.follower = TrajectoryFollower(self.robot.arm_joints, self.robot.home_rad)
        self.set_gripper(self.robot.gripper_max_width_m)
        mj.mj_forward(self.model, self.data)
        self.step(100)
        self.data.time = 0.0

    @property
    def time_s(self) -> float:
        """Simulation time, seconds."""
        return float(self.data.time)

    @property
    def timestep_s(self) -> float:
        """Physics step, seconds."""
        return float(self.model.opt.timestep)

    def arm_state(self) -> ArmState:
        """Measured joint positions, velocities, actuator torques and finger positions."""
        d = self.data
        return ArmState(self.time_s, d.qpos[self._arm_qadr].copy(), d.qvel[self._arm_vadr].copy(),
                        d.actuator_force[self._arm_act].copy(), d.qpos[self._finger_qadr].copy())

    def object_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Ground-truth object poses: name -> (position (3,), quaternion wxyz (4,)), base frame."""
        out = {}
        for name, a in self._obj_qadr.items():
            q = self.data.qpos[a:a + 7]
            out[name] = (q[:3].copy(), q[3:7].copy())
        return out

    def object_positions(self) -> dict[str, list[float]]:
        """{name: [x, y, z]} of every object, base frame, rounded to 0.1 mm (for result documents)."""
        return {k: [round(float(v), 4) for v in p] for k, (p, _) in self.object_poses().items()}

    def set_object_pose(self, name: str, position, quat_wxyz=(1.0, 0.0, 0.0, 0.0)) -> None:
        """Teleport an object (ground-truth manipulation, for tests and fault injection)."""
        a, v = self._obj_qadr[name], self._obj_vadr[name]
        self.data.qpos[a:a + 3] = position
        self.data.qpos[a + 3:a + 7] = quat_wxyz
        self.data.qvel[v:v + 6] = 0.0
        self._mj.mj_forward(self.model, self.data)

    # ------------------------------------------------------------------ control
    def set_arm_command(self, q: np.ndarray, v: np.ndarray | None = None) -> None:
        """Servo set-point with velocity feed-forward: tau = kp (q - q_m) + kv (v - v_m)."""
        ctrl = np.asarray(q, dtype=float)
        if v is not None:
            ctrl = ctrl + self._kv_over_kp * np.asarray(v, dtype=float)
        self.data.ctrl[self._arm_act] = ctrl

    def send_trajectory(self, traj: JointTrajectory, start_s: float | None = None) -> None:
        """Follow a trajectory with joint_trajectory_controller semantics."""
        self.follower.set_trajectory(traj, self.time_s, start_s)

    def stop_arm(self) -> None:
        """Cancel the active trajectory and hold the current set-point."""
        self.follower.stop(self.time_s)

    def set_gripper(self, width_m: float) -> None:
        """Command the finger opening (m); force-limited, so it stops on an object."""
        w = float(np.clip(width_m, 0.0, self.robot.gripper_max_width_m))
        self.data.ctrl[self._grip_act] = w / 2.0

    def step(self, n: int = 1) -> None:
        """Advance physics by n steps, updating the arm servo from the trajectory follower."""
        mj, m, d = self._mj, self.model, self.data
        for _ in range(n):
            q, v = self.follower.setpoint(d.time)
            self.set_arm_command(q, v)
            mj.mj_step(m, d)

    # ------------------------------------------------------------------ sensing
    def _renderer(self, width: int, height: int):
        key = (width, height)
        if key not in self._renderers:
            self._renderers[key] = self._mj.Renderer(self.model, height=height, width=width)
        return self._renderers[key]

    def render(self, camera: str | None = None, *, depth: bool = True, segmentation: bool = False,
               width: int | None = None, height: int | None = None, exact: bool = False) -> CameraFrame:
        """Render an RGB-D frame from a scene camera (default: the scene camera), as its sensor
        model measures it (``backends/sim/sensor_model.py``: noise, missing pixels = 0) with the
        camera pose it reports; ``exact=True`` keeps the renderer's exact depth (ground truth)."""
        spec = self.scene.cameras[0] if camera is None else next(c for c in self.scene.cameras if c.name == camera)
        w, h = width or spec.width, height or spec.height
        r = self._renderer(w, h)
        cam_id = self.model.camera(f"cam/{spec.name}").id
        r.update_scene(self.data, camera=cam_id)
        rgb = r.render().copy()
        dep = None
        seg = None
        model_depth = depth and not exact and not spec.sensor.ideal
        geom_ids = None
        if depth:
            r.enable_depth_rendering()
            r.update_scene(self.data, camera=cam_id)
            dep = r.render().astype(np.float32)
            r.disable_depth_rendering()
        if segmentation or model_depth:
            r.enable_segmentation_rendering()
            r.update_scene(self.data, camera=cam_id)
            raw = r.render()
            r.disable_segmentation_rendering()
            is_geom = raw[..., 1] == int(self._mj.mjtObj.mjOBJ_GEOM)
            geom_ids = np.where(is_geom & (raw[..., 0] >= 0), raw[..., 0], -1)
        if segmentation:
            seg = np.full(geom_ids.shape, -1, dtype=np.int32)
            body_of_geom = np.where(geom_ids >= 0, self.model.geom_bodyid[np.clip(geom_ids, 0, None)], -1)
            for body, idx in self._body_to_obj.items():
                seg[body_of_geom == body] = idx
        k = spec.intrinsics() * np.array([[w / spec.width], [h / spec.height], [1.0]])
        if model_depth:
            dep = sensor_model.measure_depth(dep, self._surface_maps(geom_ids), k, spec.sensor,
                                             sensor_model.sensor_seed(spec.sensor, self.scene.seed), spec.name,
                                             self.time_s)
        return CameraFrame(spec.name, rgb, dep, k, spec.extrinsics(), self.time_s, seg)

    def _surface_maps(self, geom_ids: np.ndarray) -> sensor_model.SurfaceMaps:
        """Albedo (luminance of the base colour) and specular strength of the geom seen at each pixel."""
        if self._geom_surface is None:
            m = self.model
            rgba = m.geom_rgba.copy()
            spec = np.full(m.ngeom, sensor_model.DEFAULT_SPECULAR)
            has_mat = m.geom_matid >= 0
            mat = m.geom_matid[has_mat]
            # a material's colour shows unless the geom sets its own (MuJoCo's default is 0.5 grey)
            own = np.any(np.abs(rgba[has_mat] - np.array([0.5, 0.5, 0.5, 1.0])) > 1e-6, axis=1)
            rgba[has_mat] = np.where(own[:, None], rgba[has_mat], m.mat_rgba[mat])
            spec[has_mat] = m.mat_specular[mat]
            albedo = rgba[:, :3] @ np.array([0.2126, 0.7152, 0.0722])
            self._geom_surface = (np.append(albedo, 0.0).astype(np.float32), np.append(spec, 0.0).astype(np.float32))
        albedo, spec = self._geom_surface
        return sensor_model.SurfaceMaps(albedo[geom_ids], spec[geom_ids])  # id -1: the appended 0 (nothing seen)

    def close(self) -> None:
        """Release the renderers (GL contexts)."""
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()

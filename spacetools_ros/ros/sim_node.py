"""spacetools_sim: the embedded MuJoCo cell as a ROS 2 node.

Publishes camera colour (rgb8) / depth (32FC1) / camera info on camera/..., joint_states, /clock
and, while someone subscribes, a PointCloud2 (camera/depth/points). Accepts
trajectory_msgs/JointTrajectory on arm_controller/joint_trajectory with joint_trajectory_controller
semantics and gripper widths (std_msgs/Float64MultiArray, metres) on gripper_controller/commands.
An empty trajectory stops the arm. spacetools/sim_status (JSON, 1 Hz) reports sim time, real-time
factor and the true object positions. Where a ROS 2 install provides tf2_msgs, the scene camera's
optical frame is published on /tf_static relative to the base frame (parameter publish_tf); joint
frames are robot_state_publisher's, and the objects' true poses are not on TF. Its health (real-time
factor, camera rate) goes to /diagnostics once a second. Names are relative (remap them with
``-r``): under a namespace they move with the node; /clock, /tf_static and /diagnostics stay global.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory as JointTrajectoryMsg

from ..backends.sim.mujoco_sim import MujocoSim, ensure_headless_gl
from ..core import gripper_command
from ..core.camera import backproject
from ..core.diagnostics import HealthReport, sim_health
from ..core.paths import config_dir
from ..core.robot_spec import load_robot_spec
from ..core.scene import load_scene
from ..core.transforms import transform_from_matrix
from . import conversions as conv
from . import topics
from .diagnostics import DiagnosticsPublisher
from .static_tf import StaticFrames


@dataclass(frozen=True)
class SimNodeConfig:
    """Parameters of the sim node."""

    scene: str
    real_time_factor: float
    joint_state_rate_hz: float
    camera_rate_hz: float
    clock_rate_hz: float
    publish_clock: bool
    pointcloud_stride: int
    publish_tf: bool
    diagnostics_period_s: float
    gripper_command_unit: str = "width"


def declare_config(node: Node) -> SimNodeConfig:
    """Declare the parameters and read them into a validated config."""
    d = node.declare_parameter
    cfg = SimNodeConfig(
        scene=d("scene", "").value,
        real_time_factor=float(d("real_time_factor", 1.0).value),
        joint_state_rate_hz=float(d("joint_state_rate_hz", 100.0).value),
        camera_rate_hz=float(d("camera_rate_hz", 10.0).value),
        clock_rate_hz=float(d("clock_rate_hz", 100.0).value),
        publish_clock=bool(d("publish_clock", True).value),
        pointcloud_stride=int(d("pointcloud_stride", 2).value),
        publish_tf=bool(d("publish_tf", True).value),
        diagnostics_period_s=float(d("diagnostics_period_s", 1.0).value),
        gripper_command_unit=gripper_command.check_unit(d("gripper_command_unit", "width").value),
    )
    for name in ("joint_state_rate_hz", "camera_rate_hz", "clock_rate_hz"):
        if not 0.1 <= getattr(cfg, name) <= 1000.0:
            raise ValueError(f"parameter {name} must be in 0.1..1000")
    if cfg.real_time_factor < 0 or cfg.pointcloud_stride < 1:
        raise ValueError("real_time_factor must be >= 0 and pointcloud_stride >= 1")
    if not 0.0 <= cfg.diagnostics_period_s <= 3600.0:
        raise ValueError("parameter diagnostics_period_s must be in 0..3600 (0 = off)")
    return cfg


class SimNode(Node):
    """ROS adapter of ``MujocoSim``; physics and rendering run in one worker thread."""

    def __init__(self, **kwargs) -> None:
        super().__init__("spacetools_sim", **kwargs)
        self.cfg = declare_config(self)
        ensure_headless_gl()
        scene_path = self.cfg.scene or str(config_dir() / "scenes" / "box_in_bowl.yaml")
        self.scene = load_scene(scene_path)
        self.robot = load_robot_spec()
        self.sim = MujocoSim(self.scene, self.robot)
        self.frame = topics.optical_frame(self.scene.camera.name)
        sensor_qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_rgb = self.create_publisher(Image, topics.COLOR_IMAGE, sensor_qos)
        self.pub_depth = self.create_publisher(Image, topics.DEPTH_IMAGE, sensor_qos)
        self.pub_rgb_info = self.create_publisher(CameraInfo, topics.COLOR_INFO, sensor_qos)
        self.pub_depth_info = self.create_publisher(CameraInfo, topics.DEPTH_INFO, sensor_qos)
        self.pub_points = self.create_publisher(PointCloud2, topics.POINTS, sensor_qos)
        self.pub_joints = self.create_publisher(JointState, topics.JOINT_STATES, 20)
        self.pub_clock = self.create_publisher(Clock, topics.CLOCK, 20)
        self.pub_status = self.create_publisher(String, topics.SIM_STATUS, 10)
        self.create_subscription(JointTrajectoryMsg, topics.ARM_TRAJECTORY, self._on_trajectory, 10)
        self.create_subscription(Float64MultiArray, topics.GRIPPER_COMMAND, self._on_gripper, 10)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self._lock = threading.Lock()
        self._pending: list = []
        self._stop = threading.Event()
        self.steps_per_s = 0.0
        self.camera_hz = 0.0  # camera frames per wall second, over the last measuring period
        self._measured = False
        camera_tf = transform_from_matrix(self.scene.camera.extrinsics(), topics.BASE_FRAME, self.frame)
        self.static_tf = StaticFrames.create(self, [camera_tf], self.sim.time_s) if self.cfg.publish_tf else None
        self._worker = threading.Thread(target=self._loop, name="sim-physics", daemon=True)
        self._worker.start()
        self.diagnostics = DiagnosticsPublisher.create(self, "simulation", self._health, hardware_id="mujoco",
                                                       period_s=self.cfg.diagnostics_period_s)
        self.get_logger().info(f"simulating {scene_path} ({len(self.scene.objects)} objects), "
                               f"real-time factor {self.cfg.real_time_factor}")

    # ------------------------------------------------------------------ commands (executor threads)
    def _on_trajectory(self, msg: JointTrajectoryMsg) -> None:
        if not msg.points:  # joint_trajectory_controller: an empty trajectory stops the arm where it is
            with self._lock:
                self._pending.append(("stop", None, 0.0))
            return
        try:
            traj, start = conv.trajectory_from_msg(msg)
            if set(traj.joint_names) != set(self.robot.arm_joints):
                raise ValueError(f"joints {list(traj.joint_names)} do not match the arm {list(self.robot.arm_joints)}")
            traj = traj.reordered(self.robot.arm_joints)
            if not all(self.robot.within_limits(q, tol=1e-3) for q in traj.positions):
                raise ValueError("trajectory leaves the joint position limits")
        except ValueError as exc:
            self.get_logger().error(f"rejected trajectory: {exc}")
            return
        with self._lock:
            self._pending.append(("trajectory", traj, start))

    def _on_gripper(self, msg: Float64MultiArray) -> None:
        try:
            width = gripper_command.decode(msg.data, self.cfg.gripper_command_unit, len(self.robot.finger_joints),
                                           self.robot.gripper_max_width_m)
        except ValueError as exc:
            self.get_logger().error(f"rejected gripper command ({self.cfg.gripper_command_unit}): {exc}")
            return
        with self._lock:
            self._pending.append(("gripper", width, 0.0))

    def _on_reset(self, _req, resp):
        with self._lock:
            self._pending.append(("reset", None, 0.0))
        resp.success, resp.message = True, "reset queued"
        return resp

    # ------------------------------------------------------------------ physics thread
    def _apply_pending(self) -> bool:
        """Apply queued commands; True after a reset (sim time went back to 0)."""
        sim = self.sim
        was_reset = False
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, payload, start in pending:
            if kind == "trajectory":
                sim.send_trajectory(payload, start_s=start if start > 0 else None)
            elif kind == "gripper":
                sim.set_gripper(payload)
            elif kind == "stop":
                sim.stop_arm()
            elif kind == "reset":
                sim.reset()
                was_reset = True
        return was_reset

    def _loop(self) -> None:
        sim, cfg = self.sim, self.cfg
        dt = sim.timestep_s
        next_js = next_cam = next_clock = 0.0
        wall0, sim0 = time.perf_counter(), sim.time_s
        count, frames, t_count = 0, 0, time.perf_counter()
        try:
            while not self._stop.is_set():
                if self._apply_pending():  # time restarts at 0: so do the publishing schedules and pacing
                    next_js = next_cam = next_clock = 0.0
                    wall0, sim0 = time.perf_counter(), sim.time_s
                sim.step(5)
                count += 5
                t = sim.time_s
                eps = 0.5 * dt  # float drift must not skip a period
                if cfg.publish_clock and t >= next_clock - eps:
                    next_clock = max(next_clock + 1.0 / cfg.clock_rate_hz, t)
                    self.pub_clock.publish(Clock(clock=conv.to_time(t)))
                if t >= next_js - eps:
                    next_js = max(next_js + 1.0 / cfg.joint_state_rate_hz, t)
                    self._publish_joints()
                if t >= next_cam - eps:
                    next_cam = max(next_cam + 1.0 / cfg.camera_rate_hz, t)
                    self._publish_camera()
                    frames += 1
                if cfg.real_time_factor > 0:
                    ahead = (t - sim0) / cfg.real_time_factor - (time.perf_counter() - wall0)
                    if ahead > 0:
                        time.sleep(min(ahead, 0.05))
                    elif ahead < -0.5:  # cannot keep up: re-anchor instead of sprinting
                        wall0, sim0 = time.perf_counter(), t
                now = time.perf_counter()
                if now - t_count > 1.0:
                    self.steps_per_s = count / (now - t_count)
                    self.camera_hz = frames / (now - t_count)
                    self._measured = True
                    rt = self.steps_per_s * dt
                    self._publish_status(t, rt)
                    count, frames, t_count = 0, 0, now
        except Exception as exc:  # noqa: BLE001 - reported, never kills the process silently
            self.get_logger().error(f"simulation thread stopped: {exc!r}")
        finally:
            sim.close()

    def _health(self) -> HealthReport:
        return sim_health(running=self._worker.is_alive(), measured=self._measured,
                          rtf=self.steps_per_s * self.sim.timestep_s, rtf_target=self.cfg.real_time_factor,
                          camera_hz=self.camera_hz, camera_hz_target=self.cfg.camera_rate_hz,
                          sim_time_s=self.sim.time_s)

    def _publish_status(self, t: float, rtf: float) -> None:
        # the simulator's true object positions: for observers and tests (a real cell has none)
        objects = self.sim.object_positions()
        self.pub_status.publish(String(data=json.dumps({"sim_time_s": round(t, 3), "real_time_factor": round(rtf, 2),
                                                        "objects": objects})))

    def _publish_joints(self) -> None:
        st = self.sim.arm_state()
        names = list(self.robot.arm_joints) + list(self.robot.finger_joints)
        self.pub_joints.publish(conv.joint_state_msg(
            names, list(st.position) + list(st.finger_positions), list(st.velocity) + [0.0, 0.0],
            list(st.effort) + [0.0, 0.0], st.stamp_s))

    def _publish_camera(self) -> None:
        want_points = self.pub_points.get_subscription_count() > 0
        f = self.sim.render(depth=True)
        t = f.stamp_s
        self.pub_rgb.publish(conv.rgb_image_msg(f.rgb, t, self.frame))
        self.pub_depth.publish(conv.depth_image_msg(f.depth_m, t, self.frame))
        info = conv.camera_info_msg(f.intrinsics, f.width, f.height, t, self.frame)
        self.pub_rgb_info.publish(info)
        self.pub_depth_info.publish(info)
        if want_points:
            s = self.cfg.pointcloud_stride
            pts = backproject(f.depth_m, f.intrinsics)[::s, ::s].reshape(-1, 3)
            rgb = f.rgb[::s, ::s].reshape(-1, 3)
            keep = np.isfinite(pts[:, 2]) & (pts[:, 2] > 0) & (pts[:, 2] < 5.0)
            self.pub_points.publish(conv.pointcloud_msg(pts[keep], rgb[keep], t, self.frame))

    def shutdown(self) -> None:
        """Stop the physics thread (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._worker.join(timeout=5.0)
        self.get_logger().info(f"stopped at sim time {self.sim.time_s:.2f} s "
                               f"(last real-time factor {self.steps_per_s * self.sim.timestep_s:.2f})")


def main(args: list[str] | None = None) -> None:
    """Run the sim node until SIGINT/SIGTERM."""
    import sys

    from .spin import run_nodes

    sys.exit(run_nodes(lambda: [SimNode()], args))


if __name__ == "__main__":
    main()

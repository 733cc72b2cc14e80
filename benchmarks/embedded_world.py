"""Benchmarks of the embedded world: sim speed, camera rate, planning, time-parameterisation
optimality and one episode's wall time. Prints its figures; asserts nothing."""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")

from spacetools_ros.backends.motion.embedded_planner import EmbeddedPlanner  # noqa: E402
from spacetools_ros.backends.sim.mujoco_sim import MujocoSim  # noqa: E402
from spacetools_ros.cli.pick_place import resolve_targets, run_pick_place  # noqa: E402
from spacetools_ros.compose.session import EmbeddedSession  # noqa: E402
from spacetools_ros.core.geometry import Pose  # noqa: E402
from spacetools_ros.core.grasping import top_down_rotation  # noqa: E402
from spacetools_ros.core.paths import config_dir  # noqa: E402
from spacetools_ros.core.planning_scene import planning_scene_from_poses  # noqa: E402
from spacetools_ros.core.robot_spec import load_robot_spec  # noqa: E402
from spacetools_ros.core.scene import load_scene  # noqa: E402
from spacetools_ros.core.timing import time_parameterize  # noqa: E402


def main() -> None:
    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    robot = load_robot_spec()
    sim = MujocoSim(scene, robot)
    t = time.perf_counter()
    sim.step(5000)
    wall = time.perf_counter() - t
    print(f"sim speed (physics + servo, no rendering): {5000 * sim.timestep_s / wall:.1f}x real time")
    from spacetools_ros.ros import conversions as conv

    t = time.perf_counter()
    n = 20
    for _ in range(n):
        f = sim.render()
        conv.rgb_image_msg(f.rgb, f.stamp_s, "c")
        conv.depth_image_msg(f.depth_m, f.stamp_s, "c")
    print(f"camera frames (640x480 rgb8 + 32FC1 rendered and converted): {n / (time.perf_counter() - t):.1f} Hz max")
    sim.close()

    planner = EmbeddedPlanner(robot)
    planner.set_scene(planning_scene_from_poses(scene, {o.name: (np.array([*o.position, 0.0]), np.array([1.0, 0, 0, 0]))
                                                        for o in scene.objects}))
    rng = np.random.default_rng(0)
    times, ratios = [], []
    for _ in range(30):
        goals = []
        for _ in range(2):
            p = np.array([rng.uniform(0.3, 0.7), rng.uniform(-0.3, 0.3), rng.uniform(0.12, 0.35)])
            goals.append(planner.ik(Pose(p, top_down_rotation(rng.uniform(-1.5, 1.5))), robot.home_rad))
        plan = planner.plan_joints(goals[0], goals[1], finger_width_m=0.08)
        times.append(plan.plan_time_s)
        bound = time_parameterize(plan.path, robot.arm_joints, planner.vmax, planner.amax, step_rad=0.0005)
        ratios.append(plan.trajectory.duration_s / bound.duration_s)
    print(f"plan time (30 random top-down pairs, demo scene): median {np.median(times) * 1000:.0f} ms, "
          f"p95 {np.percentile(times, 95) * 1000:.0f} ms")
    print(f"trajectory duration / time-optimal bound (same path, same limits, 20x finer grid): "
          f"median {np.median(ratios):.3f}, max {np.max(ratios):.3f}")
    # executed duration (sim, servo-tracked) vs the bound for one demo-sized motion
    from spacetools_ros.backends.motion.sim_arm import SimArm

    sim = MujocoSim(scene, robot)
    arm = SimArm(sim)
    goal = planner.ik(Pose(np.array([0.5, -0.2, 0.15]), top_down_rotation(0.3)), robot.home_rad)
    plan = planner.plan_joints(robot.home_rad, goal, finger_width_m=0.08)
    rep = arm.execute(plan.trajectory)
    bound = time_parameterize(plan.path, robot.arm_joints, planner.vmax, planner.amax, step_rad=0.0005).duration_s
    print(f"executed motion (until within goal tolerance) / time-optimal bound: {rep.duration_s / bound:.3f} "
          f"({rep.duration_s:.2f} s vs {bound:.2f} s; max tracking error {rep.max_tracking_error_rad:.4f} rad)")
    sim.close()
    ros_rates()
    session = EmbeddedSession.create(scene)
    t = time.perf_counter()
    doc = run_pick_place(session, "red_block", resolve_targets(scene, "red_block", "blue_bowl", None), progress=lambda m: None)
    print(f"episode (demo, box into bowl): success={doc['success']}, wall {time.perf_counter() - t:.2f} s, "
          f"sim {doc['timings']['sim_time_s']:.2f} s")
    session.close()


def ros_rates(window_s: float = 8.0) -> None:
    """Publish rates of the sim node (its own process, real time) as received over DDS on loopback."""
    import subprocess
    import sys

    import rclpy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image, JointState

    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.bringup", "--duration", str(window_s + 8)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init()
    node = rclpy.create_node("rate_probe")
    counts = {"/joint_states": [], "/camera/color/image_raw": [], "/clock": []}
    for topic, typ in (("/joint_states", JointState), ("/camera/color/image_raw", Image), ("/clock", Clock)):
        node.create_subscription(typ, topic, lambda m, t=topic: counts[t].append(time.monotonic()), 10)
    stop = time.monotonic() + 25
    while time.monotonic() < stop and not counts["/camera/color/image_raw"]:
        rclpy.spin_once(node, timeout_sec=0.1)
    t0 = time.monotonic()
    for v in counts.values():
        v.clear()
    while time.monotonic() < t0 + window_s:
        rclpy.spin_once(node, timeout_sec=0.05)
    rates = {k: len(v) / window_s for k, v in counts.items()}
    print("sim node publish rates received over DDS (configured 100 / 5 / 100 Hz): "
          + ", ".join(f"{k} {v:.1f} Hz" for k, v in rates.items()))
    node.destroy_node()
    rclpy.shutdown()
    proc.wait(timeout=60)


if __name__ == "__main__":
    main()

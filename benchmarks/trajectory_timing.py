"""Benchmark of the planner's jerk-limited timing: duration against the acceleration-only time-optimal
bound on the same path, and the largest velocity / acceleration / jerk measured on the interpolated
trajectory against the scaled limits. Prints its figures; asserts nothing."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

from spacetools_ros.backends.motion.embedded_planner import (  # noqa: E402
    POLYLINE_CORNER_TOL_RAD, EmbeddedPlanner, Plan)
from spacetools_ros.backends.motion.jerk_timing import (  # noqa: E402
    distance_to_polyline, jerk_limited_trajectory, measured_limit_ratios)
from spacetools_ros.core.errors import MotionFailure  # noqa: E402
from spacetools_ros.core.geometry import Pose  # noqa: E402
from spacetools_ros.core.grasping import top_down_rotation  # noqa: E402
from spacetools_ros.core.paths import config_dir  # noqa: E402
from spacetools_ros.core.planning_scene import CollisionObject, PlanningScene, planning_scene_from_poses  # noqa: E402
from spacetools_ros.core.robot_spec import load_robot_spec  # noqa: E402
from spacetools_ros.core.scene import load_scene  # noqa: E402
from spacetools_ros.core.shapes import Primitive  # noqa: E402
from spacetools_ros.core.timing import time_parameterize  # noqa: E402

WALL = CollisionObject("wall", (Primitive("box", (0.03, 0.08, 0.2), (0.0, 0.0, 0.2)),),
                       Pose(np.array([0.5, 0.0, 0.0]), np.eye(3)), 0.4)


def joint_pairs(planner: EmbeddedPlanner, rng: np.random.Generator, n: int, around_wall: bool = False) -> list[Plan]:
    """Plans between random top-down TCP poses over the demo table, or on either side of a wall
    (the planner's RRT-Connect goes around it)."""
    plans: list[Plan] = []
    while len(plans) < n:
        if around_wall:
            ys = rng.uniform(0.15, 0.3) * np.array([1.0, -1.0])
            xyz = [np.array([rng.uniform(0.4, 0.6), y, rng.uniform(0.1, 0.25)]) for y in ys]
        else:
            xyz = [np.array([rng.uniform(0.3, 0.7), rng.uniform(-0.3, 0.3), rng.uniform(0.06, 0.35)]) for _ in range(2)]
        try:
            qs = [planner.ik(Pose(p, top_down_rotation(rng.uniform(-1.5, 1.5))), planner.robot.home_rad) for p in xyz]
            plans.append(planner.plan_joints(qs[0], qs[1], finger_width_m=0.08))
        except MotionFailure:
            continue
    return plans


def cartesian_lines(planner: EmbeddedPlanner, rng: np.random.Generator, n: int) -> list[Plan]:
    """Straight TCP lines like the approach / lift / lower moves: 5-15 cm down or up, some turning the hand."""
    plans: list[Plan] = []
    while len(plans) < n:
        try:
            p = np.array([rng.uniform(0.3, 0.7), rng.uniform(-0.3, 0.3), rng.uniform(0.2, 0.3)])
            yaw = rng.uniform(-1.5, 1.5)
            q = planner.ik(Pose(p, top_down_rotation(yaw)), planner.robot.home_rad)
            goal = Pose(p + [0.0, 0.0, -rng.uniform(0.05, 0.15)], top_down_rotation(yaw + rng.choice([0.0, 0.8])))
            plans.append(planner.plan_cartesian(q, goal, finger_width_m=0.08))
        except MotionFailure:
            continue
    return plans


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pairs", type=int, default=20, help="random joint-space start/goal pairs")
    ap.add_argument("--wall", type=int, default=5, help="random pairs on either side of a wall")
    ap.add_argument("--lines", type=int, default=10, help="random Cartesian lines")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    robot = load_robot_spec()
    planner = EmbeddedPlanner(robot)
    demo = planning_scene_from_poses(scene, {o.name: (np.array([*o.position, 0.0]), np.array([1.0, 0, 0, 0]))
                                             for o in scene.objects})
    rng = np.random.default_rng(args.seed)
    vmax, amax, jmax = planner.vmax, planner.amax, planner.jmax
    print(f"limits (scaled): vmax {np.round(vmax, 3).tolist()} rad/s, amax {np.round(amax, 3).tolist()} rad/s^2, "
          f"jmax {np.round(jmax, 1).tolist()} rad/s^3")
    planner.set_scene(demo)
    # (label, plans, corner tolerance of the planner's timing, that of the acceleration-only timing it replaced)
    groups = [("joint-space pairs, demo scene", joint_pairs(planner, rng, args.pairs), POLYLINE_CORNER_TOL_RAD, 0.05),
              ("Cartesian lines, demo scene", cartesian_lines(planner, rng, args.lines), np.pi, np.pi)]
    if args.wall:
        planner.set_scene(PlanningScene((*demo.objects, WALL), demo.table))
        groups.insert(1, ("joint-space pairs around a wall", joint_pairs(planner, rng, args.wall, True),
                          POLYLINE_CORNER_TOL_RAD, 0.05))
    worst = np.zeros(3)
    all_ratios, deviations, compute_ms, stops = [], [], [], 0
    for label, plans, corner_tol, old_corner_tol in groups:
        ratios, old_ratios, n_waypoints = [], [], []
        for plan in plans:
            traj = plan.trajectory
            t = time.perf_counter()
            retimed = jerk_limited_trajectory(plan.path, robot.arm_joints, vmax, amax, jmax, corner_tol_rad=corner_tol)
            compute_ms.append((time.perf_counter() - t) * 1000)
            stops += int(abs(retimed.duration_s - traj.duration_s) > 1e-9)  # the planner fell back to stopping
            bound = time_parameterize(plan.path, robot.arm_joints, vmax, amax, step_rad=0.0005,
                                      corner_tol_rad=corner_tol).duration_s
            ratios.append(traj.duration_s / bound)
            old = time_parameterize(plan.path, robot.arm_joints, vmax, amax, corner_tol_rad=old_corner_tol)
            old_ratios.append(old.duration_s / bound)
            worst = np.maximum(worst, measured_limit_ratios(traj, vmax, amax, jmax))
            qs, _ = traj.sample_many(np.linspace(0.0, traj.duration_s, 2000))
            deviations.append(float(distance_to_polyline(qs, plan.path).max()))
            n_waypoints.append(len(plan.path))
        all_ratios += ratios
        print(f"{label}: {len(plans)} paths ({sum(n > 2 for n in n_waypoints)} with more than 2 waypoints, "
              f"up to {max(n_waypoints)}); jerk-limited duration / acceleration-only bound: "
              f"median {np.median(ratios):.3f}, max {np.max(ratios):.3f} (the acceleration-only timing it "
              f"replaces, default grid: median {np.median(old_ratios):.3f}, max {np.max(old_ratios):.3f})")
    print(f"all {len(all_ratios)} paths: duration / bound median {np.median(all_ratios):.3f}, "
          f"max {np.max(all_ratios):.3f}")
    print(f"largest measured |v|/vmax {worst[0]:.4f}, |a|/amax {worst[1]:.4f}, |jerk|/jmax {worst[2]:.4f} "
          f"(finite differences every 0.1 ms of the interpolated trajectory)")
    print(f"largest joint-space distance from the planner's checked path: {max(deviations) * 1000:.3f} mrad; "
          f"{stops} path(s) whose spline hit something when re-checked, timed stopping at every waypoint")
    print(f"timing computation: median {np.median(compute_ms):.1f} ms, max {np.max(compute_ms):.1f} ms")


if __name__ == "__main__":
    main()

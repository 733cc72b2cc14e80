"""The agent in process vs. over ROS 2, same commands, both in real time.

In process: the embedded cell paced at real time. Over ROS: the spacetools_sim node (a separate
process, real time) is the robot; the agent reaches it only through its topics (joint states,
camera, trajectory and gripper commands), as it would a real arm. The difference per episode is
the ROS overhead (loopback DDS, waiting for fresh joint states and frames, start latency).
Usage: python benchmarks/agent_ros.py [REPEATS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")
os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))

from spacetools_ros.compose.episode import run_command  # noqa: E402
from spacetools_ros.compose.policy import make_policy  # noqa: E402
from spacetools_ros.compose.session import EmbeddedSession  # noqa: E402
from spacetools_ros.core.paths import config_dir  # noqa: E402
from spacetools_ros.core.scene import load_scene  # noqa: E402

COMMANDS = ("put the red block in the blue bowl", "put the yellow ball in the blue bowl",
            "move the green can to the right of the red block")


def _row(world: str, command: str, out, wall: float) -> dict:
    t = out.timings
    return {"world": world, "command": command, "success": out.success, "first_move": out.time_to_first_move_s,
            "total": wall, "tools": t["tools"], "planning": t["planning"], "execution": t["execution"],
            "policy": t["policy"]}


def _log_failures(resp) -> None:
    res = resp.data.get("result") if isinstance(resp.data, dict) else None
    if res and not res.get("success"):
        print(f"   {resp.name}: {res.get('reason')}: {res.get('message')}", file=sys.stderr)


def _report(r: dict) -> None:
    print(f"{r['world']:11s} {r['command']:55s} {'ok' if r['success'] else 'FAIL'} {r['total']:.1f} s",
          file=sys.stderr, flush=True)


def run_embedded(scene, command: str) -> dict:
    session = EmbeddedSession.create(scene, real_time_factor=1.0)
    try:
        t0 = time.perf_counter()
        out, ep = run_command(session, command, make_policy("scripted"), progress=lambda s: None, on_response=_log_failures)
        ep.close()
        return _row("in-process", command, out, time.perf_counter() - t0)
    finally:
        session.close()


def main() -> None:
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from std_srvs.srv import Trigger

    from spacetools_ros.ros.robot_session import RobotSession

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    scene_path = config_dir() / "scenes" / "box_in_bowl.yaml"
    scene = load_scene(scene_path)
    rows = []
    # first in process, with no sim node running (on a small machine it would take a core)
    for _ in range(repeats):
        for command in COMMANDS:
            rows.append(run_embedded(scene, command))
            _report(rows[-1])
    sim = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node", "--ros-args", "-p",
                            f"scene:={scene_path}", "-p", "real_time_factor:=1.0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init()
    node = rclpy.create_node("agent_ros_benchmark")
    robot = RobotSession.create(node, scene)
    reset = node.create_client(Trigger, "/spacetools_sim/reset")
    ex = MultiThreadedExecutor(num_threads=4)
    ex.add_node(node)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()
    try:
        missing = robot.ready(60)
        if missing:
            raise SystemExit(f"sim node not ready: {missing}")
        for _ in range(repeats):
            for command in COMMANDS:
                fut = reset.call_async(Trigger.Request())
                while not fut.done():
                    time.sleep(0.05)
                time.sleep(1.0)  # the reset is applied by the physics thread; let fresh states and frames come
                robot.manipulator.holding = None
                t0 = time.perf_counter()
                out, ep = run_command(robot, command, make_policy("scripted"), progress=lambda s: None,
                                      on_response=_log_failures)
                ep.close()
                rows.append(_row("ROS topics", command, out, time.perf_counter() - t0))
                _report(rows[-1])
    finally:
        ex.shutdown(timeout_sec=2.0)
        spinner.join(timeout=5.0)
        node.destroy_node()
        rclpy.shutdown()
        sim.terminate()
        sim.wait(timeout=30)

    print(f"\nAgent in process vs over ROS 2 topics (real time, {len(COMMANDS)} commands x {repeats}); medians, s")
    print(f"{'world':12s} {'success':>8s} {'first move':>11s} {'episode':>8s} {'tools':>6s} {'planning':>9s} "
          f"{'execution':>10s} {'policy':>7s}")
    med = {}
    for world in ("in-process", "ROS topics"):
        g = [r for r in rows if r["world"] == world]
        m = {k: float(np.median([r[k] for r in g if r[k] is not None] or [np.nan]))
             for k in ("first_move", "total", "tools", "planning", "execution", "policy")}
        med[world] = m
        print(f"{world:12s} {sum(r['success'] for r in g):4d}/{len(g):<3d} {m['first_move']:11.2f} {m['total']:8.2f} "
              f"{m['tools']:6.2f} {m['planning']:9.2f} {m['execution']:10.2f} {m['policy']:7.3f}")
    a, b = med["in-process"], med["ROS topics"]
    print(f"ROS overhead per episode: {b['total'] - a['total']:+.2f} s ({b['total'] / a['total']:.2f}x); "
          f"first move {b['first_move'] - a['first_move']:+.2f} s; tools {b['tools'] / max(a['tools'], 1e-9):.2f}x")


if __name__ == "__main__":
    main()

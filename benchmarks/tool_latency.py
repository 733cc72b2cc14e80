"""CPU latency of each tool in-process, and the ROS call overhead (ratio to in-process) for a
small-payload tool through a replica on loopback. Prints figures; asserts nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")

from spacetools_ros.backends.tools.factory import build_toolshed  # noqa: E402
from spacetools_ros.backends.tools.toolshed import Episode  # noqa: E402
from spacetools_ros.backends.tools.world import SimToolWorld  # noqa: E402
from spacetools_ros.compose.session import EmbeddedSession  # noqa: E402
from spacetools_ros.core.paths import config_dir  # noqa: E402
from spacetools_ros.core.scene import load_scene  # noqa: E402
from spacetools_ros.core.tools.protocol import ToolCall  # noqa: E402

CLOUD = {"point_cloud": "$point_cloud", "mask": "$segmentation_mask", "focal_length_px": "$focal_length_px"}


def in_process(repeats: int = 5) -> dict[str, float]:
    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    session = EmbeddedSession.create(scene)
    shed = build_toolshed(SimToolWorld(session))
    frame = session.sim.render()
    calls = [("roborefer.detect_one (first call on a frame)", "roborefer.detect_one", {"obj_name": "red block", "image_index": 0}),
             ("roborefer.detect_one (cached perception)", "roborefer.detect_one", {"obj_name": "red block", "image_index": 0}),
             ("sam2.segment_from_point", "sam2.segment_from_point", {"x": 0.59, "y": 0.487, "image_index": 0}),
             ("depth_estimator.estimate_depth", "depth_estimator.estimate_depth", {"image_index": 0}),
             ("depth_estimator.estimate_depth_with_pointcloud", "depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}),
             ("vision_ops.index_at", "vision_ops.index_at", {"data": "$depth_map", "u": 0.5, "v": 0.5}),
             ("bounding_box.compute_bbox", "bounding_box.compute_bbox", CLOUD),
             ("grasp_generator.compute_grasp", "grasp_generator.compute_grasp", {**CLOUD, "image_index": 0}),
             ("robot.capture_image", "robot.capture_image", {})]
    out = {}
    for label, name, args in calls:
        times = []
        for i in range(repeats if "first" not in label else 1):
            ep = Episode.starting_with(frame if "first" not in label else session.sim.render())
            if name in ("vision_ops.index_at", "bounding_box.compute_bbox", "grasp_generator.compute_grasp"):
                shed.execute(ToolCall("sam2.segment_from_point", {"x": 0.59, "y": 0.487, "image_index": 0}), ep)
                shed.execute(ToolCall("depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}), ep)
            t = time.perf_counter()
            r = shed.execute(ToolCall(name, args), ep)
            times.append(time.perf_counter() - t)
            assert r.ok, r.text
        out[label] = float(np.median(times))
    session.close()
    return out


def ros_overhead(n: int = 15) -> dict[str, tuple[float, float]]:
    """Median round trip through a replica on loopback vs the same call's time inside it."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from spacetools_ros.ros.tool_client import ToolClient

    scene = str(config_dir() / "scenes" / "box_in_bowl.yaml")
    sim = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    srv = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node", "--ros-args", "-p",
                            "replica_id:=bench", "-p", f"scene:={scene}", "-p", "publish_debug:=false"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init()
    node = rclpy.create_node("latency_probe")
    client = ToolClient(node, timeout_s=10.0)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()
    try:
        client.wait_for_tool("roborefer.detect_one", 60)
        for _ in range(60):
            if client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="b")["ok"]:
                break
            time.sleep(0.5)
        # per call: round trip through the replica vs the time the same call took inside it
        seq = [("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}),
               ("sam2.segment_from_point", {"x": 0.59, "y": 0.487, "image_index": 0}),
               ("depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}),
               ("bounding_box.compute_bbox", CLOUD),
               ("grasp_generator.compute_grasp", {**CLOUD, "image_index": 0}),
               ("vision_ops.index_at", {"data": "$depth_map", "u": 0.5, "v": 0.5})]
        rt: dict[str, list] = {k: [] for k, _ in seq}
        inside: dict[str, list] = {k: [] for k, _ in seq}
        for i in range(n):
            for name, args in seq:
                t = time.perf_counter()
                r = client.call(name, args, episode=f"b{i}")
                rt[name].append(time.perf_counter() - t)
                inside[name].append(r.get("elapsed_s", 0.0))
            client.end_episode(f"b{i}")
        return {k: (float(np.median(rt[k])), float(np.median(inside[k]))) for k in rt}
    finally:
        ex.shutdown(timeout_sec=2)
        node.destroy_node()
        rclpy.shutdown()
        for p in (srv, sim):
            p.send_signal(signal.SIGINT)
            p.wait(timeout=30)


def main() -> None:
    lat = in_process()
    print("Tool latency, in-process, CPU (median):")
    for k, v in lat.items():
        print(f"  {k:52s} {v * 1000:8.1f} ms")
    print("ROS round trip through a replica on loopback vs the same call inside the replica (median):")
    for name, (rt, inside) in ros_overhead().items():
        ratio = f"{rt / inside:6.2f}x" if inside > 1e-3 else "   n/a"
        print(f"  {name:52s} {rt * 1000:8.1f} ms vs {inside * 1000:7.1f} ms -> {ratio} (+{(rt - inside) * 1000:.1f} ms)")

if __name__ == "__main__":
    main()

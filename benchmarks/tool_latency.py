"""CPU latency of each tool in-process; the round trip of tool calls through a replica's CallTool
service on loopback against the time the call took inside the replica; and the toolshed's own
overhead against a bare CallTool service that answers at once with a result of the same size (small
and large results). Prints figures; asserts nothing.

    python benchmarks/tool_latency.py [--calls N]
"""

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


LARGE_CHARS = 1_000_000  # a large result: about what a 500x500 float mask as JSON would be


def ros_overhead(n: int = 15) -> dict[str, tuple[float, float, int]]:
    """Median round trip through a replica on loopback, the same call's time inside it, and the
    size of its result (characters of result_json)."""
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
        import json

        rt: dict[str, list] = {k: [] for k, _ in seq}
        inside: dict[str, list] = {k: [] for k, _ in seq}
        size: dict[str, int] = {}
        for i in range(n):
            for name, args in seq:
                t = time.perf_counter()
                r = client.call(name, args, episode=f"b{i}")
                rt[name].append(time.perf_counter() - t)
                inside[name].append(r.get("elapsed_s", 0.0))
                size[name] = len(json.dumps(r.get("data", {})))
            client.end_episode(f"b{i}")
        return {k: (float(np.median(rt[k])), float(np.median(inside[k])), size[k]) for k in rt}
    finally:
        ex.shutdown(timeout_sec=2)
        node.destroy_node()
        rclpy.shutdown()
        for p in (srv, sim):
            p.send_signal(signal.SIGINT)
            p.wait(timeout=30)


ECHO_SERVER = """
import json, sys, rclpy
from rclpy.executors import SingleThreadedExecutor
from spacetools_interfaces.srv import CallTool
rclpy.init()
node = rclpy.create_node("bare_call_tool")
def answer(req, res):
    size = json.loads(req.arguments_json).get("size", 0)
    res.ok, res.text, res.replica_id = True, "ok", "bare"
    res.result_json = json.dumps({"blob": "x" * size})
    return res
node.create_service(CallTool, "bare/call_tool", answer)
print("ready", flush=True)
ex = SingleThreadedExecutor()
ex.add_node(node)
try:
    ex.spin()
except (KeyboardInterrupt, Exception):
    pass
"""


def bare_service(sizes: list[int], n: int) -> dict[int, float]:
    """Median round trip of a bare CallTool service (another process) answering at once with a
    result_json of about ``size`` characters: what ROS 2 itself costs for that much data."""
    import json

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from spacetools_interfaces.srv import CallTool

    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    rclpy.init()
    node = rclpy.create_node("bare_probe")
    client = node.create_client(CallTool, "bare/call_tool")
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()
    try:
        assert proc.stdout.readline().strip() == "ready" and client.wait_for_service(timeout_sec=30)
        out = {}
        for size in sizes:
            times = []
            for i in range(n + 2):
                done = threading.Event()
                t = time.perf_counter()
                fut = client.call_async(CallTool.Request(request_id=f"b{i}", tool="bare.echo",
                                                         arguments_json=json.dumps({"size": size})))
                fut.add_done_callback(lambda _f: done.set())
                assert done.wait(30) and fut.result().ok
                if i >= 2:  # the first two warm up the connection
                    times.append(time.perf_counter() - t)
            out[size] = float(np.median(times))
        return out
    finally:
        ex.shutdown(timeout_sec=2)
        node.destroy_node()
        rclpy.shutdown()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=15, help="calls per measured tool (default 15)")
    args = ap.parse_args()
    lat = in_process()
    print("Tool latency, in-process, CPU (median):")
    for k, v in lat.items():
        print(f"  {k:52s} {v * 1000:8.1f} ms")
    print("CallTool round trip through a replica on loopback vs the same call inside the replica (median):")
    measured = ros_overhead(args.calls)
    for name, (rt, inside, size) in measured.items():
        ratio = f"{rt / inside:6.2f}x" if inside > 1e-3 else "   n/a"
        print(f"  {name:52s} {rt * 1000:8.1f} ms vs {inside * 1000:7.1f} ms -> {ratio} (+{(rt - inside) * 1000:.1f} ms)"
              f"  result {size} chars")
    sizes = sorted({size for _, _, size in measured.values()} | {LARGE_CHARS})
    bare = bare_service(sizes, args.calls)
    print("Toolshed overhead (round trip - time inside) vs a bare CallTool service answering at once with a "
          "result of the same size (median):")
    for name, (rt, inside, size) in measured.items():
        print(f"  {name:52s} +{(rt - inside) * 1000:6.1f} ms vs bare {bare[size] * 1000:6.1f} ms "
              f"({size} chars)")
    print(f"  {'bare service, large result':52s}          bare {bare[LARGE_CHARS] * 1000:6.1f} ms "
          f"({LARGE_CHARS} chars)")

if __name__ == "__main__":
    main()

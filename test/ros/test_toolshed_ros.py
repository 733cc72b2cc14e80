"""The toolshed over ROS 2 on loopback: several replica processes, a camera from the sim node,
bad calls, load sharing, a replica killed mid-call (retry elsewhere) and none left (clear error)."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from spacetools_ros.core.paths import config_dir  # noqa: E402
from spacetools_ros.ros.tool_client import ToolClient  # noqa: E402

SCENE = str(config_dir() / "scenes" / "box_in_bowl.yaml")


def start(*args):
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def replica(rid, delay=0.0):
    return start("spacetools_ros.ros.tool_server_node", "--ros-args", "-p", f"replica_id:={rid}",
                 "-p", f"scene:={SCENE}", "-p", f"processing_delay_s:={delay}")


@contextlib.contextmanager
def client_graph(procs: dict, node_name: str):
    """A ToolClient on a node of this process (spinning in a thread) beside ``procs``; on leaving, the
    node is gone and every process is stopped (SIGINT, killed after 30 s)."""
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    rclpy.init()
    node = rclpy.create_node(node_name)
    client = ToolClient(node, timeout_s=2.5, retries=2)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()
    try:
        yield client
    finally:
        ex.shutdown(timeout_sec=2)
        node.destroy_node()
        rclpy.shutdown()
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()


@pytest.fixture(scope="module")
def shed():
    procs = {"sim": start("spacetools_ros.ros.sim_node"), "slow": replica("slow", 3.0), "fast": replica("fast")}
    with client_graph(procs, "tool_client_test") as client:
        assert client.wait_for_tool("roborefer.detect_one", 60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(client.table.alive("roborefer.detect_one")) < 2:
            time.sleep(0.2)
        # the first frame may take a moment to arrive at the replicas
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, prefer="fast")
            if r["ok"]:
                break
            time.sleep(0.5)
        yield client, procs


def test_call_over_ros_matches_protocol_text(shed):
    client, _ = shed
    r = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="e1", prefer="fast")
    assert r["ok"] and r["text"].startswith("Detected 1 instance(s) of 'red block': [(")
    assert r["replica"] == "fast"
    d = client.call("depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}, episode="e1")
    assert d["ok"] and d["replica"] == "fast"  # episode affinity: its variables live there
    x, y = r["data"]["points"][0]
    client.call("sam2.segment_from_point", {"x": x, "y": y, "image_index": 0}, episode="e1")
    b = client.call("bounding_box.compute_bbox", {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                                  "focal_length_px": "$focal_length_px"}, episode="e1")
    assert b["ok"] and "Corners in 3D" in b["text"]


def test_bad_calls_get_error_text_and_server_keeps_serving(shed):
    client, _ = shed
    bad = [("sam2.segment_from_point", {"x": 2.0, "y": 0.5, "image_index": 0}, "Error: ValueError"),
           ("sam2.segment_from_point", {"x": 0.5, "image_index": 0}, "Error: TypeError"),
           ("roborefer.detect_one", {"obj_name": "red block", "image_index": 9}, "Error: IndexError"),
           ("vision_ops.index_at", {"data": "$unknown", "u": 0.1, "v": 0.1}, "Error: TypeError")]
    for name, args, prefix in bad:
        r = client.call(name, args, episode="bad", prefer="fast")
        assert not r["ok"] and r["text"].startswith(prefix), r["text"]
    r = client.call("robot.capture_image", {}, episode="bad", prefer="fast")
    assert "no tool server answered" in r["text"]  # no replica here serves robot tools
    ok = client.call("roborefer.detect_all", {"obj_name": "objects", "image_index": 0}, episode="bad", prefer="fast")
    assert ok["ok"] and len(ok["data"]["points"]) == 4


def test_killed_replica_mid_call_is_retried_elsewhere_then_clear_error(shed):
    client, procs = shed
    result = {}
    t = threading.Thread(target=lambda: result.update(client.call(
        "roborefer.detect_one", {"obj_name": "yellow ball", "image_index": 0}, episode="k", prefer="slow")))
    t.start()
    time.sleep(1.0)
    procs["slow"].kill()  # dies while it is working on the call
    t.join(30)
    assert result["ok"] and result["tried"] == ["slow", "fast"], result
    procs["fast"].kill()
    time.sleep(0.5)
    r = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="k2")
    assert not r["ok"] and "no tool server answered 'roborefer.detect_one'" in r["text"]


def wait_for_replica(client, replica: str, timeout_s: float) -> bool:
    """Without calling the client: its table follows the graph by itself (a timer of its node)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if replica in client.table.alive("roborefer.detect_one"):
            return True
        time.sleep(0.1)
    return False

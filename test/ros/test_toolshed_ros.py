"""The toolshed over ROS 2 on loopback: several replica processes, a camera from the sim node,
bad calls, load sharing, a replica killed mid-call (retry elsewhere) and none left (clear error)."""

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


@pytest.fixture(scope="module")
def shed():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    procs = {"sim": start("spacetools_ros.ros.sim_node"), "slow": replica("slow", 3.0), "fast": replica("fast")}
    rclpy.init()
    node = rclpy.create_node("tool_client_test")
    client = ToolClient(node, timeout_s=2.5, retries=2)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()
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
    ex.shutdown(timeout_sec=2)
    node.destroy_node()
    rclpy.shutdown()
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=30)


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


def test_a_replica_is_a_lifecycle_node_that_offers_its_services_only_while_active(shed):
    """autostart:=false: nothing in the graph until a lifecycle manager configures (models loaded)
    and activates it; deactivated, its services leave the graph and clients stop choosing it."""
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    client, procs = shed
    node = client.node
    proc = start("spacetools_ros.ros.tool_server_node", "--ros-args", "-r", "__node:=managed", "-p",
                 "replica_id:=managed", "-p", f"scene:={SCENE}", "-p", "autostart:=false")
    change = node.create_client(ChangeState, "/managed/change_state")
    get = node.create_client(GetState, "/managed/get_state")

    def ask(cli, request, timeout_s: float = 30.0):
        done = threading.Event()
        fut = cli.call_async(request)
        fut.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout_s):
            cli.remove_pending_request(fut)
            return None
        return fut.result()

    def state() -> int:
        # a loaded machine can drop an answer ("failed to send response (timeout)": the server had not yet
        # matched this client's reply reader); asking for the state again is harmless
        for _ in range(6):
            answer = ask(get, GetState.Request(), 10.0)
            if answer is not None:
                return answer.current_state.id
        raise AssertionError("no answer from the lifecycle get_state service")

    def transition(transition_id: int, expect: int, timeout_s: float = 30.0) -> None:
        answer = ask(change, ChangeState.Request(transition=Transition(id=transition_id)), timeout_s)
        if answer is not None:
            assert answer.success, f"transition {transition_id} refused"
        # a lost answer is not a failed transition: the state says what happened
        assert state() == expect

    def offered() -> bool:  # a server there (the graph also lists services that only have clients)
        return node.count_services("/toolshed/managed/call_tool") > 0

    try:
        assert change.wait_for_service(timeout_sec=60) and get.wait_for_service(timeout_sec=10)
        assert state() == State.PRIMARY_STATE_UNCONFIGURED
        time.sleep(1.0)
        assert not offered()
        # configure loads the models (torch, the word model): minutes on a loaded 2-core machine
        transition(Transition.TRANSITION_CONFIGURE, State.PRIMARY_STATE_INACTIVE, 300)
        assert not offered()
        transition(Transition.TRANSITION_ACTIVATE, State.PRIMARY_STATE_ACTIVE)
        assert wait_for_replica(client, "managed", 30)
        deadline = time.monotonic() + 30
        while True:  # the first frame may take a moment to reach it
            r = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="lc",
                            prefer="managed")
            if r["ok"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r["ok"] and r["replica"] == "managed", r
        transition(Transition.TRANSITION_DEACTIVATE, State.PRIMARY_STATE_INACTIVE)
        deadline = time.monotonic() + 30
        while offered() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not offered()
        deadline = time.monotonic() + 30  # the client's table follows the graph by itself
        while "managed" in client.table.alive("roborefer.detect_one") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "managed" not in client.table.alive("roborefer.detect_one")
    except AssertionError as exc:
        node.destroy_client(change)
        node.destroy_client(get)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        raise AssertionError(f"{exc}; the replica said: {out[-3000:]}") from None
    node.destroy_client(change)
    node.destroy_client(get)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:]


def wait_for_replica(client, replica: str, timeout_s: float) -> bool:
    """Without calling the client: its table follows the graph by itself (a timer of its node)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if replica in client.table.alive("roborefer.detect_one"):
            return True
        time.sleep(0.1)
    return False

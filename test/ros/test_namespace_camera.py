"""Graph citizenship over real rclpy/DDS (loopback only): the camera buffer pairs a best-effort
driver's colour/depth/info stamped 5 ms apart (sensor-data QoS; auto QoS switches to reliable for a
reliable driver), and the bringup under a namespace
puts every node, topic and service there (/clock stays global), sets use_sim_time, and records the
resolved names."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, JointState  # noqa: E402

from spacetools_ros.ros import conversions as conv  # noqa: E402
from spacetools_ros.ros import topics  # noqa: E402
from spacetools_ros.ros.camera_buffer import CameraConfig, CameraFrameBuffer  # noqa: E402

W, H = 64, 48
K = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])


def wait_until(cond, timeout_s: float, period_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(period_s)
    return bool(cond())


@pytest.fixture
def ctx():
    """A private context with a multi-threaded executor spinning in a daemon thread."""
    context = rclpy.Context()
    rclpy.init(context=context)
    ex = MultiThreadedExecutor(num_threads=2, context=context)
    th = threading.Thread(target=ex.spin, daemon=True)
    nodes = []

    def add(node):
        nodes.append(node)
        ex.add_node(node)
        return node

    th.start()
    yield context, add
    ex.shutdown(timeout_sec=2.0)
    for n in nodes:
        n.destroy_node()
    rclpy.shutdown(context=context)


def test_best_effort_camera_with_stamps_5ms_apart_gives_frames(ctx):
    context, add = ctx
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    driver = add(rclpy.create_node("be_camera_driver", context=context))
    best_effort = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    pubs = {t: driver.create_publisher(typ, t, best_effort) for t, typ in
            ((topics.COLOR_IMAGE, Image), (topics.DEPTH_IMAGE, Image), (topics.COLOR_INFO, CameraInfo))}
    reader = add(rclpy.create_node("be_camera_reader", context=context))
    buf = CameraFrameBuffer(reader, np.eye(4), size=10)  # the default: auto (sensor-data QoS), 20 ms tolerance
    strict = CameraFrameBuffer(reader, np.eye(4), size=10, config=CameraConfig(qos="reliable"))
    rgb = np.zeros((H, W, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    depth = np.full((H, W), 0.8, dtype=np.float32)
    sent: list[float] = []

    def publish(i: int) -> None:
        t = 100.0 + 0.1 * i  # colour at t, depth 5 ms later, camera info 5 ms earlier
        pubs[topics.DEPTH_IMAGE].publish(conv.depth_image_msg(depth, t + 0.005, "cam_optical"))
        pubs[topics.COLOR_INFO].publish(conv.camera_info_msg(K, W, H, t - 0.005, "cam_optical"))
        pubs[topics.COLOR_IMAGE].publish(conv.rgb_image_msg(rgb, t, "cam_optical"))
        sent.append(t)

    assert wait_until(lambda: all(p.get_subscription_count() >= 1 for p in pubs.values()), 15), \
        "the sensor-data subscriptions never matched the best-effort publishers"
    i = 0
    deadline = time.monotonic() + 20
    while not buf.has_frame() and time.monotonic() < deadline:
        publish(i)
        i += 1
        time.sleep(0.05)
    assert buf.has_frame(), f"no frame after {i} best-effort sets"
    frame = buf.frame("latest")
    assert (frame.width, frame.height) == (W, H) and frame.rgb.shape == (H, W, 3)
    assert frame.camera == "cam_optical" and np.allclose(frame.intrinsics, K)
    assert float(np.median(frame.depth_m)) == pytest.approx(0.8)
    # the frame's stamp is the colour image's, not the depth's or the info's
    assert any(abs(frame.stamp_s - t) < 1e-6 for t in sent), (frame.stamp_s, sent[-3:])
    assert buf.frame(round(frame.stamp_s * 1e9)) is frame
    # a reliable-only subscription never connects to a best-effort driver (why sensor data is the default)
    for j in range(5):
        publish(i + j)
        time.sleep(0.05)
    assert not strict.has_frame()
    assert pubs[topics.COLOR_IMAGE].get_subscription_count() == 1
    assert buf.reliable == {"rgb": False, "depth": False, "info": False}  # auto stays best effort for this driver


def test_bringup_under_a_namespace(ctx, tmp_path):
    """spacetools_bringup --namespace robot1 --use-sim-time --record: the sim node's topics and
    service under /robot1, /clock global, joint states and paired frames received there, use_sim_time
    set, and the bag holding the resolved names."""
    from rcl_interfaces.srv import GetParameters

    context, add = ctx
    bag = tmp_path / "bag"
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.bringup", "--namespace", "robot1",
                             "--use-sim-time", "--record", str(bag), "--duration", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        probe = add(rclpy.create_node("ns_probe", namespace="/robot1", context=context))
        joints: list[JointState] = []
        probe.create_subscription(JointState, topics.JOINT_STATES, joints.append, 10)  # relative: /robot1/joint_states
        buf = CameraFrameBuffer(probe, np.eye(4))

        def names() -> dict:
            return dict(probe.get_topic_names_and_types())

        want = {"/robot1/joint_states", "/robot1/camera/color/image_raw", "/robot1/camera/depth/image_raw",
                "/robot1/camera/color/camera_info", "/robot1/spacetools/sim_status",
                "/robot1/arm_controller/joint_trajectory", "/clock"}
        assert wait_until(lambda: want <= set(names()), 30, 0.2), sorted(names())
        assert wait_until(lambda: len(joints) >= 5, 15), "no joint states on /robot1/joint_states"
        assert joints[-1].name[0] == "panda_joint1"
        frame = buf.wait_for_frame(0.0, 20.0)
        assert frame is not None, "no paired camera frame under /robot1"
        assert (frame.width, frame.height) == (640, 480)
        # the sim publishes reliably: auto QoS switches to reliable subscriptions (no fragment loss)
        assert wait_until(lambda: all(buf.reliable.values()), 10), buf.reliable
        later = buf.wait_for_frame(frame.stamp_s + 1e-3, 10.0)
        assert later is not None and later.stamp_s > frame.stamp_s
        graph = names()
        for bare in ("/joint_states", "/camera/color/image_raw", "/spacetools/sim_status"):
            assert bare not in graph, f"{bare} published outside the namespace"
        services = {n for n, _ in probe.get_service_names_and_types()}
        assert "/robot1/spacetools_sim/reset" in services
        assert ("spacetools_sim", "/robot1") in probe.get_node_names_and_namespaces()
        params = probe.create_client(GetParameters, "/robot1/spacetools_sim/get_parameters")
        assert params.wait_for_service(timeout_sec=10)
        future = params.call_async(GetParameters.Request(names=["use_sim_time", "camera_rate_hz"]))
        assert wait_until(future.done, 10)
        sim_time, rate = future.result().values
        assert sim_time.bool_value is True
        assert rate.double_value == pytest.approx(5.0)  # the packaged sim_node.yaml applies in the namespace
        assert wait_until(lambda: bag.exists() and any(bag.glob("*.mcap")), 15)
        time.sleep(2.0)  # a little more for the bag
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-3000:]
    from rosbags.highlevel import AnyReader

    with AnyReader([bag]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts.get("/robot1/joint_states", 0) > 20 and counts.get("/robot1/camera/color/image_raw", 0) >= 1, counts
    assert counts.get("/clock", 0) > 20, counts
    assert not any(t.startswith(("/joint_states", "/camera", "/spacetools")) for t in counts), counts

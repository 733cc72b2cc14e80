"""The sim node over real rclpy/DDS (loopback only): topics, encodings, rates, trajectories, its
health on /diagnostics, and TF where tf2_msgs exists (said once where it does not)."""

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
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402

from spacetools_ros.core.robot_spec import load_robot_spec  # noqa: E402
from spacetools_ros.core.timing import time_parameterize  # noqa: E402
from spacetools_ros.ros import conversions as conv  # noqa: E402
from spacetools_ros.ros import topics  # noqa: E402

ROBOT = load_robot_spec()


@pytest.fixture(scope="module")
def graph():
    """The sim node as users run it (its own process), and a probe node in this process."""
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    probe = rclpy.create_node("probe")
    ex = SingleThreadedExecutor()
    ex.add_node(probe)
    th = threading.Thread(target=ex.spin, daemon=True)
    th.start()
    yield proc, probe
    ex.shutdown(timeout_sec=2.0)
    probe.destroy_node()
    rclpy.shutdown()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "stopped at sim time" in out
    try:
        import tf2_msgs  # noqa: F401
    except ImportError:  # the pip world: said once, at info level
        assert out.count("TF is not published: tf2_msgs is not installed") == 1, out


def collect(probe, msg_type, topic, n, timeout_s=30.0):
    got, ev = [], threading.Event()

    def cb(m):
        got.append((time.monotonic(), m))
        if len(got) >= n:
            ev.set()

    sub = probe.create_subscription(msg_type, topic, cb, 10)
    ev.wait(timeout_s)
    probe.destroy_subscription(sub)
    assert len(got) >= n, f"only {len(got)} messages on {topic}"
    return got


def test_camera_topics_encodings_and_sizes(graph):
    _, probe = graph
    rgb = collect(probe, Image, topics.COLOR_IMAGE, 3)[-1][1]
    depth = collect(probe, Image, topics.DEPTH_IMAGE, 2)[-1][1]
    info = collect(probe, CameraInfo, topics.COLOR_INFO, 2)[-1][1]
    assert (rgb.encoding, rgb.width, rgb.height, rgb.step) == ("rgb8", 640, 480, 640 * 3)
    assert (depth.encoding, depth.step) == ("32FC1", 640 * 4)
    d = conv.image_to_numpy(depth)
    assert 0.3 < float(np.median(d)) < 3.0
    assert info.k[2] == pytest.approx(320.0) and info.k[0] == pytest.approx(info.k[4])
    assert rgb.header.frame_id == "scene_camera_optical_frame"


def test_joint_state_rate(graph):
    _, probe = graph
    msgs = collect(probe, JointState, topics.JOINT_STATES, 60)
    span = msgs[-1][0] - msgs[0][0]
    assert len(msgs[0][1].name) == 9
    # periodic, not bursty: the achieved rate is measured by benchmarks/embedded_world.py
    assert (len(msgs) - 1) / span > 10.0
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for _, m in msgs]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def latest_q(probe):
    m = collect(probe, JointState, topics.JOINT_STATES, 1)[-1][1]
    return np.array(m.position[:7])


def trajectory_publisher(probe):
    """A publisher on the arm's trajectory topic, once the sim node listens (10 s at most)."""
    from trajectory_msgs.msg import JointTrajectory

    pub = probe.create_publisher(JointTrajectory, topics.ARM_TRAJECTORY, 10)
    deadline = time.monotonic() + 10
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    return pub


def test_trajectory_is_executed_and_bad_ones_are_rejected(graph):
    _, probe = graph
    pub = trajectory_publisher(probe)
    q0 = latest_q(probe)
    # bad: unknown joint names -> rejected, the arm does not move
    bad = conv.trajectory_msg(time_parameterize(np.stack([q0, q0 + 0.3]), tuple(f"j{i}" for i in range(7)),
                                                ROBOT.velocity_limit_rad_s, ROBOT.acceleration_limit_rad_s2))
    pub.publish(bad)
    time.sleep(1.0)
    assert np.abs(latest_q(probe) - q0).max() < 0.01
    goal = q0 + np.array([0.3, 0.1, -0.2, 0.2, 0.1, -0.1, 0.2])
    traj = time_parameterize(np.stack([q0, goal]), ROBOT.arm_joints,
                             ROBOT.velocity_limit_rad_s * 0.5, ROBOT.acceleration_limit_rad_s2 * 0.5)
    pub.publish(conv.trajectory_msg(traj))
    deadline = time.monotonic() + traj.duration_s + 10
    while time.monotonic() < deadline:
        if np.abs(latest_q(probe) - goal).max() < 0.01:
            break
    assert np.abs(latest_q(probe) - goal).max() < 0.01
    gpub = probe.create_publisher(Float64MultiArray, topics.GRIPPER_COMMAND, 10)
    time.sleep(1.0)
    gpub.publish(Float64MultiArray(data=[0.02]))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = collect(probe, JointState, topics.JOINT_STATES, 1)[-1][1]
        if abs(m.position[7] + m.position[8] - 0.02) < 0.003:
            break
    assert abs(m.position[7] + m.position[8] - 0.02) < 0.003


def test_bringup_records_a_bag_and_stops_on_sigterm(tmp_path):
    bag = tmp_path / "bag"
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.bringup", "--record", str(bag)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(12)
    proc.terminate()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    from rosbags.highlevel import AnyReader

    with AnyReader([bag]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts.get("/joint_states", 0) > 20 and counts.get("/camera/color/image_raw", 0) > 2, counts


def test_pointcloud_only_on_request(graph):
    _, probe = graph
    from sensor_msgs.msg import PointCloud2

    msg = collect(probe, PointCloud2, topics.POINTS, 1)[-1][1]
    assert [f.name for f in msg.fields] == ["x", "y", "z", "rgb"] and msg.point_step == 16
    pts = np.frombuffer(bytes(msg.data), dtype="<f4").reshape(-1, 4)[:, :3]
    assert msg.width > 10_000 and np.all(pts[:, 2] > 0)
    assert msg.header.frame_id == "scene_camera_optical_frame"


def test_stamps_round_to_the_nearest_nanosecond_without_going_back_a_second():
    """9.9999999997 s once became 9 s + 0 ns: joint states then went a second back in time."""
    for t in (9.9999999997, 1.0, 0.0, 3.3, 12345.999999999999, 0.1 + 0.2):
        msg = conv.to_time(t)
        assert 0 <= msg.nanosec < 1_000_000_000
        assert abs(conv.from_time(msg) - t) < 1e-9, (t, msg)
        d = conv.to_duration(t)
        assert abs(d.sec + d.nanosec * 1e-9 - t) < 1e-9
    stamps = [conv.from_time(conv.to_time(k * 0.01)) for k in range(5000)]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def test_empty_trajectory_stops_and_reset_restarts_time(graph):
    """An empty trajectory stops the arm where it is (joint_trajectory_controller semantics); after
    ~/reset the arm is home, time restarts near 0 and joint states keep coming."""
    _, probe = graph
    from std_srvs.srv import Trigger
    from trajectory_msgs.msg import JointTrajectory

    pub = trajectory_publisher(probe)
    q0 = latest_q(probe)
    goal = q0 + np.array([0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    traj = time_parameterize(np.stack([q0, goal]), ROBOT.arm_joints,
                             ROBOT.velocity_limit_rad_s * 0.2, ROBOT.acceleration_limit_rad_s2 * 0.2)
    pub.publish(conv.trajectory_msg(traj))
    time.sleep(traj.duration_s * 0.4)
    pub.publish(JointTrajectory(joint_names=list(ROBOT.arm_joints)))
    time.sleep(1.0)
    stopped = latest_q(probe)
    assert 0.02 < stopped[0] - q0[0] < 0.55, "the arm should have stopped part way"
    time.sleep(1.0)
    assert np.abs(latest_q(probe) - stopped).max() < 2e-3

    before = collect(probe, JointState, topics.JOINT_STATES, 1)[-1][1]
    cli = probe.create_client(Trigger, "/spacetools_sim/reset")
    assert cli.wait_for_service(timeout_sec=10)
    fut = cli.call_async(Trigger.Request())
    deadline = time.monotonic() + 10
    while not fut.done() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fut.done() and fut.result().success
    time.sleep(1.0)
    after = collect(probe, JointState, topics.JOINT_STATES, 20)
    stamps = [conv.from_time(m.header.stamp) for _, m in after]
    assert stamps[-1] < conv.from_time(before.header.stamp) and stamps[-1] < 3.0
    assert np.abs(np.array(after[-1][1].position[:7]) - ROBOT.home_rad).max() < 0.02


def test_health_on_diagnostics(graph):
    """Once a second, one status named after the node, with the measured rates; OK or WARN (a busy
    machine may run the sim slower than real time), never ERROR while it runs."""
    _, probe = graph
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    msgs = collect(probe, DiagnosticArray, topics.DIAGNOSTICS, 3, timeout_s=20.0)
    ours = [(conv.from_time(m.header.stamp), st) for _, m in msgs for st in m.status
            if st.name == "spacetools_sim: simulation"]
    assert len(ours) >= 3
    gaps = [b[0] - a[0] for a, b in zip(ours, ours[1:])]
    assert all(0.3 < g < 3.0 for g in gaps), gaps  # ~1 Hz, by the stamps it was sent with
    _, last = ours[-1]
    values = {kv.key: kv.value for kv in last.values}
    assert last.level in (DiagnosticStatus.OK, DiagnosticStatus.WARN), (last.level, last.message)
    assert float(values["real_time_factor"]) > 0 and float(values["camera_rate_hz"]) > 0
    assert last.hardware_id == "mujoco" and last.message


def test_the_camera_transform_message_is_what_tf_static_carries():
    """The conversion behind /tf_static (published where tf2_msgs exists): base -> optical frame."""
    from rclpy.qos import DurabilityPolicy

    from spacetools_ros.core.scene import CameraSpec
    from spacetools_ros.core.transforms import transform_from_matrix
    from spacetools_ros.ros.static_tf import STATIC_QOS, transform_msg

    cam = CameraSpec()
    msg = transform_msg(transform_from_matrix(cam.extrinsics(), topics.BASE_FRAME, topics.optical_frame(cam.name)), 0.0)
    assert (msg.header.frame_id, msg.child_frame_id) == ("panda_link0", "scene_camera_optical_frame")
    t, q = msg.transform.translation, msg.transform.rotation
    assert (t.x, t.y, t.z) == pytest.approx(cam.position)
    assert q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2 == pytest.approx(1.0)
    assert STATIC_QOS.durability == DurabilityPolicy.TRANSIENT_LOCAL and STATIC_QOS.depth == 1


def test_finger_position_commands_when_that_is_the_unit(graph):
    """gripper_command_unit:=finger_position (a forward command controller over the fingers): one
    position per finger moves them; a width-form command is refused and moves nothing."""
    _, probe = graph
    ns = "/fingers"
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node", "--ros-args", "-r", f"__ns:={ns}",
                             "-p", "gripper_command_unit:=finger_position", "-p", "camera_rate_hz:=1.0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    fingers: list = []
    sub = probe.create_subscription(JointState, f"{ns}/joint_states",
                                     lambda m: fingers.append(m.position[7] + m.position[8]), 10)
    pub = probe.create_publisher(Float64MultiArray, f"{ns}/{topics.GRIPPER_COMMAND}", 10)
    try:
        deadline = time.monotonic() + 60
        while (pub.get_subscription_count() == 0 or not fingers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fingers, "no joint states from the second sim node"
        pub.publish(Float64MultiArray(data=[0.01, 0.01]))
        deadline = time.monotonic() + 10
        while abs(fingers[-1] - 0.02) > 0.003 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert abs(fingers[-1] - 0.02) < 0.003, fingers[-1]
        pub.publish(Float64MultiArray(data=[0.06]))  # a width: the wrong unit here
        time.sleep(1.5)
        assert abs(fingers[-1] - 0.02) < 0.003, fingers[-1]
    finally:
        probe.destroy_subscription(sub)
        probe.destroy_publisher(pub)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert "rejected gripper command (finger_position): expected 2 finger positions" in out, out[-2000:]

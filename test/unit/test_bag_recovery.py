"""Bags that survive their writer: SIGKILL mid-write, torn tails, repair, and every recorded type
read back by rosbags, by the mcap reader and by rclpy."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from rosbags.highlevel import AnyReader

from spacetools_ros.backends.recording.bag import BagOptions, BagWriter, ThreadedBagWriter
from spacetools_ros.core.errors import ConfigError
from spacetools_ros.core.paths import config_dir

REPO = Path(__file__).resolve().parents[2]


def bag_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "bag", *args],
                          capture_output=True, text=True, timeout=timeout)


def read_all(bag: Path) -> list[tuple[str, int, bytes]]:
    """(topic, log time, raw) of every message through AnyReader; each one deserialised too."""
    out = []
    with AnyReader([bag]) as reader:
        for conn, t, raw in reader.messages():
            reader.deserialize(raw, conn.msgtype)
            out.append((conn.topic, t, bytes(raw)))
    return out


def mcap_count(bag: Path) -> int:
    (f,) = bag.glob("*.mcap")
    with open(f, "rb") as fh:
        return sum(1 for _ in make_reader(fh).iter_messages())


# ---- every type the package records ---------------------------------------------------------------

def _messages():
    from builtin_interfaces.msg import Duration
    from rosgraph_msgs.msg import Clock
    from std_msgs.msg import Float64MultiArray, MultiArrayDimension, MultiArrayLayout, String
    from trajectory_msgs.msg import JointTrajectory as TrajMsg
    from trajectory_msgs.msg import JointTrajectoryPoint

    from spacetools_ros.core.trajectory import JointTrajectory
    from spacetools_ros.ros import conversions as conv

    rng = np.random.default_rng(7)
    k = np.array([[525.0, 0, 319.5], [0, 525.0, 239.5], [0, 0, 1]])
    names = [f"panda_joint{i}" for i in range(1, 8)]
    traj = JointTrajectory(tuple(names), np.array([0.25, 0.5, 1.0, 1.7]), rng.normal(size=(4, 7)),
                           rng.normal(size=(4, 7)), rng.normal(size=(4, 7)))
    full = TrajMsg(header=conv.header(3.25, "panda_link0"), joint_names=names[:2], points=[
        JointTrajectoryPoint(positions=[0.1, 0.2], velocities=[0.0, 0.1], accelerations=[1.0, 2.0],
                             effort=[3.0, 4.0], time_from_start=Duration(sec=2, nanosec=5))])
    layout = MultiArrayLayout(dim=[MultiArrayDimension(label="rows", size=2, stride=4)], data_offset=1)
    return {
        "rgb_image": ("sensor_msgs/msg/Image", conv.rgb_image_msg(
            rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), 1.5, "scene_camera_optical_frame")),
        "depth_image": ("sensor_msgs/msg/Image", conv.depth_image_msg(
            rng.uniform(0.3, 3.0, (48, 64)).astype(np.float32), 1.5, "scene_camera_optical_frame")),
        "camera_info": ("sensor_msgs/msg/CameraInfo", conv.camera_info_msg(k, 640, 480, 1.5, "cam")),
        "joint_states": ("sensor_msgs/msg/JointState", conv.joint_state_msg(
            names + ["f1", "f2"], rng.normal(size=9), rng.normal(size=9), rng.normal(size=9), 2.0)),
        "clock": ("rosgraph_msgs/msg/Clock", Clock(clock=conv.to_time(12.345))),
        "joint_trajectory": ("trajectory_msgs/msg/JointTrajectory", conv.trajectory_msg(traj, 0.0)),
        "joint_trajectory_all_fields": ("trajectory_msgs/msg/JointTrajectory", full),
        "gripper_command": ("std_msgs/msg/Float64MultiArray", Float64MultiArray(data=[0.04])),
        "multi_array_layout": ("std_msgs/msg/Float64MultiArray", Float64MultiArray(layout=layout, data=[1.0, 2.0])),
        "string_json": ("std_msgs/msg/String", String(data=json.dumps({"success": True, "reason": None, "é": "ü"}))),
        "pointcloud": ("sensor_msgs/msg/PointCloud2", conv.pointcloud_msg(
            rng.normal(size=(50, 3)).astype(np.float32), rng.integers(0, 255, (50, 3), dtype=np.uint8), 4.0, "cam")),
    }


CASES = sorted(_messages())


def _same(ros_msg, bag_msg, path="msg"):
    """Field by field: an rclpy message equals a rosbags-deserialised one."""
    for name in ros_msg.get_fields_and_field_types():
        a, b = getattr(ros_msg, name), getattr(bag_msg, name)
        if hasattr(a, "get_fields_and_field_types"):
            _same(a, b, f"{path}.{name}")
        elif isinstance(a, (list, tuple)) and a and hasattr(a[0], "get_fields_and_field_types"):
            assert len(a) == len(b), f"{path}.{name}"
            for i, (x, y) in enumerate(zip(a, b)):
                _same(x, y, f"{path}.{name}[{i}]")
        elif isinstance(a, str):
            assert a == b, f"{path}.{name}"
        else:
            assert np.array_equal(np.asarray(a, dtype=object if isinstance(a, (list, tuple)) and a
                                             and isinstance(a[0], str) else None),
                                  np.asarray(b)), f"{path}.{name}"


def test_every_recorded_topic_type_has_a_round_trip_case():
    from spacetools_ros.backends.motion.settings import load_params

    specs = load_params(config_dir() / "recorder.yaml", "spacetools_recorder")["topics"]
    from spacetools_ros.ros.recorder_node import message_class

    def installed(msgtype: str) -> bool:
        try:
            message_class(msgtype)
            return True
        except ValueError:  # the recorder skips it, with a warning (tf2_msgs off a ROS install)
            return False

    types = {spec.split(":", 1)[1] for spec in specs}
    written = {t for t, _ in _messages().values()}
    assert {t for t in types if installed(t)} <= written, types - written
    assert {t for t in types if not installed(t)} <= {"tf2_msgs/msg/TFMessage"}


@pytest.mark.parametrize("case", CASES)
def test_message_round_trips_through_rosbags_mcap_and_rclpy(tmp_path, case):
    from rclpy.serialization import deserialize_message, serialize_message

    from spacetools_ros.ros.recorder_node import message_class

    msgtype, msg = _messages()[case]
    bag = tmp_path / "bag"
    writer = BagWriter(bag)
    writer.write("/t", msgtype, 1_000_000_000, serialize_message(msg))
    writer.close()
    with AnyReader([bag]) as reader:
        ((conn, _, raw),) = list(reader.messages())
        assert conn.msgtype == msgtype and conn.msgcount == 1
        _same(msg, reader.deserialize(raw, conn.msgtype))
        assert deserialize_message(bytes(raw), message_class(msgtype)) == msg
    (f,) = bag.glob("*.mcap")
    with open(f, "rb") as fh:
        ((schema, channel, rec),) = list(make_reader(fh).iter_messages())
    assert schema.name == msgtype and channel.topic == "/t" and bytes(rec.data) == bytes(raw)


def test_serialize_message_pads_joint_trajectories_and_the_writer_cuts_them(tmp_path):
    """rmw_serialize reports its size estimate: stray bytes after the last point that strict readers reject."""
    from rclpy.serialization import serialize_message
    from rosbags.typesys import Stores, get_typestore

    msgtype, msg = _messages()["joint_trajectory"]
    raw = serialize_message(msg)
    store = get_typestore(Stores.ROS2_KILTED)
    with pytest.raises(Exception, match="size mismatch"):
        store.deserialize_cdr(raw, msgtype)
    writer = BagWriter(tmp_path / "bag")
    writer.write("/arm_controller/joint_trajectory", msgtype, 1, raw)
    writer.close()
    assert writer.cdr_counts == {"trimmed": 1}
    ((_, _, stored),) = read_all(tmp_path / "bag")
    assert len(stored) < len(raw) and stored == raw[:len(stored)]  # only the stray tail is gone


def test_repair_makes_bags_with_padded_trajectories_readable(tmp_path):
    """A bag written with the serialised bytes as rclpy returned them (as before the writer cut them)."""
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    msgtype, msg = _messages()["joint_trajectory"]
    bag = tmp_path / "old"
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/arm_controller/joint_trajectory", msgtype,
                                     typestore=get_typestore(Stores.ROS2_KILTED))
        writer.write(conn, 1, serialize_message(msg))
    with AnyReader([bag]) as reader, pytest.raises(Exception, match="size mismatch"):
        ((_, _, raw),) = list(reader.messages())
        reader.deserialize(raw, msgtype)
    res = bag_cli("info", str(bag), "--json")
    assert res.returncode == 1 and json.loads(res.stdout)["messages_with_trailing_bytes"] == 1
    res = bag_cli("repair", str(bag))
    assert res.returncode == 0 and "1 messages cut" in res.stderr, res.stderr
    assert len(read_all(bag)) == 1 and (bag / "old.mcap.orig").is_file()


# ---- killed writers ---------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from rclpy.serialization import serialize_message
    from spacetools_ros.backends.recording.bag import BagOptions, BagWriter
    from spacetools_ros.ros import conversions as c
    from spacetools_ros.core.trajectory import JointTrajectory
    w = BagWriter(sys.argv[1], BagOptions(chunk_bytes=64 << 10, chunk_interval_s=0.1))
    img = serialize_message(c.rgb_image_msg(np.full((60, 80, 3), 7, np.uint8), 0.0, "cam"))
    traj = serialize_message(c.trajectory_msg(JointTrajectory(("a", "b"), np.array([0.5, 1.0]), np.zeros((2, 2))), 0.0))
    last, i = -1, 0
    while True:
        t = 10**9 + i * 10**6
        w.write("/joint_states", "sensor_msgs/msg/JointState", t,
                serialize_message(c.joint_state_msg(["a", "b"], [i, 0.0], [0.0, 0.0], [0.0, 0.0], i * 1e-3)))
        if i % 10 == 0:
            w.write("/camera/color/image_raw", "sensor_msgs/msg/Image", t, img)
            w.write("/arm_controller/joint_trajectory", "trajectory_msgs/msg/JointTrajectory", t, traj)
        i += 1
        if w.flushed_count != last:
            last = w.flushed_count
            print(last, flush=True)
""")


def test_sigkill_mid_write_keeps_every_flushed_chunk(tmp_path):
    bag = tmp_path / "bag"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(bag)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    flushed = []
    try:
        deadline = time.monotonic() + 60
        while len(flushed) < 30 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "writer exited early"
            flushed.append(int(line))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert len(flushed) == 30 and flushed[-1] > 0
    res = bag_cli("info", str(bag), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 1 and doc["needs_repair"] and doc["state"] == "recording", res.stdout + res.stderr
    if doc["complete"]:  # killed between flushes: readable as it is, unindexed
        assert len(read_all(bag)) >= flushed[-1]
    original = (bag / "bag.mcap").read_bytes()
    res = bag_cli("repair", str(bag))
    assert res.returncode == 0, res.stderr
    assert (bag / "bag.mcap.orig").read_bytes() == original  # nothing of the original is lost
    msgs = read_all(bag)
    assert len(msgs) >= flushed[-1] and mcap_count(bag) == len(msgs)
    assert {t for t, _, _ in msgs} == {"/joint_states", "/camera/color/image_raw", "/arm_controller/joint_trajectory"}
    stamps = [t for _, t, _ in msgs]
    assert stamps == sorted(stamps)
    res = bag_cli("info", str(bag), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["state"] == "repaired" and doc["indexed"] and doc["messages"] == len(msgs)
    with AnyReader([bag]) as reader:
        assert sum(c.msgcount for c in reader.connections) == len(msgs)


def _closed_bag(path: Path, n: int = 300) -> list[tuple[int, int]]:
    """A closed bag of small chunks; returns (end offset, messages so far) after each chunk."""
    writer = BagWriter(path, BagOptions(chunk_bytes=4096))
    from rclpy.serialization import serialize_message

    from spacetools_ros.ros import conversions as conv

    for i in range(n):
        writer.write("/joint_states", "sensor_msgs/msg/JointState", 10**9 + i,
                     serialize_message(conv.joint_state_msg(["a"] * 7, range(7), range(7), range(7), i * 0.01)))
    writer.close()
    ends, total = [], 0
    with open(path / f"{path.name}.mcap", "rb") as f:
        summary = make_reader(f).get_summary()
    for ci in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset):
        total += sum((summary_end - 15) // 16 for summary_end in _index_lengths(ci))
        ends.append((ci.chunk_start_offset + ci.chunk_length, total))
    assert total == n
    return ends


def _index_lengths(ci):
    end = ci.chunk_start_offset + ci.chunk_length + ci.message_index_length
    offs = sorted(ci.message_index_offsets.values()) + [end]
    return [b - a for a, b in zip(offs, offs[1:])]


def test_a_tail_torn_anywhere_repairs_to_every_whole_chunk(tmp_path):
    from spacetools_ros.backends.recording.repair import repair_bag

    ends = _closed_bag(tmp_path / "src")
    data = (tmp_path / "src" / "src.mcap").read_bytes()
    meta = (tmp_path / "src" / "metadata.yaml").read_text()
    rng = np.random.default_rng(3)
    cuts = sorted({int(x) for x in rng.integers(40, len(data), 25)} | {ends[3][0], ends[3][0] + 1, ends[-1][0]})
    for cut in cuts:
        bag = tmp_path / f"cut{cut}"
        bag.mkdir()
        (bag / "cut.mcap").write_bytes(data[:cut])
        (bag / "metadata.yaml").write_text(meta.replace("src.mcap", "cut.mcap"))
        expected = max([n for end, n in ends if end <= cut], default=0)
        res = repair_bag(bag, tmp_path / f"fixed{cut}")
        assert res.written and res.scan.messages == expected, cut
        assert len(read_all(res.bag_dir)) == expected and mcap_count(res.bag_dir) == expected, cut
        assert (bag / "cut.mcap").read_bytes() == data[:cut]  # the input is left as it was


def test_a_corrupt_chunk_is_left_out_and_the_chunks_after_it_kept(tmp_path):
    ends = _closed_bag(tmp_path / "bag")
    mcap = tmp_path / "bag" / "bag.mcap"
    data = bytearray(mcap.read_bytes())
    data[ends[4][0] + 1000] ^= 0xFF  # past the fifth chunk's message index, inside the sixth chunk
    mcap.write_bytes(bytes(data))
    res = bag_cli("info", str(mcap), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 1 and doc["corrupt_records"] == 1 and "CRC" in doc["first_corruption"], res.stdout
    res = bag_cli("repair", str(tmp_path / "bag"))
    assert res.returncode == 0, res.stderr
    kept = 300 - (ends[5][1] - ends[4][1])
    assert len(read_all(tmp_path / "bag")) == kept and "1 corrupt records" in res.stderr
    res = bag_cli("info", str(tmp_path / "bag"), "--json")
    assert json.loads(res.stdout)["messages"] == kept


def test_threaded_writer_flushes_by_age_without_more_messages(tmp_path):
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    writer = ThreadedBagWriter(tmp_path / "bag", BagOptions(chunk_interval_s=0.2))
    assert (tmp_path / "bag" / "metadata.yaml").is_file() and read_all(tmp_path / "bag") == []  # readable at once
    writer.write("/spacetools/status", "std_msgs/msg/String", 5, serialize_message(String(data="hi")))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not read_all(tmp_path / "bag"):
        time.sleep(0.05)
    assert len(read_all(tmp_path / "bag")) == 1  # on disk while the writer is still open
    writer.close()
    assert len(read_all(tmp_path / "bag")) == 1


def test_a_stopped_writer_drains_for_a_bounded_time_then_finishes_the_bag(tmp_path):
    """close(drain_s=0): the backlog is dropped and counted, and the bag is still finished (indexed,
    closed) holding exactly what was written; without a drain limit nothing queued is lost."""
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    data = serialize_message(String(data="x" * 4000))
    n = 4000
    writer = ThreadedBagWriter(tmp_path / "cut", BagOptions(), max_queue_bytes=n * len(data) + 1)
    for i in range(n):
        assert writer.write("/spacetools/status", "std_msgs/msg/String", i, data)
    start = time.monotonic()
    writer.close(drain_s=0.0)
    assert time.monotonic() - start < 5.0
    kept = len(read_all(tmp_path / "cut"))
    assert writer.dropped > 0 and kept + writer.dropped == n, (kept, writer.dropped)
    res = bag_cli("info", str(tmp_path / "cut"), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["state"] == "closed" and doc["indexed"] and doc["messages"] == kept

    writer = ThreadedBagWriter(tmp_path / "all", BagOptions(), max_queue_bytes=n * len(data) + 1)
    for i in range(n):
        writer.write("/spacetools/status", "std_msgs/msg/String", i, data)
    writer.close()
    assert writer.dropped == 0 and len(read_all(tmp_path / "all")) == n


def test_a_complete_bag_needs_no_repair(tmp_path):
    _closed_bag(tmp_path / "bag", 20)
    before = sorted(p.name for p in (tmp_path / "bag").iterdir())
    res = bag_cli("repair", str(tmp_path / "bag"))
    assert res.returncode == 0 and "nothing to repair" in res.stderr
    assert sorted(p.name for p in (tmp_path / "bag").iterdir()) == before
    res = bag_cli("info", str(tmp_path / "bag"))
    assert res.returncode == 0 and "/joint_states" in res.stdout and "20" in res.stdout


# ---- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "bad magic"),
    (os.urandom(5000), "bad magic"),
    (b"\x89MCAP0\r\n" + os.urandom(5000), "no Header"),
])
def test_repair_of_garbage_exits_2_and_writes_nothing(tmp_path, content, message):
    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "bag.mcap").write_bytes(content)
    (bag / "metadata.yaml").write_text("{[ not yaml")
    res = bag_cli("repair", str(bag))
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert sorted(p.name for p in bag.iterdir()) == ["bag.mcap", "metadata.yaml"]


def test_repair_refuses_a_huge_file_and_a_missing_bag(tmp_path):
    bag = tmp_path / "bag"
    bag.mkdir()
    with open(bag / "bag.mcap", "wb") as f:
        f.truncate(70 << 30)  # sparse: nothing is read
    t0 = time.monotonic()
    res = bag_cli("repair", str(bag))
    assert res.returncode == 2 and "limit" in res.stderr and time.monotonic() - t0 < 30, res.stderr
    res = bag_cli("info", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such bag" in res.stderr
    res = bag_cli("repair", str(tmp_path), "--output", str(bag))
    assert res.returncode == 2


def test_bag_options_are_checked():
    assert BagOptions.from_params({}) == BagOptions()
    for bad in ({"chunk_size_bytes": 10}, {"chunk_interval_s": 0}, {"fsync": "yes"}, {"chunk_size_bytes": True}):
        with pytest.raises(ConfigError):
            BagOptions.from_params(bad)


def test_an_existing_directory_is_never_overwritten(tmp_path):
    (tmp_path / "bag").mkdir()
    with pytest.raises(ConfigError, match="already exists"):
        BagWriter(tmp_path / "bag")
    shutil.rmtree(tmp_path / "bag")

"""Killed recordings over real rclpy/DDS (loopback only): SIGKILL of the bringup, of its recorder and of
``spacetools run --record`` leave bags that rosbags and the mcap reader read (after repair if needed),
and no child outlives the bringup."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcap.reader import make_reader

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")

from spacetools_ros.core.paths import config_dir  # noqa: E402

DEMO = str(config_dir() / "scenes" / "box_in_bowl.yaml")


def flushed_messages(bag: Path) -> int:
    """Messages metadata.yaml says are on disk (0 while it does not exist yet)."""
    import yaml

    try:
        return int(yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]["message_count"])
    except (OSError, TypeError, KeyError, yaml.YAMLError):
        return 0


def wait_for_data(proc, bag: Path, n: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None and flushed_messages(bag) < n:
        time.sleep(0.2)
    assert proc.poll() is None, "the process ended before it was killed"
    assert flushed_messages(bag) >= n, f"fewer than {n} messages on disk after {timeout_s} s"


def children_of(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def bag_cli(*args):
    return subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "bag", *args],
                          capture_output=True, text=True, timeout=120)


def read_bag(bag: Path) -> dict[str, int]:
    """Per-topic counts through AnyReader (every message deserialised, trajectories by rclpy too);
    the mcap reader must see the same number of messages."""
    from rclpy.serialization import deserialize_message
    from rosbags.highlevel import AnyReader
    from trajectory_msgs.msg import JointTrajectory

    counts: dict[str, int] = {}
    with AnyReader([bag]) as reader:
        for conn, _, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            if conn.msgtype == "trajectory_msgs/msg/JointTrajectory":
                assert len(deserialize_message(bytes(raw), JointTrajectory).points) == len(msg.points)
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
    (mcap,) = bag.glob("*.mcap")
    with open(mcap, "rb") as f:
        assert sum(1 for _ in make_reader(f).iter_messages()) == sum(counts.values())
    return counts


def readable_after_repair(bag: Path) -> tuple[dict, dict[str, int]]:
    """The bag's info before repair, and its counts once `spacetools bag repair` made it indexed."""
    res = bag_cli("info", str(bag), "--json")
    assert res.returncode in (0, 1), res.stderr
    before = json.loads(res.stdout)
    res = bag_cli("repair", str(bag))
    assert res.returncode == 0, res.stderr
    res = bag_cli("info", str(bag), "--json")
    after = json.loads(res.stdout)
    assert res.returncode == 0 and not after["needs_repair"] and after["messages"] >= before["messages"]
    return before, read_bag(bag)


def stop(proc, kids: list[int]) -> None:
    """Whatever the test's outcome: no process of it outlives it (a leftover would still hold the
    pipe, and its topics would sit in the next test's graph)."""
    if proc.poll() is None:
        proc.kill()
    for pid in kids + children_of(proc.pid):
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.communicate(timeout=30)


def start_bringup(bag: Path):
    return subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.bringup", "--record", str(bag),
                             "--duration", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_sigkilled_bringup_takes_its_recorder_along_and_the_bag_is_closed(tmp_path):
    bag = tmp_path / "bag"
    proc = start_bringup(bag)
    kids: list[int] = []
    try:
        wait_for_data(proc, bag, 100, 90)
        kids = children_of(proc.pid)
        assert len(kids) == 1 and alive(kids[0])
        proc.kill()
        proc.wait(timeout=10)
        # the recorder writes its backlog for at most close_drain_s (4 s), then finishes the bag
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(kids[0]):
            time.sleep(0.1)
        assert not alive(kids[0]), "the recorder outlived the bringup"
    finally:
        stop(proc, kids)
    res = bag_cli("info", str(bag), "--json")
    doc = json.loads(res.stdout)
    # the recorder got SIGTERM and closed the bag: complete, indexed, nothing to repair
    assert res.returncode == 0 and doc["state"] == "closed" and doc["indexed"], res.stdout + res.stderr
    counts = read_bag(bag)
    assert counts.get("/joint_states", 0) > 20 and counts.get("/camera/color/image_raw", 0) >= 1, counts


def test_sigkilled_recorder_leaves_a_bag_that_repairs(tmp_path):
    bag = tmp_path / "bag"
    proc = start_bringup(bag)
    kids: list[int] = []
    try:
        wait_for_data(proc, bag, 100, 90)
        kids = children_of(proc.pid)
        (recorder,) = kids
        flushed = flushed_messages(bag)
        os.kill(recorder, signal.SIGKILL)
        time.sleep(0.5)
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            stop(proc, kids)
    before, counts = readable_after_repair(bag)
    assert before["state"] == "recording"
    assert sum(counts.values()) >= flushed and counts.get("/joint_states", 0) > 20, counts


def test_sigkilled_cli_run_mid_episode_leaves_a_readable_bag(tmp_path):
    bag = tmp_path / "bag"
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.cli.main", "run", "--scene", DEMO,
                             "--command", "put the red block in the blue bowl", "--record", str(bag),
                             "--json", str(tmp_path / "r.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_data(proc, bag, 250, 180)  # the arm has been commanded by then
        flushed = flushed_messages(bag)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert not (tmp_path / "r.json").exists()  # it really died mid-episode
    before, counts = readable_after_repair(bag)
    assert before["state"] == "recording" and before["messages"] >= flushed
    assert sum(counts.values()) >= flushed, counts
    assert counts.get("/arm_controller/joint_trajectory", 0) >= 1 and counts.get("/joint_states", 0) > 50, counts

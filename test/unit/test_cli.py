"""``spacetools pick-place`` as a user runs it: success artefacts, and bad input that never moves."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spacetools_ros.core.paths import config_dir

DEMO = str(config_dir() / "scenes" / "box_in_bowl.yaml")


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "pick-place", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_demo_episode_leaves_json_video_and_bag(tmp_path):
    out = tmp_path / "r.json"
    res = run_cli("--scene", DEMO, "--pick", "red_block", "--place-on", "blue_bowl", "--record", str(tmp_path / "bag"),
                  "--video", str(tmp_path / "ep.mp4"), "--json", str(out))
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["success"] is True and doc["reason"] is None
    block, bowl = doc["final_object_poses"]["red_block"], doc["final_object_poses"]["blue_bowl"]
    assert abs(block[0] - bowl[0]) < 0.07 and abs(block[1] - bowl[1]) < 0.07 and block[2] < 0.03
    assert doc["plan_times_s"] and "grasp.close" in doc["timings"]
    assert (tmp_path / "ep.mp4").stat().st_size > 10_000
    from rosbags.highlevel import AnyReader

    with AnyReader([tmp_path / "bag"]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert counts["/camera/color/image_raw"] > 5 and counts["/joint_states"] > 50
        assert counts["/arm_controller/joint_trajectory"] >= 4
        conn = next(c for c in reader.connections if c.topic == "/spacetools/episode_result")
        (_, _, raw), = list(reader.messages(connections=[conn]))
        assert json.loads(reader.deserialize(raw, conn.msgtype).data)["success"] is True


def test_place_at_point_and_image_strip(tmp_path):
    out = tmp_path / "r.json"
    res = run_cli("--scene", DEMO, "--pick", "green_can", "--place-at", "0.55,0.25", "--video", str(tmp_path / "s.png"),
                  "--json", str(out))
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    x, y, _ = doc["final_object_poses"]["green_can"]
    assert abs(x - 0.55) < 0.03 and abs(y - 0.25) < 0.03
    assert (tmp_path / "s.png").stat().st_size > 10_000


@pytest.mark.parametrize("extra, message", [
    (["--pick", "purple_unicorn", "--place-on", "blue_bowl"], "unknown object to pick"),
    (["--pick", "red_block", "--place-on", "red_block"], "on itself"),
    (["--pick", "red_block", "--place-on", "yellow_ball"], "cannot place anything"),
    (["--pick", "red_block", "--place-at", "2.0,0.0"], "off the table"),
    (["--pick", "red_block", "--place-at", "0.38,0.0"], "occupied"),
    (["--pick", "red_block", "--place-at", "0.1,0.05"], "inside the robot base keep-out"),
    (["--pick", "red_block", "--place-at", "0.92,-0.6"], "out of reach"),
])
def test_bad_targets_exit_nonzero_without_motion(tmp_path, extra, message):
    out = tmp_path / "r.json"
    res = run_cli("--scene", DEMO, *extra, "--json", str(out), "--record", str(tmp_path / "bag"))
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert json.loads(out.read_text())["success"] is False
    assert "[pick-place] grasp" not in res.stderr  # no primitive ran


def test_bad_scene_file_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("objects:\n  - {name: a, shape: pyramid, color: red, size: [0.04], position: [0.5, 0]}\n")
    res = run_cli("--scene", str(bad), "--pick", "a", "--place-at", "0.5,0.2", "--json", str(tmp_path / "r.json"))
    assert res.returncode == 2
    assert "objects[0].shape" in res.stderr and "pyramid" in res.stderr
    assert not Path(tmp_path / "bag").exists()


def test_sigint_stops_motion_and_keeps_the_bag(tmp_path):
    import signal
    import time

    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.cli.main", "pick-place", "--scene", DEMO,
                             "--pick", "red_block", "--place-on", "blue_bowl", "--real-time", "1.0",
                             "--record", str(tmp_path / "bag"), "--json", str(out)],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # building the cell takes ~1 s, then the arm moves in real time
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    doc = json.loads(out.read_text())
    assert doc["success"] is False and doc["reason"] == "cancelled"
    from rosbags.highlevel import AnyReader

    with AnyReader([tmp_path / "bag"]) as reader:
        assert sum(c.msgcount for c in reader.connections) > 10

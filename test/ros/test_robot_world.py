"""The agent driving a robot through its ROS topics (world=ros): the spacetools_sim node stands in
for the robot. No robot yet -> a clear refusal and nothing sent; with the robot -> the command is
carried out (checked against the simulator's own truth on /spacetools/sim_status)."""

import json
import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from ros_probe import Probe  # noqa: E402
from ros_probe import stop_process as _stop  # noqa: E402
from ros_probe import wait_for as _wait  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from spacetools_ros.core.tools.auth import KEY_ENV, new_key  # noqa: E402

RESULT, SIM_STATUS = "/spacetools/episode_result", "/spacetools/sim_status"


def test_agent_acts_on_a_robot_over_topics():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    agent = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.agent_node", "--ros-args",
                              "-p", "world:=ros", "-p", "ready_timeout_s:=2.0"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sim = None
    probe = Probe("robot_world_probe", [RESULT, SIM_STATUS])
    results, truth, trajectories, joints = probe.got[RESULT], probe.got[SIM_STATUS], [], []
    node = probe.node
    node.create_subscription(JointTrajectory, "/arm_controller/joint_trajectory", trajectories.append, 50)
    node.create_subscription(JointState, "/joint_states", lambda m: joints.append(list(m.position[:7])), 50)
    cancel = node.create_client(Trigger, "/spacetools_agent/cancel")
    pub = probe.command
    try:
        assert _wait(lambda: pub.get_subscription_count() > 0, 60)
        time.sleep(1.0)
        # no robot on the topics: refused with the reason, no trajectory sent
        probe.send("put the red block in the blue bowl")
        assert _wait(lambda: results, 30)
        assert results[0]["reason"] == "robot_unavailable" and "joint states" in results[0]["error"]
        assert not trajectories

        sim = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node", "--ros-args",
                                "-p", "real_time_factor:=2.0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        assert _wait(lambda: truth, 60), "the sim node did not come up"
        start = truth[-1]["objects"]
        probe.send("put the red block in the blue bowl")
        assert _wait(lambda: len(results) >= 2, 240)
        res = results[1]
        assert res["success"], res
        assert res["world"] == "ros" and res["time_to_first_move_s"] is not None
        names = [c["name"] for c in res["tool_calls"]]
        assert "robot.execute_grasp" in names and "robot.place_object_at_2d_location" in names
        assert trajectories, "the agent sent no trajectories to the controller topic"
        time.sleep(2.5)  # a fresh sim_status after the place
        final = truth[-1]["objects"]
        block, bowl = final["red_block"], final["blue_bowl"]
        assert abs(block[0] - bowl[0]) < 0.06 and abs(block[1] - bowl[1]) < 0.06, (start, final)
        # what the agent reports is what its camera sees (colour_shape names): the block in the bowl
        seen = res["final_object_poses"]
        assert "red_box" in seen and abs(seen["red_box"][0] - bowl[0]) < 0.05, seen

        # cancel while the arm moves: the arm stops where it is and nothing more is sent
        n_before = len(trajectories)
        probe.send("put the yellow ball to the left of the green can")
        assert _wait(lambda: len(trajectories) > n_before, 60), "no motion started"
        fut = cancel.call_async(Trigger.Request())
        assert _wait(lambda: fut.done(), 10) and fut.result().success
        assert _wait(lambda: len(results) >= 3, 60)
        assert results[2]["reason"] == "cancelled", results[2]
        sent = len(trajectories)
        time.sleep(1.5)
        a = joints[-1]
        time.sleep(1.0)
        assert max(abs(x - y) for x, y in zip(a, joints[-1])) < 2e-3, "the arm still moves after the cancel"
        # the last message is the stop (an empty trajectory), and nothing came after it
        assert len(trajectories) == sent and not trajectories[-1].points
    finally:
        probe.close()
        code, out = _stop(agent)
        if sim is not None:
            sim_code, sim_out = _stop(sim)
            assert sim_code == 0, sim_out[-3000:]
    assert code == 0, out[-3000:]


def test_command_client_without_an_agent_fails_clearly(tmp_path):
    out = subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "command", "put the red block in the bowl",
                          "--wait-agent", "2", "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "no agent serves the action /spacetools/execute" in out.stderr
    assert "terminate called" not in out.stderr


def test_agent_with_every_tool_on_a_replica_that_drives_the_robot():
    """The distributed shape: sim node (the robot) <- tool server (world=ros: vision and robot
    tools, safety envelope) <- agent (tools=ros: only the policy loop). Three processes, topics only."""
    env = {**os.environ, KEY_ENV: new_key()}  # the agent's session key, shared with the robot replica only
    sim = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node", "--ros-args",
                            "-p", "real_time_factor:=2.0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    server = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node", "--ros-args",
                               "-p", "world:=ros", "-p", "robot_tools:=true", "-p", "replica_id:=robot0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    agent = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.agent_node", "--ros-args",
                              "-p", "tools:=ros", "-p", "ready_timeout_s:=60.0"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    probe = Probe("distributed_probe", [RESULT, SIM_STATUS])
    results, truth, pub = probe.got[RESULT], probe.got[SIM_STATUS], probe.command
    try:
        assert _wait(lambda: pub.get_subscription_count() > 0 and truth, 90)
        time.sleep(1.0)
        probe.send("put the red block in the blue bowl")
        assert _wait(lambda: results, 300)
        res = results[0]
        assert res["success"], res
        assert res["world"] == "toolshed"
        time.sleep(2.5)
        final = truth[-1]["objects"]
        block, bowl = final["red_block"], final["blue_bowl"]
        assert abs(block[0] - bowl[0]) < 0.06 and abs(block[1] - bowl[1]) < 0.06, final
        # an unknown object: refused by the policy, nothing moves
        before = truth[-1]["objects"]
        probe.send("put the purple unicorn in the blue bowl")
        assert _wait(lambda: len(results) >= 2, 120)
        assert not results[1]["success"] and results[1]["attempts"] == 0
        time.sleep(1.5)
        assert all(abs(a - b) < 1e-3 for k in before for a, b in zip(before[k], truth[-1]["objects"][k]))
    finally:
        probe.close()
        codes = [_stop(p) for p in (agent, server, sim)]
    for code, out in codes:
        assert code == 0, out[-3000:]


def test_bringup_agent_and_command_client_as_documented(tmp_path):
    """The README's path without ros2 launch: `spacetools_bringup --agent`, then `spacetools command`."""
    bringup = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.bringup", "--agent", "--duration", "150",
                                "--real-time-factor", "2.0", "--record", str(tmp_path / "bag")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "command",
                              "put the yellow ball in the blue bowl", "--wait-agent", "60", "--timeout", "120",
                              "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=200)
        assert out.returncode == 0, out.stderr[-3000:]
        doc = json.loads((tmp_path / "r.json").read_text())
        assert doc["success"] and doc["world"] == "ros"
        assert "[agent] robot.place_object_at_2d_location" in out.stderr  # progress is shown
    finally:
        code, log = _stop(bringup)
    assert code == 0, log[-3000:]
    from rosbags.highlevel import AnyReader

    # the session is in the bag: the command (the agent's status as it starts it), transcript, result
    with AnyReader([tmp_path / "bag"]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    for topic in ("/spacetools/status", "/spacetools/transcript", "/spacetools/episode_result",
                  "/arm_controller/joint_trajectory", "/joint_states"):
        assert counts.get(topic, 0) >= 1, counts

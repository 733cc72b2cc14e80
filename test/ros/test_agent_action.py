"""The agent's ExecuteCommand action (spacetools/execute) on an embedded-world agent node: feedback
and a result for a goal, goals one after another, a goal while busy or with a bad frame refused, a
cancel that stops the arm mid-motion, a goal's timeout, `spacetools command` as the action's client
(Ctrl-C cancels), and queue_goals:=true under a namespace; the markers of what the agent found and
did on spacetools/markers."""

import json
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from action_msgs.msg import GoalStatus  # noqa: E402
from action_msgs.srv import CancelGoal  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from spacetools_interfaces.action import ExecuteCommand  # noqa: E402
from spacetools_ros.ros.command_action import ProgressTracker, goal_refusal  # noqa: E402

# Commands that succeed one after another in the scene as the tests leave it (the module shares one
# node and world); the cancels come last and interrupt the first motion, which leaves the scene as it was.
INTO = "put the red block in the blue bowl"
LEFT = "put the red block to the left of the blue bowl"
IN_A_ROW = ("put the yellow ball to the left of the green can", "put the green can in front of the blue bowl")
CLI = "put the green can to the right of the yellow ball"
CANCELLED = "put the green can in front of the blue bowl"
EPISODE_S = 240.0  # one episode on a slow shared machine, at most
STILL_RAD = 2e-3


def wait_future(future, timeout_s: float, what: str):
    """The future's result; fails the test when it is not done within ``timeout_s``."""
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    assert done.wait(timeout_s), f"timed out after {timeout_s:.0f} s waiting for {what}"
    return future.result()


def stop(node, probe, ex, ctx) -> None:
    """Stop an agent node (its worker first), the executor and the context."""
    if node is not None:
        node.shutdown()
    ex.shutdown(timeout_sec=5)
    for n in (probe, node):
        if n is not None:
            n.destroy_node()
    rclpy.shutdown(context=ctx)


@pytest.fixture(scope="module")
def agent():
    """One embedded-world agent node (the packaged box_in_bowl scene, scripted policy) and an action
    client, spun by a multi-threaded executor as the node's main() does."""
    from spacetools_ros.ros.agent_node import AgentNode

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    ex = MultiThreadedExecutor(num_threads=4, context=ctx)
    node = probe = None
    try:
        node = AgentNode(context=ctx)
        probe = rclpy.create_node("agent_action_probe", context=ctx)
        client = ActionClient(probe, ExecuteCommand, "/spacetools/execute")
        markers = []
        probe.create_subscription(MarkerArray, "/spacetools/markers", markers.append, 50)
        ex.add_node(node)
        ex.add_node(probe)
        spinner = threading.Thread(target=ex.spin, daemon=True)
        spinner.start()
        assert client.wait_for_server(timeout_sec=20.0), "no /spacetools/execute action server"
        yield SimpleNamespace(node=node, client=client, markers=markers)
    finally:
        stop(node, probe, ex, ctx)


def send(client, command: str, frame: str = "", feedback=None, dry_run: bool = False):
    goal = ExecuteCommand.Goal(command=command, spatial_frame=frame, dry_run=dry_run)
    return wait_future(client.send_goal_async(goal, feedback_callback=feedback), 20.0, "the goal response")


def result_of(handle, timeout_s: float = EPISODE_S):
    return wait_future(handle.get_result_async(), timeout_s, "the result")


def arm_position(agent):
    """The simulated arm's joint positions (rad), read from the embedded session."""
    return agent.node._session.sim.arm_state().position.copy()


def wait_until_moving(agent, timeout_s: float = 120.0, proc=None) -> bool:
    """True once the joints change between two looks 50 ms apart (a motion is under way); False
    after ``timeout_s`` or once ``proc`` (the client that sent the goal) has ended."""
    deadline = time.monotonic() + timeout_s
    prev = None
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        if agent.node._session is not None:
            cur = arm_position(agent)
            if prev is not None and float(abs(cur - prev).max()) > 1e-3:
                return True
            prev = cur
        time.sleep(0.05)
    return False


def real_time(agent, factor: float = 1.0) -> None:
    """Pace the embedded sim (0 = as fast as possible); waits for the session the first command builds."""
    if factor > 0:
        assert wait_for(lambda: agent.node._session is not None, 60.0), "no embedded session"
    session = agent.node._session
    if session is not None:
        session.arm.real_time_factor = factor


def wait_for(cond, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(cond())


def assert_arm_still(agent) -> None:
    """Within a second of the stop, the joints no longer change."""
    time.sleep(1.0)
    a = arm_position(agent)
    time.sleep(1.0)
    assert float(abs(arm_position(agent) - a).max()) < STILL_RAD, "the arm still moves after the cancel"


def test_progress_lines_become_feedback_and_bad_goals_are_named():
    t = ProgressTracker()
    lines = ["[agent] robot.capture_image: Captured image 0", "[agent] roborefer.detect_all: 2 points",
             "[agent] robot.execute_grasp: Grasp succeeded", "[agent] robot.place_object_at_2d_location: placed",
             "[agent] the episode ended holding red_block: put back where it was picked", "x" * 400]
    fb = [t.update(line) for line in lines]
    assert [f.phase for f in fb] == ["perceive", "perceive", "grasp", "place", "verify", "reason"]
    assert all(a.progress <= b.progress < 1.0 for a, b in zip(fb, fb[1:]))
    assert json.loads(fb[2].latest_tool_call) == {"tool": "robot.execute_grasp"}
    assert json.loads(fb[-1].latest_tool_call) == {"tool": "robot.place_object_at_2d_location"}  # the latest
    assert len(fb[-1].message) == 300 and fb[0].image_index == -1
    assert goal_refusal(INTO, "", 0.0, False) is None and goal_refusal(INTO, "robot", 5.0, False) is None
    assert "spatial_frame" in goal_refusal(INTO, "sideways", 0.0, False)
    assert "dry_run" in goal_refusal(INTO, "", 0.0, True)
    assert "empty" in goal_refusal("   ", "", 0.0, False) and "limit" in goal_refusal("a" * 2001, "", 0.0, False)
    assert "timeout_s" in goal_refusal(INTO, "", float("nan"), False)
    assert "replicas" in goal_refusal(INTO, "robot", 0.0, False, fixed_frame="camera")


def test_goals_with_a_bad_frame_or_dry_run_are_rejected(agent):
    assert not agent.node._board.busy
    assert not send(agent.client, INTO, frame="sideways").accepted
    assert not send(agent.client, INTO, dry_run=True).accepted
    assert not agent.node._board.busy  # nothing was queued or reserved by the refused goals


def test_a_goal_gets_feedback_and_a_result_and_a_second_goal_meanwhile_is_rejected(agent):
    feedback = []
    agent.markers.clear()
    handle = send(agent.client, INTO, feedback=lambda m: feedback.append(m.feedback))
    assert handle.accepted
    assert not send(agent.client, LEFT).accepted  # one command at a time
    res = result_of(handle)
    assert res.status == GoalStatus.STATUS_SUCCEEDED, res.result
    assert res.result.success and res.result.verified and res.result.reason == ""
    doc = json.loads(res.result.result_json)
    assert doc["success"] is True and doc["command"] == INTO and doc["world"] == "embedded"
    assert doc["answer"] == res.result.answer and doc["tool_calls"] and doc["attempts"] >= 1
    block, bowl = doc["final_object_poses"]["red_block"], doc["final_object_poses"]["blue_bowl"]
    assert abs(block[0] - bowl[0]) < 0.07 and abs(block[1] - bowl[1]) < 0.07
    assert feedback, "no feedback while the goal ran"
    phases = [f.phase for f in feedback]
    assert "grasp" in phases and "place" in phases and "perceive" in phases
    assert all(a.progress <= b.progress for a, b in zip(feedback, feedback[1:])) and feedback[-1].progress < 1.0
    assert any(f.message.startswith("[agent] robot.execute_grasp") for f in feedback)
    assert {json.loads(f.latest_tool_call)["tool"] for f in feedback if f.latest_tool_call} >= {
        "robot.execute_grasp", "robot.place_object_at_2d_location"}
    # the command's markers: the previous ones deleted first, then a grasp arrow into the block and a
    # sphere where the block was put, in the base frame
    assert wait_for(lambda: any(m.ns == "places" for a in agent.markers for m in a.markers), 10.0), "no place marker"
    sent = [m for a in agent.markers for m in a.markers]
    assert sent[0].action == Marker.DELETEALL
    added = [m for m in sent if m.action == Marker.ADD]
    assert added and all(m.header.frame_id == "panda_link0" for m in added)
    arrow = next(m for m in reversed(added) if m.ns == "grasps")
    place = next(m for m in reversed(added) if m.ns == "places")
    assert arrow.type == Marker.ARROW and len(arrow.points) == 2 and arrow.points[0].z > arrow.points[1].z
    assert place.type == Marker.SPHERE
    assert abs(place.pose.position.x - bowl[0]) < 0.05 and abs(place.pose.position.y - bowl[1]) < 0.05
    assert {m.ns for m in added} >= {"detections", "labels", "grasps", "grippers", "places"}


def test_two_goals_in_a_row_both_complete(agent):
    docs = []
    for command in IN_A_ROW:
        handle = send(agent.client, command)
        assert handle.accepted, f"{command!r} was rejected after the previous goal finished"
        res = result_of(handle)
        assert res.status in (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED)
        docs.append(json.loads(res.result.result_json))
        assert docs[-1]["command"] == command and docs[-1]["success"] == res.result.success
    assert all(d["success"] for d in docs), [(d["reason"], d.get("answer"), d.get("error")) for d in docs]


def test_the_command_client_shows_feedback_and_exits_by_the_result(agent, tmp_path):
    out = subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "command", CLI, "--wait-agent", "30",
                          "--timeout", "200", "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=300)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["command"] == CLI and "tool_calls" in doc
    assert out.returncode == (0 if doc["success"] else 1), out.stderr[-3000:]
    assert doc["success"], doc
    assert "[agent] robot.place_object_at_2d_location" in out.stderr  # feedback is shown as it comes


def test_a_cancel_stops_the_arm_mid_motion_and_the_goal_ends_canceled(agent):
    try:
        handle = send(agent.client, CANCELLED)
        assert handle.accepted
        real_time(agent)  # so the motion lasts long enough to be interrupted
        assert wait_until_moving(agent), "the arm never moved"
        t0 = time.monotonic()
        cancel = wait_future(handle.cancel_goal_async(), 10.0, "the cancel response")
        assert cancel.return_code == CancelGoal.Response.ERROR_NONE and len(cancel.goals_canceling) == 1
        assert time.monotonic() - t0 < 5.0
        assert_arm_still(agent)
        res = result_of(handle, 60.0)
        assert res.status == GoalStatus.STATUS_CANCELED
        assert not res.result.success and res.result.reason == "cancelled"
        assert json.loads(res.result.result_json)["reason"] == "cancelled"
    finally:
        real_time(agent, 0.0)


def test_a_goal_past_its_timeout_is_stopped(agent):
    try:
        t0 = time.monotonic()
        goal = ExecuteCommand.Goal(command=CANCELLED, timeout_s=3.0)
        handle = wait_future(agent.client.send_goal_async(goal), 20.0, "the goal response")
        assert handle.accepted
        real_time(agent)
        res = result_of(handle, 60.0)
        assert time.monotonic() - t0 < 30.0
        assert res.status == GoalStatus.STATUS_ABORTED and res.result.reason == "timeout", res.result
        assert json.loads(res.result.result_json)["reason"] == "timeout"
    finally:
        real_time(agent, 0.0)


def test_ctrl_c_in_the_command_client_cancels_the_goal(agent):
    proc = subprocess.Popen([sys.executable, "-m", "spacetools_ros.cli.main", "command", CANCELLED,
                             "--wait-agent", "30", "--timeout", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        real_time(agent)
        if not wait_until_moving(agent, proc=proc):
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"the arm never moved; the client ({proc.returncode}) said: {out[-1500:]} "
                                 f"{err[-1500:]}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err[-3000:]
        assert "cancelling the command" in err
        doc = json.loads(out)
        assert doc["reason"] == "cancelled" and not doc["success"]
        assert_arm_still(agent)
    finally:
        real_time(agent, 0.0)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_with_queue_goals_goals_wait_in_order_and_a_waiting_one_can_be_cancelled():
    """A second agent under a namespace (its action moves there too) with queue_goals:=true."""
    from rclpy.parameter import Parameter

    from spacetools_ros.ros.agent_node import AgentNode
    from spacetools_ros.ros.command_action import QUEUE_DEPTH

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    ex = MultiThreadedExecutor(num_threads=4, context=ctx)
    node = probe = None
    # refused after one look (no motion, a second or two); told apart by their nouns
    unknown = [f"put the purple {noun} in the blue bowl" for noun in ("unicorn", "giraffe", "toaster", "laptop")]
    try:
        node = AgentNode(context=ctx, namespace="/queued",
                         parameter_overrides=[Parameter("queue_goals", Parameter.Type.BOOL, True)])
        probe = rclpy.create_node("agent_queue_probe", context=ctx)
        client = ActionClient(probe, ExecuteCommand, "/queued/spacetools/execute")
        ex.add_node(node)
        ex.add_node(probe)
        threading.Thread(target=ex.spin, daemon=True).start()
        assert client.wait_for_server(timeout_sec=20.0), "no /queued/spacetools/execute action server"
        taken = []  # the order in which the agent's worker starts them
        take = node._board.take

        def recording_take(timeout_s):
            job = take(timeout_s)
            if job is not None:
                taken.append(job.command)
            return job

        node._board.take = recording_take
        finished = []
        first = send(client, INTO)
        assert QUEUE_DEPTH == len(unknown)
        waiting = [send(client, text) for text in unknown]
        assert first.accepted and all(h.accepted for h in waiting)
        assert not send(client, unknown[0]).accepted  # the queue is full
        futures = [h.get_result_async() for h in [first, *waiting]]
        for i, f in enumerate(futures):
            f.add_done_callback(lambda _, i=i: finished.append(i))
        cancel = wait_future(waiting[0].cancel_goal_async(), 10.0, "the cancel response")
        assert len(cancel.goals_canceling) == 1
        res = wait_future(futures[1], 10.0, "the cancelled waiting goal")  # long before the first ends
        assert res.status == GoalStatus.STATUS_CANCELED and res.result.reason == "cancelled"
        assert not futures[0].done()
        results = [wait_future(f, EPISODE_S, "a queued goal") for f in futures]
        assert results[0].status == GoalStatus.STATUS_SUCCEEDED, results[0].result
        assert finished[0] == 1  # the cancelled one, before anything ran
        # the rest started in the order they came (the worker may have been inside its previous
        # wait for a job when the recording began, so the first one is not always recorded)
        assert [t for t in taken if t != INTO] == unknown[1:]
        docs = [json.loads(r.result.result_json) for r in results[2:]]
        assert [d["command"] for d in docs] == unknown[1:]
        assert all(not d["success"] and d["attempts"] == 0 for d in docs), docs
    finally:
        stop(node, probe, ex, ctx)

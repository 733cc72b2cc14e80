"""spacetools_interfaces: the generated action and services have the agreed fields, and a goal with
its feedback and result, and a tool call, cross real rclpy on loopback."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator

import pytest

rclpy = pytest.importorskip("rclpy")
from action_msgs.msg import GoalStatus  # noqa: E402
from rclpy.action import ActionClient, ActionServer  # noqa: E402
from rclpy.callback_groups import ReentrantCallbackGroup  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from spacetools_interfaces.action import ExecuteCommand  # noqa: E402
from spacetools_interfaces.srv import CallTool, EndEpisode, ListTools  # noqa: E402

DOMAIN_ID = 93
WAIT_S = 15.0  # discovery can take a few seconds; nothing below waits longer than this

FIELDS = {
    ExecuteCommand.Goal: {"command": "string", "spatial_frame": "string", "timeout_s": "float",
                          "dry_run": "boolean"},
    ExecuteCommand.Result: {"success": "boolean", "verified": "boolean", "reason": "string", "answer": "string",
                            "result_json": "string"},
    ExecuteCommand.Feedback: {"phase": "string", "progress": "float", "latest_tool_call": "string",
                              "message": "string", "image_index": "int32"},
    CallTool.Request: {"request_id": "string", "episode_id": "string", "tool": "string", "arguments_json": "string",
                       "image_stamps_ns": "sequence<int64>", "signed_at": "double", "signature": "string"},
    CallTool.Response: {"ok": "boolean", "error": "string", "text": "string", "result_json": "string",
                        "elapsed_s": "double", "replica_id": "string"},
    ListTools.Request: {},
    ListTools.Response: {"names": "sequence<string>", "schemas_json": "string", "replica_id": "string"},
    EndEpisode.Request: {"request_id": "string", "episode_id": "string", "signed_at": "double",
                         "signature": "string"},
    EndEpisode.Response: {"ok": "boolean", "text": "string"},
}


@pytest.mark.parametrize("cls", list(FIELDS), ids=lambda c: c.__name__)
def test_fields_and_types_are_the_agreed_ones(cls):
    # in declaration order: the order is part of the wire format
    assert list(cls.get_fields_and_field_types().items()) == list(FIELDS[cls].items())


def test_feedback_without_an_image_says_so():
    assert ExecuteCommand.Feedback().image_index == -1
    goal = ExecuteCommand.Goal(command="pick up the cup", spatial_frame="robot", timeout_s=2.5, dry_run=True)
    assert (goal.command, goal.spatial_frame, goal.timeout_s, goal.dry_run) == ("pick up the cup", "robot", 2.5, True)
    assert ExecuteCommand.Result().success is False and list(CallTool.Request().image_stamps_ns) == []


def wait_done(future, what: str):
    """Returns the future's result, failing the test if it is not done within WAIT_S."""
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    assert done.wait(WAIT_S), f"timed out waiting for {what}"
    return future.result()


@pytest.fixture
def node(monkeypatch) -> Iterator[Node]:
    """A node in a private context on domain 93, spun by a multi-threaded executor in the background."""
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.setenv("ROS_LOCALHOST_ONLY", "1")
    monkeypatch.setenv("ROS_DOMAIN_ID", str(DOMAIN_ID))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=DOMAIN_ID)
    n = rclpy.create_node(f"interfaces_test_{os.getpid()}", context=ctx)
    ex = MultiThreadedExecutor(num_threads=4, context=ctx)
    ex.add_node(n)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()
    try:
        yield n
    finally:
        ex.shutdown(timeout_sec=5)
        n.destroy_node()
        rclpy.shutdown(context=ctx)
        spinner.join(timeout=5)


@pytest.mark.ros
def test_execute_command_goal_feedback_result(node):
    name = f"execute_command_test_{os.getpid()}"  # no other run on this domain shares it
    goals = []
    feedbacks = []
    got_feedback = threading.Event()
    tool_call = json.dumps({"name": "roborefer.detect_one", "arguments": {"obj_name": "red cup"}})
    result_doc = json.dumps({"success": True, "answer": "moved"})

    def execute(goal_handle):
        goals.append(goal_handle.request)
        # feedback is a topic: repeat it until the client has one (its subscription may still be matching)
        deadline = time.monotonic() + WAIT_S
        while not got_feedback.is_set() and time.monotonic() < deadline:
            goal_handle.publish_feedback(ExecuteCommand.Feedback(
                phase="tool", progress=0.5, latest_tool_call=tool_call, message="looking", image_index=2))
            got_feedback.wait(0.1)
        goal_handle.succeed()
        return ExecuteCommand.Result(success=True, verified=True, reason="", answer="moved", result_json=result_doc)

    def on_feedback(msg):
        feedbacks.append(msg.feedback)
        got_feedback.set()

    group = ReentrantCallbackGroup()
    server = ActionServer(node, ExecuteCommand, name, execute, callback_group=group)
    client = ActionClient(node, ExecuteCommand, name, callback_group=group)
    try:
        assert client.wait_for_server(timeout_sec=WAIT_S), "action server not discovered"
        goal = ExecuteCommand.Goal(command="put the red cup in the bowl", spatial_frame="camera", timeout_s=30.0,
                                   dry_run=True)
        handle = wait_done(client.send_goal_async(goal, feedback_callback=on_feedback), "the goal response")
        assert handle.accepted
        response = wait_done(handle.get_result_async(), "the result")
        assert got_feedback.wait(WAIT_S), "no feedback arrived"
    finally:
        client.destroy()
        server.destroy()

    assert response.status == GoalStatus.STATUS_SUCCEEDED
    r = response.result
    assert (r.success, r.verified, r.reason, r.answer) == (True, True, "", "moved")
    assert json.loads(r.result_json) == {"success": True, "answer": "moved"}
    (g,) = goals
    assert (g.command, g.spatial_frame, g.timeout_s, g.dry_run) == ("put the red cup in the bowl", "camera", 30.0, True)
    f = feedbacks[0]
    assert (f.phase, f.message, f.image_index) == ("tool", "looking", 2)
    assert f.progress == pytest.approx(0.5)
    assert json.loads(f.latest_tool_call)["arguments"] == {"obj_name": "red cup"}


@pytest.mark.ros
def test_call_tool_round_trip(node):
    name = f"call_tool_test_{os.getpid()}"
    requests = []

    def handle(request, response):
        requests.append(request)
        args = json.loads(request.arguments_json)
        response.ok = request.tool == "sam2.segment_from_point"
        response.error = "" if response.ok else f"unknown tool {request.tool!r}"
        response.result_json = json.dumps({"mask_pixels": args.get("x", 0) * 10})
        response.text = f"{len(request.image_stamps_ns)} image(s)"
        return response

    group = ReentrantCallbackGroup()
    service = node.create_service(CallTool, name, handle, callback_group=group)
    client = node.create_client(CallTool, name, callback_group=group)
    try:
        assert client.wait_for_service(timeout_sec=WAIT_S), "service not discovered"
        ok = wait_done(client.call_async(CallTool.Request(
            episode_id="e1", tool="sam2.segment_from_point", arguments_json=json.dumps({"x": 4, "y": 5}),
            image_stamps_ns=[-1, 2**62])), "a reply")
        bad = wait_done(client.call_async(CallTool.Request(episode_id="e1", tool="nope", arguments_json="{}")),
                        "a reply")
    finally:
        node.destroy_client(client)
        node.destroy_service(service)

    assert (ok.ok, ok.error, json.loads(ok.result_json)) == (True, "", {"mask_pixels": 40})
    assert ok.text == "2 image(s)" and list(requests[0].image_stamps_ns) == [-1, 2**62]
    assert (bad.ok, bad.error) == (False, "unknown tool 'nope'")
    assert [(q.episode_id, q.tool) for q in requests] == [("e1", "sam2.segment_from_point"), ("e1", "nope")]

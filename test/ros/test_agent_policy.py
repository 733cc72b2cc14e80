"""The agent node builds its policy once, at start-up, and reuses it for every command (a model load
per command would be a full checkpoint load for policy=local); ``start`` begins each episode."""

import json
import threading
import time

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from spacetools_ros.backends.policy.scripted import ScriptedPolicy  # noqa: E402
from spacetools_ros.compose import policy as compose_policy  # noqa: E402


def wait_for(cond, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(cond())


def test_the_agent_node_reuses_one_policy_for_every_command(monkeypatch):
    from spacetools_ros.ros import topics
    from spacetools_ros.ros.agent_node import COMMAND, AgentNode

    built = []
    real = compose_policy.make_policy

    def counting(*args, **kwargs):
        policy = real(*args, **kwargs)
        built.append(policy)
        return policy

    monkeypatch.setattr(compose_policy, "make_policy", counting)
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    node = probe = None
    try:
        node = AgentNode(context=ctx, parameter_overrides=[Parameter("policy", Parameter.Type.STRING, "scripted")])
        assert len(built) == 1 and node.policy is built[0]
        assert isinstance(node.policy, ScriptedPolicy) and node.policy.name == "scripted"
        started = []
        policy_start = node.policy.start

        def start(command):
            started.append((id(node.policy), command))
            policy_start(command)

        node.policy.start = start
        probe = rclpy.create_node("agent_policy_probe", context=ctx)
        results = []
        probe.create_subscription(String, topics.EPISODE_RESULT, lambda m: results.append(json.loads(m.data)), 10)
        pub = probe.create_publisher(String, COMMAND, 10)
        ex.add_node(node)
        ex.add_node(probe)
        threading.Thread(target=ex.spin, daemon=True).start()
        assert wait_for(lambda: pub.get_subscription_count() > 0 and
                        node.count_publishers(topics.EPISODE_RESULT) > 0 and
                        probe.count_subscribers(topics.EPISODE_RESULT) > 0, 10)
        commands = ["put the red block in the blue bowl", "put the red block to the left of the blue bowl"]
        for i, command in enumerate(commands):
            pub.publish(String(data=command))
            assert wait_for(lambda i=i: len(results) > i, 240), results  # a shared CI machine can be slow
            assert results[i]["command"] == command and results[i]["policy"] == "scripted"
        assert results[0]["success"], results[0]
        assert [c for _, c in started] == commands  # each episode began with start(command) ...
        assert {pid for pid, _ in started} == {id(built[0])} and len(built) == 1  # ... on the one policy
    finally:
        if node is not None:
            node.shutdown()
        ex.shutdown(timeout_sec=2)
        for n in (probe, node):
            if n is not None:
                n.destroy_node()
        rclpy.shutdown(context=ctx)

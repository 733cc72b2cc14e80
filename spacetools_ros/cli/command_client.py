"""``spacetools command``: send a command to a running spacetools_agent over ROS 2 and wait for its
result (there is no ros2 CLI here; on a ROS 2 install ``ros2 topic pub`` works just as well)."""

from __future__ import annotations

import sys
import threading
import time

from ..core.errors import ConfigError


def _agent_listening(node, command: str, status: str, result: str) -> bool:
    """An agent (a node taking commands and publishing status and results) is up; a recorder that
    also subscribes to the command topic does not count."""
    takers = {(e.node_namespace, e.node_name) for e in node.get_subscriptions_info_by_topic(command)}
    speakers = {(e.node_namespace, e.node_name) for e in node.get_publishers_info_by_topic(status)}
    reporters = {(e.node_namespace, e.node_name) for e in node.get_publishers_info_by_topic(result)}
    return bool(takers & speakers & reporters)


def _wait_matched(node, pub, topic: str, limit_s: float = 5.0) -> None:
    """Wait (bounded) until our publisher has matched every subscriber the graph shows on ``topic``,
    so a recorder started with the agent gets the command too."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if pub.get_subscription_count() >= len(node.get_subscriptions_info_by_topic(topic)):
            return
        time.sleep(0.05)


def _decode(text: str) -> dict:
    """A status/result message through the bounded decoder ({} when it is not a JSON object)."""
    from ..core.tools.decode import DecodeError, Limits, loads

    try:
        doc = loads(text, Limits(max_chars=4_000_000, max_depth=24, max_items=500_000, max_string_chars=4_000_000))
    except DecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def send_command(text: str, timeout_s: float, wait_agent_s: float = 30.0,
                 progress=lambda s: print(s, file=sys.stderr)) -> dict:
    """Publish ``text`` on /spacetools/command and return the episode result document.

    Raises:
        ConfigError: empty command, no agent listening, or no result within ``timeout_s``.
    """
    if not text.strip():
        raise ConfigError("the command is empty")
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import String

    from ..ros import topics
    from ..ros.agent_node import COMMAND, STATUS

    rclpy.init(args=[])
    node = rclpy.create_node("spacetools_command")
    results: list[dict] = []
    mine = threading.Event()

    def on_status(msg: String) -> None:
        doc = _decode(msg.data)
        if doc.get("state") == "progress" and mine.is_set():
            progress(doc.get("line", ""))
        elif doc.get("state") == "rejected" and doc.get("command") == text:
            results.append({"success": False, "reason": "rejected", "error": doc.get("reason")})

    def on_result(msg: String) -> None:
        doc = _decode(msg.data)
        if doc.get("command") == text:
            results.append(doc)

    node.create_subscription(String, STATUS, on_status, 50)
    node.create_subscription(String, topics.EPISODE_RESULT, on_result, 10)
    pub = node.create_publisher(String, COMMAND, 10)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + wait_agent_s
        while not _agent_listening(node, COMMAND, STATUS, topics.EPISODE_RESULT):
            if time.monotonic() > deadline:
                raise ConfigError(f"no agent subscribes to {COMMAND} (is spacetools_agent running, "
                                  "with the same ROS_DOMAIN_ID?)")
            time.sleep(0.1)
        _wait_matched(node, pub, COMMAND)
        time.sleep(0.5)  # let the agent's publishers match our subscriptions
        mine.set()
        pub.publish(String(data=text))
        deadline = time.monotonic() + timeout_s
        while not results:
            if time.monotonic() > deadline:
                raise ConfigError(f"no result within {timeout_s:.0f} s")
            time.sleep(0.1)
        return results[0]
    finally:
        ex.shutdown(timeout_sec=2.0)
        spinner.join(timeout=5.0)  # a spinning thread left at exit aborts the interpreter
        node.destroy_node()
        rclpy.shutdown()

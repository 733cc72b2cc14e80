"""Shared pieces of the ROS tests that drive the package's nodes as processes: a probe node that
collects JSON topics and publishes commands, waiting, and stopping a process."""

import json
import signal
import subprocess
import threading
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

COMMAND = "/spacetools/command"


def wait_for(cond, timeout_s: float, period_s: float = 0.2) -> bool:
    """Poll ``cond`` until it holds or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(period_s)
    return bool(cond())


def stop_process(proc: subprocess.Popen) -> tuple[int, str]:
    """SIGINT, wait (kill after 60 s); returns (exit code, output)."""
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


class Probe:
    """A node in this process: every message on ``json_topics`` (std_msgs/String JSON) is appended to
    ``got[topic]``; ``command`` publishes on /spacetools/command; spun in a daemon thread."""

    def __init__(self, name: str, json_topics: list[str]) -> None:
        rclpy.init()
        self.node = rclpy.create_node(name)
        self.got: dict[str, list] = {t: [] for t in json_topics}
        for topic in json_topics:
            self.node.create_subscription(String, topic, lambda m, t=topic: self.got[t].append(json.loads(m.data)), 10)
        self.command = self.node.create_publisher(String, COMMAND, 10)
        self._ex = SingleThreadedExecutor()
        self._ex.add_node(self.node)
        threading.Thread(target=self._ex.spin, daemon=True).start()

    def send(self, text: str) -> None:
        """Publish a command."""
        self.command.publish(String(data=text))

    def close(self) -> None:
        """Stop spinning and shut rclpy down."""
        self._ex.shutdown(timeout_sec=2)
        self.node.destroy_node()
        rclpy.shutdown()

"""spacetools_recorder: writes chosen topics, serialised as received, into a rosbag2 (MCAP) bag."""

from __future__ import annotations

import importlib
import sys

from rclpy.node import Node
from rclpy.qos import QoSProfile

from ..backends.recording.bag import ThreadedBagWriter


def default_topics() -> list[str]:
    """The topic:type list of the packaged config/recorder.yaml (one list for every entry point)."""
    from ..backends.motion.settings import load_params
    from ..core.paths import config_dir

    return list(load_params(config_dir() / "recorder.yaml", "spacetools_recorder")["topics"])


def message_class(msgtype: str):
    """Message class from ``pkg/msg/Type``.

    Raises:
        ValueError: for a malformed or unknown type.
    """
    parts = msgtype.split("/")
    if len(parts) != 3 or parts[1] != "msg":
        raise ValueError(f"message type must look like pkg/msg/Type, got {msgtype!r}")
    try:
        return getattr(importlib.import_module(f"{parts[0]}.msg"), parts[2])
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"unknown message type {msgtype!r}") from exc


class RecorderNode(Node):
    """Subscribes with raw=True and hands the CDR bytes to one bag-writer thread."""

    def __init__(self, **kwargs) -> None:
        super().__init__("spacetools_recorder", **kwargs)
        output = self.declare_parameter("output", "").value
        specs = list(self.declare_parameter("topics", default_topics()).value)
        if not output:
            raise ValueError("parameter 'output' (bag directory) is required")
        pairs = []
        for spec in specs:
            topic, _, msgtype = spec.partition(":")
            pairs.append((topic, msgtype, message_class(msgtype)))
        self.writer = ThreadedBagWriter(output)
        # reliable: best-effort readers lose most fragmented (image-sized) samples over DDS
        qos = QoSProfile(depth=50)
        for topic, msgtype, cls in pairs:
            self.create_subscription(cls, topic, self._callback(topic, msgtype), qos, raw=True)
        self.get_logger().info(f"recording {len(pairs)} topics into {output}")

    def _callback(self, topic: str, msgtype: str):
        def cb(data: bytes) -> None:
            self.writer.write(topic, msgtype, self.get_clock().now().nanoseconds, data)

        return cb

    def shutdown(self) -> None:
        """Flush and close the bag (metadata written)."""
        self.writer.close()
        if self.writer.dropped:
            self.get_logger().warning(f"dropped {self.writer.dropped} messages (writer queue full)")


def main(args: list[str] | None = None) -> None:
    """Run the recorder until SIGINT/SIGTERM."""
    from .spin import run_nodes

    sys.exit(run_nodes(lambda: [RecorderNode()], args))


if __name__ == "__main__":
    main()

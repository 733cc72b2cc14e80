"""spacetools_recorder: writes chosen topics, serialised as received, into a rosbag2 (MCAP) bag.

Relative topic names resolve in the recorder's namespace (and through its remappings); the bag
holds the fully qualified names it subscribed to.
"""

from __future__ import annotations

import importlib
import sys

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile

from ..backends.recording.bag import BagOptions, ThreadedBagWriter
from . import topics as topic_names


def packaged_params() -> dict:
    """The recorder's parameters in the packaged config/recorder.yaml (defaults for every entry point)."""
    from ..backends.motion.settings import load_params
    from ..core.paths import config_dir

    return load_params(config_dir() / "recorder.yaml", "spacetools_recorder")


def default_topics() -> list[str]:
    """The topic:type list of the packaged config/recorder.yaml (one list for every entry point)."""
    return list(packaged_params()["topics"])


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
    """Subscribes with raw=True and hands the CDR bytes to one bag-writer thread.

    Chunks reach the disk by size and age (``chunk_size_bytes``, ``chunk_interval_s``, ``fsync``), so a
    killed recorder leaves a bag that is readable up to its last chunk.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("spacetools_recorder", **kwargs)
        self._closed = False
        defaults = packaged_params()
        output = self.declare_parameter("output", "").value
        specs = list(self.declare_parameter("topics", list(defaults["topics"])).value)
        options = BagOptions.from_params({
            key: self.declare_parameter(key, defaults.get(key, default)).value
            for key, default in (("chunk_size_bytes", BagOptions.chunk_bytes),
                                 ("chunk_interval_s", BagOptions.chunk_interval_s), ("fsync", BagOptions.fsync))})
        if not output:
            raise ValueError("parameter 'output' (bag directory) is required")
        drain = self.declare_parameter("close_drain_s", float(defaults.get("close_drain_s", 4.0))).value
        if isinstance(drain, bool) or not isinstance(drain, (int, float)) or not 0.0 <= drain <= 600.0:
            raise ValueError(f"close_drain_s must be a number of seconds in [0, 600], got {drain!r}")
        self._drain_s = float(drain)
        pairs = []
        packaged = set(defaults["topics"])
        for spec in specs:
            topic, _, msgtype = spec.partition(":")
            resolved = self.resolve_topic_name(topic_names.check_name(topic))
            if any(resolved == other for other, _, _ in pairs):
                continue  # named twice (relative and absolute): one subscription
            try:
                pairs.append((resolved, msgtype, message_class(msgtype)))
            except ValueError:
                if spec not in packaged:
                    raise
                # a packaged topic whose message package this install lacks (tf2_msgs off a ROS install)
                self.get_logger().warning(f"not recording {resolved}: {msgtype} is not installed")
        self.writer = ThreadedBagWriter(output, options)
        # reliable: best-effort readers lose most fragmented (image-sized) samples over DDS
        qos = QoSProfile(depth=50)
        # latched topics (/tf_static): also what was sent before the recorder joined
        latched = QoSProfile(depth=50, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        for topic, msgtype, cls in pairs:
            self.create_subscription(cls, topic, self._callback(topic, msgtype),
                                     latched if topic == topic_names.TF_STATIC else qos, raw=True)
        self.get_logger().info(f"recording {len(pairs)} topics into {output}")

    def _callback(self, topic: str, msgtype: str):
        def cb(data: bytes) -> None:
            self.writer.write(topic, msgtype, self.get_clock().now().nanoseconds, data)

        return cb

    def shutdown(self) -> None:
        """Flush and close the bag (index and metadata written); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.writer.close(drain_s=self._drain_s)
        except Exception as exc:  # noqa: BLE001 - reported; the flushed chunks stay readable
            self.get_logger().error(f"bag writer failed: {type(exc).__name__}: {exc}")
        if self.writer.dropped:
            self.get_logger().warning(f"dropped {self.writer.dropped} messages (writer queue full, or still queued "
                                      f"{self._drain_s:g} s after the stop)")
        if self.writer.cdr_counts.get("malformed"):
            self.get_logger().warning(f"{self.writer.cdr_counts['malformed']} messages did not decode as their type")


def main(args: list[str] | None = None) -> None:
    """Run the recorder until SIGINT/SIGTERM."""
    from .spin import run_nodes

    sys.exit(run_nodes(lambda: [RecorderNode()], args))


if __name__ == "__main__":
    main()

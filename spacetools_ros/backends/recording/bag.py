"""A rosbag2 (MCAP storage) writer for already-serialised CDR messages.

Owned by one thread: callers from several threads go through ``ThreadedBagWriter``.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from ...core.errors import ConfigError


def _typestore():
    from rosbags.typesys import Stores, get_typestore

    store = getattr(Stores, "ROS2_KILTED", None) or Stores.ROS2_JAZZY
    return get_typestore(store)


class BagWriter:
    """Writes CDR messages into a new rosbag2 directory (metadata.yaml + .mcap).

    Raises:
        ConfigError: when the directory already exists (a bag is never overwritten).
    """

    def __init__(self, path: str | Path) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = Path(path)
        if self.path.exists():
            raise ConfigError(f"bag directory {self.path} already exists; choose a new --record path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._store = _typestore()
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._conns: dict[str, object] = {}
        self.count = 0

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes) -> None:
        """Append one serialised message (msgtype like ``sensor_msgs/msg/Image``)."""
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self._store)
            self._conns[topic] = conn
        self._writer.write(conn, int(stamp_ns), bytes(data))
        self.count += 1

    def close(self) -> None:
        """Finish the bag (writes metadata.yaml); idempotent."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ThreadedBagWriter:
    """A BagWriter fed through a queue and owned by one writer thread."""

    def __init__(self, path: str | Path, max_queue: int = 2000) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=max_queue)
        self._err: Exception | None = None
        self._ready = threading.Event()
        self.path = Path(path)
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="bag-writer", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._err is not None:
            raise self._err

    def _run(self) -> None:
        try:
            writer = BagWriter(self.path)
        except Exception as exc:  # noqa: BLE001 - reported to the constructor
            self._err = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            item = self._q.get()
            if item is None:
                break
            writer.write(*item)
        writer.close()

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes) -> None:
        """Queue a message (dropped and counted when the queue is full)."""
        try:
            self._q.put_nowait((topic, msgtype, stamp_ns, bytes(data)))
        except queue.Full:
            self.dropped += 1

    def close(self, timeout_s: float = 30.0) -> None:
        """Flush the queue and finish the bag."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join(timeout_s)

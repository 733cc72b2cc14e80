"""rosbag2 (MCAP storage) bags that stay readable when the recording process dies.

``BagWriter`` is owned by one thread; callers from several threads (a ROS recorder) or callers that
must never wait on the disk (an episode) go through ``ThreadedBagWriter``. Messages are written in
chunks of at most ``chunk_bytes`` or ``chunk_interval_s`` (see ``mcap_writer``), each cut to its
exact CDR length (see ``cdr``); metadata.yaml is written when the bag opens and rewritten after
flushes, so a killed recording keeps every flushed chunk and a directory that readers accept.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import ConfigError
from .cdr import CdrNormalizer
from .mcap_writer import McapWriter

IDL_PREFIX = "=" * 80 + "\nIDL: "
STATE_KEY = "spacetools.state"  # metadata.yaml custom_data: recording | closed | repaired


@dataclass(frozen=True)
class BagOptions:
    """How often a bag reaches the disk.

    Attributes:
        chunk_bytes: a chunk is written once it holds this many bytes.
        chunk_interval_s: ... or once its oldest message is this old (wall clock): at most this much
            is lost when the process is killed.
        fsync: fsync after every flush, so flushed chunks also survive a power loss.
    """

    chunk_bytes: int = 1 << 20
    chunk_interval_s: float = 1.0
    fsync: bool = False

    @classmethod
    def from_params(cls, params: dict) -> BagOptions:
        """Options from recorder parameters (``chunk_size_bytes``, ``chunk_interval_s``, ``fsync``).

        Raises:
            ConfigError: a value of the wrong type or out of range.
        """
        size = params.get("chunk_size_bytes", cls.chunk_bytes)
        interval = params.get("chunk_interval_s", cls.chunk_interval_s)
        sync = params.get("fsync", cls.fsync)
        if isinstance(size, bool) or not isinstance(size, int) or not 4096 <= size <= 256 << 20:
            raise ConfigError(f"chunk_size_bytes must be an integer in [4096, {256 << 20}], got {size!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.05 <= interval <= 60:
            raise ConfigError(f"chunk_interval_s must be a number in [0.05, 60], got {interval!r}")
        if not isinstance(sync, bool):
            raise ConfigError(f"fsync must be true or false, got {sync!r}")
        return cls(size, float(interval), sync)


def load_bag_options(path: str | Path | None = None) -> BagOptions:
    """Bag options from a recorder parameter file (default: the packaged config/recorder.yaml)."""
    from ...core.paths import config_dir
    from ..motion.settings import load_params

    return BagOptions.from_params(load_params(path or config_dir() / "recorder.yaml", "spacetools_recorder"))


@dataclass
class TopicMeta:
    """One topic of metadata.yaml."""

    name: str
    msgtype: str
    type_hash: str
    count: int = 0


def metadata_info(file_name: str, topics: list[TopicMeta], start_ns: int, end_ns: int, state: str,
                  extra: dict[str, str] | None = None) -> dict:
    """The ``rosbag2_bagfile_information`` of metadata.yaml (rosbag2 format version 9).

    Args:
        file_name: the MCAP file's name inside the bag directory.
        topics: topics with their message counts.
        start_ns: log time of the first message (ignored when there is none).
        end_ns: log time of the last message.
        state: ``recording``, ``closed`` or ``repaired`` (custom_data ``spacetools.state``).
        extra: more custom_data entries (strings).
    """
    count = sum(t.count for t in topics)
    start = int(start_ns) if count else 0
    duration = max(0, int(end_ns) - start) if count else 0
    return {
        "version": 9,
        "storage_identifier": "mcap",
        "duration": {"nanoseconds": duration},
        "starting_time": {"nanoseconds_since_epoch": start},
        "message_count": count,
        "topics_with_message_count": [
            {"topic_metadata": {"name": t.name, "type": t.msgtype, "serialization_format": "cdr",
                                "offered_qos_profiles": [], "type_description_hash": t.type_hash},
             "message_count": t.count}
            for t in topics],
        "compression_format": "",
        "compression_mode": "",
        "relative_file_paths": [file_name],
        "files": [{"path": file_name, "starting_time": {"nanoseconds_since_epoch": start},
                   "duration": {"nanoseconds": duration}, "message_count": count}],
        "custom_data": {STATE_KEY: state, **(extra or {})},
        "ros_distro": "kilted",
    }


def dump_info(info: dict) -> str:
    """The bagfile information as YAML (what the MCAP's ``rosbag2`` metadata record holds)."""
    import yaml

    return yaml.safe_dump(info, sort_keys=False)


def write_metadata(bag_dir: Path, info: dict, fsync: bool = False) -> None:
    """Write metadata.yaml atomically (a temporary file replaces the old one)."""
    import yaml

    tmp = bag_dir / "metadata.yaml.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump({"rosbag2_bagfile_information": info}, f, sort_keys=False)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    tmp.replace(bag_dir / "metadata.yaml")


def schema_for(typestore, msgtype: str) -> tuple[str, bytes, str]:
    """(encoding, message definition, RIHS01 hash) of a type; empty for a type the store lacks."""
    if msgtype not in typestore.fielddefs:
        return "", b"", ""
    text, _ = typestore.generate_msgdef(msgtype, ros_version=2)
    return ("ros2idl" if text.startswith(IDL_PREFIX) else "ros2msg"), text.encode(), typestore.hash_rihs01(msgtype)


class BagWriter:
    """Writes CDR messages into a new rosbag2 directory (metadata.yaml + one .mcap).

    Args:
        path: the new bag directory.
        options: chunking and flushing.
        typestore: rosbags typestore for definitions and CDR checks (default: Kilted).

    Raises:
        ConfigError: when the directory already exists (a bag is never overwritten).
    """

    def __init__(self, path: str | Path, options: BagOptions | None = None, typestore=None) -> None:
        from importlib.metadata import version

        self.path = Path(path)
        self.options = options or BagOptions()
        try:
            self.path.mkdir(parents=True)
        except FileExistsError:
            raise ConfigError(f"bag directory {self.path} already exists; choose a new --record path") from None
        self._norm = CdrNormalizer(typestore)
        self._file = f"{self.path.name}.mcap"
        self._mcap = McapWriter(self.path / self._file, self.options.chunk_bytes, self.options.chunk_interval_s,
                                self.options.fsync, f"spacetools_ros (rosbags-{version('rosbags')} typestore)")
        self._topics: dict[str, TopicMeta] = {}
        self._channels: dict[str, int] = {}
        self._schemas: dict[str, int] = {}
        self._last_log_ns = 0
        self._meta_t = 0.0
        self._meta_topics = -1
        self.count = 0
        self._write_meta("recording")

    @property
    def flushed_count(self) -> int:
        """Messages already on disk (in written chunks)."""
        return sum(self._mcap.flushed_counts.values())

    @property
    def cdr_counts(self) -> dict[str, int]:
        """How many messages were exact, trimmed, of unknown type, malformed."""
        return dict(self._norm.stats.counts)

    def _channel(self, topic: str, msgtype: str) -> int:
        cid = self._channels.get(topic)
        if cid is not None:
            if self._topics[topic].msgtype != msgtype:
                raise ValueError(f"topic {topic} is recorded as {self._topics[topic].msgtype}, not {msgtype}")
            return cid
        encoding, text, type_hash = schema_for(self._norm.typestore, msgtype)
        sid = self._schemas.get(msgtype)
        if sid is None:
            sid = self._mcap.add_schema(msgtype, encoding, text)
            self._schemas[msgtype] = sid
        cid = self._mcap.add_channel(topic, sid, "cdr", {"offered_qos_profiles": ""})
        self._channels[topic] = cid
        self._topics[topic] = TopicMeta(topic, msgtype, type_hash)
        return cid

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes | memoryview) -> None:
        """Append one serialised message (msgtype like ``sensor_msgs/msg/Image``).

        The log time never goes back: a message stamped before the previous one is logged at the
        previous one's time (its publish time keeps its own stamp).

        Raises:
            ValueError: a topic already recorded with another type.
        """
        cid = self._channel(topic, msgtype)
        payload, _ = self._norm.exact(msgtype, data)
        stamp_ns = max(0, int(stamp_ns))
        self._last_log_ns = max(self._last_log_ns, stamp_ns)
        flushes = self._mcap.flushes
        self._mcap.write(cid, self._last_log_ns, stamp_ns, payload)
        self.count += 1
        if self._mcap.flushes != flushes:
            self._after_flush()
        else:
            self.flush_if_due()

    def seconds_until_due(self) -> float | None:
        """Seconds until the pending chunk must be flushed; None when nothing is pending."""
        return self._mcap.seconds_until_due()

    def flush_if_due(self) -> None:
        """Flush the pending chunk once it is ``chunk_interval_s`` old."""
        if self._mcap.flush_if_due():
            self._after_flush()

    def flush(self) -> None:
        """Write the pending chunk now."""
        if self._mcap.flush():
            self._after_flush()

    def _after_flush(self) -> None:
        # metadata.yaml at most once per interval, but at once when a topic is new to it
        if len(self._topics) != self._meta_topics or time.monotonic() - self._meta_t >= self.options.chunk_interval_s:
            self._write_meta("recording")

    def _meta_info(self, state: str) -> dict:
        counts = self._mcap.flushed_counts
        topics = [TopicMeta(t.name, t.msgtype, t.type_hash, counts.get(self._channels[t.name], 0))
                  for t in self._topics.values()]
        extra = {f"spacetools.cdr_{k}": str(v) for k, v in sorted(self.cdr_counts.items()) if k != "exact"}
        return metadata_info(self._file, topics, self._mcap.flushed_start_ns, self._mcap.flushed_end_ns, state, extra)

    def _write_meta(self, state: str) -> None:
        self._meta_t, self._meta_topics = time.monotonic(), len(self._topics)
        write_metadata(self.path, self._meta_info(state), self.options.fsync)

    def close(self) -> None:
        """Write the last chunk, the MCAP summary, then the final metadata.yaml; idempotent."""
        if self._mcap.closed:
            return
        self._mcap.flush()
        info = self._meta_info("closed")
        self._mcap.close({"rosbag2": {"serialized_metadata": dump_info(info)}})
        write_metadata(self.path, info, self.options.fsync)


class ThreadedBagWriter:
    """A BagWriter fed through a byte-bounded queue and owned by one writer thread.

    The thread also writes a pending chunk once it is ``chunk_interval_s`` old, even when no more
    messages come.

    Args:
        path: the new bag directory.
        options: chunking and flushing.
        max_queue_bytes: messages waiting for the writer, at most.
        block: when the queue is full, wait (True: nothing is lost) or drop and count (False).

    Raises:
        ConfigError: when the bag cannot be created.
    """

    def __init__(self, path: str | Path, options: BagOptions | None = None, max_queue_bytes: int = 256 << 20,
                 block: bool = False) -> None:
        self.path = Path(path)
        self.options = options or BagOptions()
        self._max_bytes = int(max_queue_bytes)
        self._block = block
        self._items: deque = deque()
        self._bytes = 0
        self._closing = False
        self._abandon = False  # closing past its drain time: what is still queued is dropped
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self.error: Exception | None = None
        self.dropped = 0
        self.count = 0
        self.cdr_counts: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="bag-writer", daemon=True)
        self._thread.start()
        self._ready.wait(30.0)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            writer = BagWriter(self.path, self.options)
        except Exception as exc:  # noqa: BLE001 - reported to the constructor
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                with self._cond:
                    if self._abandon and self._items:
                        self.dropped += len(self._items)
                        self._items.clear()
                        self._bytes = 0
                        self._cond.notify_all()
                    while not self._items and not self._closing:
                        due = writer.seconds_until_due()
                        if due is not None and due <= 0:
                            break
                        self._cond.wait(due)
                    item = self._items.popleft() if self._items else None
                    if item is not None:
                        self._bytes -= len(item[3])
                        self._cond.notify_all()
                    elif self._closing:
                        break
                if item is not None:
                    try:
                        writer.write(*item)
                    except ValueError:  # a topic seen with a second type: that message only
                        self.dropped += 1
                    self.count = writer.count
                writer.flush_if_due()
            writer.close()
        except Exception as exc:  # noqa: BLE001 - kept for close(); what was flushed stays readable
            self.error = exc
            with self._cond:
                self._items.clear()
                self._cond.notify_all()
        finally:
            self.cdr_counts = writer.cdr_counts

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes | memoryview) -> bool:
        """Queue a message; False when it was dropped (queue full without ``block``, or writer failed)."""
        data = bytes(data)
        with self._cond:
            while (self._block and self._items and self._bytes + len(data) > self._max_bytes
                   and self.error is None and not self._closing):
                self._cond.wait(1.0)
            if self.error is not None or self._closing or (self._items and self._bytes + len(data) > self._max_bytes):
                self.dropped += 1
                return False
            self._items.append((topic, msgtype, stamp_ns, data))
            self._bytes += len(data)
            self._cond.notify_all()
        return True

    def close(self, drain_s: float | None = None, timeout_s: float = 60.0) -> None:
        """Write what is queued, finish the bag (index and metadata); idempotent.

        Args:
            drain_s: write the backlog for at most this long, then drop what is still queued (counted
                in ``dropped``) and finish the bag: a recorder told to stop ends in bounded time with
                a complete bag instead of being killed with an unindexed one. None: write it all.
            timeout_s: wait at most this long for the writer thread in all.

        Raises:
            Exception: the error that stopped the writer thread, if any.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        start = time.monotonic()
        if drain_s is not None:
            self._thread.join(max(0.0, min(drain_s, timeout_s)))
            if self._thread.is_alive():
                with self._cond:
                    self._abandon = True
                    self._cond.notify_all()
        self._thread.join(max(0.0, timeout_s - (time.monotonic() - start)))
        if self.error is not None:
            raise self.error

"""An MCAP file writer that keeps the file readable while it grows.

Messages collect in a pending chunk that is written out when it reaches ``chunk_bytes`` or is
``chunk_interval_s`` old (``flush_if_due``). Every flush writes the chunk, its message indexes and a
50-byte tail (DataEnd, a Footer without summary, the closing magic) in one ``pwrite`` at the end of
the data: between flushes the file on disk is a complete, unindexed MCAP. ``close`` replaces the
tail by the full summary (schemas, channels, chunk indexes, statistics). A process killed during
a flush leaves a torn tail; ``repair`` recovers every chunk before it.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from . import mcap_format as fmt


class McapWriter:
    """Append-only, chunked MCAP writer owned by one thread.

    Args:
        path: the new file (never overwritten).
        chunk_bytes: write the pending chunk once it holds this many bytes.
        chunk_interval_s: ... or once its first record is this old (wall clock).
        fsync: also fsync after every flush (survives power loss, not only a killed process).
        library: the Header's library string.

    Raises:
        FileExistsError: when ``path`` exists.
    """

    def __init__(self, path: str | Path, chunk_bytes: int, chunk_interval_s: float, fsync: bool,
                 library: str, profile: str = "ros2") -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._chunk_bytes = int(chunk_bytes)
        self._interval_s = float(chunk_interval_s)
        self._fsync = bool(fsync)
        self._schemas: list[bytes] = []
        self._channels: list[bytes] = []
        self._chunk_indexes: list[fmt.ChunkIndex] = []
        self._seq: dict[int, int] = defaultdict(int)
        self.flushed_counts: dict[int, int] = {}
        self.flushed_start_ns = 0
        self.flushed_end_ns = 0
        self.flushes = 0
        self._reset_chunk()
        head = fmt.MAGIC + fmt.header_record(profile, library)
        self._data_end = len(head)
        self._pwrite(head + self._tail(), 0)
        self.closed = False

    # ---- building -----------------------------------------------------------------------------

    def _reset_chunk(self) -> None:
        self._records: list[bytes] = []
        self._entries: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self._size = 0
        self._start_ns, self._end_ns = 2**64 - 1, 0
        self._counts: dict[int, int] = defaultdict(int)
        self._t0: float | None = None

    def _add(self, rec: bytes) -> None:
        if self._t0 is None:
            self._t0 = time.monotonic()
        self._records.append(rec)
        self._size += len(rec)

    def add_schema(self, name: str, encoding: str, data: bytes) -> int:
        """Register a schema; returns its id (1, 2, ...)."""
        sid = len(self._schemas) + 1
        rec = fmt.schema_record(sid, name, encoding, data)
        self._schemas.append(rec)
        self._add(rec)
        return sid

    def add_channel(self, topic: str, schema_id: int, encoding: str, metadata: dict[str, str]) -> int:
        """Register a channel; returns its id (1, 2, ...)."""
        cid = len(self._channels) + 1
        rec = fmt.channel_record(cid, schema_id, topic, encoding, metadata)
        self._channels.append(rec)
        self.flushed_counts.setdefault(cid, 0)
        self._add(rec)
        return cid

    def write(self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes | memoryview) -> None:
        """Append one message to the pending chunk (written out when the chunk is full)."""
        if not 0 < channel_id <= len(self._channels):
            raise ValueError(f"unknown channel id {channel_id}")
        log_time_ns, publish_time_ns = int(log_time_ns), int(publish_time_ns)
        self._entries[channel_id].append((log_time_ns, self._size))
        self._add(fmt.message_header(channel_id, self._seq[channel_id], log_time_ns, publish_time_ns, len(data)))
        self._records.append(bytes(data))
        self._size += len(data)
        self._seq[channel_id] += 1
        self._counts[channel_id] += 1
        self._start_ns = min(self._start_ns, log_time_ns)
        self._end_ns = max(self._end_ns, log_time_ns)
        if self._size >= self._chunk_bytes:
            self.flush()

    # ---- flushing -----------------------------------------------------------------------------

    @staticmethod
    def _tail() -> bytes:
        return fmt.data_end_record() + fmt.footer_record(0, 0) + fmt.MAGIC

    def _pwrite(self, data: bytes, offset: int) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n
        if self._fsync:
            os.fsync(self._fd)

    def seconds_until_due(self) -> float | None:
        """Seconds until the pending chunk must be written (<= 0: now); None when nothing is pending."""
        if self._t0 is None:
            return None
        return self._t0 + self._interval_s - time.monotonic()

    def flush_if_due(self) -> bool:
        """Write the pending chunk when it is old enough; True when something was written."""
        due = self.seconds_until_due()
        return self.flush() if due is not None and due <= 0 else False

    def flush(self) -> bool:
        """Write the pending chunk (if any) and the readable tail; True when something was written."""
        if self.closed or not self._records:
            return False
        has_msgs = bool(self._counts)
        start, end = (self._start_ns, self._end_ns) if has_msgs else (0, 0)
        data, index = fmt.encode_chunk(self._records, self._entries, start, end, self._data_end)
        self._pwrite(data + self._tail(), self._data_end)
        self._data_end += len(data)
        self._chunk_indexes.append(index)
        if has_msgs:
            first = not any(self.flushed_counts.values())
            self.flushed_start_ns = start if first else min(self.flushed_start_ns, start)
            self.flushed_end_ns = max(self.flushed_end_ns, end)
        for cid, n in self._counts.items():
            self.flushed_counts[cid] = self.flushed_counts.get(cid, 0) + n
        self._reset_chunk()
        self.flushes += 1
        return True

    def close(self, metadata: dict[str, dict[str, str]] | None = None) -> None:
        """Write the pending chunk, the given Metadata records and the full summary; idempotent."""
        if self.closed:
            return
        self.flush()
        out: list[bytes] = []
        pos = self._data_end
        meta_index: list[bytes] = []
        for name, items in (metadata or {}).items():
            rec = fmt.metadata_record(name, items)
            meta_index.append(fmt.metadata_index_record(pos, len(rec), name))
            out.append(rec)
            pos += len(rec)
        out.append(fmt.data_end_record())
        pos += len(out[-1])
        summary_start = pos
        groups: list[tuple[int, list[bytes]]] = [
            (fmt.OP_SCHEMA, self._schemas), (fmt.OP_CHANNEL, self._channels),
            (fmt.OP_CHUNK_INDEX, [fmt.chunk_index_record(ci) for ci in self._chunk_indexes]),
            (fmt.OP_METADATA_INDEX, meta_index),
            (fmt.OP_STATISTICS, [fmt.statistics_record(self.flushed_counts, len(self._schemas),
                                                       len(self._chunk_indexes), len(meta_index),
                                                       self.flushed_start_ns, self.flushed_end_ns)]),
        ]
        offsets: list[bytes] = []
        for op, recs in groups:
            if recs:
                blob = b"".join(recs)
                offsets.append(fmt.summary_offset_record(op, pos, len(blob)))
                out.append(blob)
                pos += len(blob)
        summary_offset_start = pos
        out.extend(offsets)
        out.append(fmt.footer_record(summary_start, summary_offset_start) + fmt.MAGIC)
        blob = b"".join(out)
        self._pwrite(blob, self._data_end)
        os.ftruncate(self._fd, self._data_end + len(blob))
        os.fsync(self._fd)
        os.close(self._fd)
        self.closed = True

    def abort(self) -> None:
        """Close the file as it is (the last flushed state stays readable)."""
        if not self.closed:
            os.close(self._fd)
            self.closed = True

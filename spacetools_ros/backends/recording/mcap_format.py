"""MCAP records: encoding for the bag writer, bounded decoding for repair and inspection.

Layout and field order follow the MCAP specification (format version 0): every record is an
opcode byte, a little-endian uint64 length and the body. Strings are uint32-length-prefixed UTF-8,
maps are uint32-byte-length-prefixed key/value runs.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAGIC = b"\x89MCAP0\r\n"
OP_HEADER, OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE = 0x01, 0x02, 0x03, 0x04, 0x05
OP_CHUNK, OP_MESSAGE_INDEX, OP_CHUNK_INDEX, OP_STATISTICS = 0x06, 0x07, 0x08, 0x0B
OP_METADATA, OP_METADATA_INDEX, OP_SUMMARY_OFFSET, OP_DATA_END = 0x0C, 0x0D, 0x0E, 0x0F
FOOTER_BYTES = 1 + 8 + 20  # opcode, length, body


class McapFormatError(ValueError):
    """Bytes that are not a well-formed MCAP record."""


# ---- encoding ----------------------------------------------------------------------------------

def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<I", len(data)) + data


def _str_map(items: dict[str, str]) -> bytes:
    body = b"".join(_string(k) + _string(v) for k, v in items.items())
    return struct.pack("<I", len(body)) + body


def record(op: int, body: bytes) -> bytes:
    """One record: opcode, length, body."""
    return struct.pack("<BQ", op, len(body)) + body


def header_record(profile: str, library: str) -> bytes:
    """The Header record (first record after the magic)."""
    return record(OP_HEADER, _string(profile) + _string(library))


def schema_record(schema_id: int, name: str, encoding: str, data: bytes) -> bytes:
    """A Schema record (``data`` is the message definition text, encoded)."""
    return record(OP_SCHEMA, struct.pack("<H", schema_id) + _string(name) + _string(encoding)
                  + struct.pack("<I", len(data)) + data)


def channel_record(channel_id: int, schema_id: int, topic: str, encoding: str, metadata: dict[str, str]) -> bytes:
    """A Channel record."""
    return record(OP_CHANNEL, struct.pack("<HH", channel_id, schema_id) + _string(topic) + _string(encoding)
                  + _str_map(metadata))


def message_header(channel_id: int, sequence: int, log_time_ns: int, publish_time_ns: int, size: int) -> bytes:
    """Opcode, length and fixed fields of a Message record whose data (``size`` bytes) follows."""
    return struct.pack("<BQHIQQ", OP_MESSAGE, 22 + size, channel_id, sequence & 0xFFFFFFFF,
                       log_time_ns, publish_time_ns)


def data_end_record() -> bytes:
    """DataEnd with no data-section CRC (0 = not computed)."""
    return record(OP_DATA_END, struct.pack("<I", 0))


def footer_record(summary_start: int, summary_offset_start: int) -> bytes:
    """The Footer record (no summary CRC); the closing magic follows it."""
    return record(OP_FOOTER, struct.pack("<QQI", summary_start, summary_offset_start, 0))


def metadata_record(name: str, items: dict[str, str]) -> bytes:
    """A Metadata record."""
    return record(OP_METADATA, _string(name) + _str_map(items))


@dataclass
class ChunkIndex:
    """Where one chunk and its message indexes lie in the file."""

    start_ns: int
    end_ns: int
    chunk_offset: int
    chunk_length: int
    index_offsets: dict[int, int]
    index_length: int
    uncompressed_size: int


def encode_chunk(records: list[bytes], entries: dict[int, list[tuple[int, int]]], start_ns: int, end_ns: int,
                 file_offset: int) -> tuple[bytes, ChunkIndex]:
    """An uncompressed Chunk (with CRC) followed by one MessageIndex per channel.

    Args:
        records: encoded records inside the chunk, in order.
        entries: channel id -> [(log time ns, offset of the message inside the chunk records)].
        start_ns: earliest log time in the chunk.
        end_ns: latest log time in the chunk.
        file_offset: where the chunk record will start in the file.

    Returns:
        The bytes to write and the chunk's index entry.
    """
    body = b"".join(records)
    head = struct.pack("<QQQI", start_ns, end_ns, len(body), zlib.crc32(body)) + _string("")
    chunk = struct.pack("<BQ", OP_CHUNK, len(head) + 8 + len(body)) + head + struct.pack("<Q", len(body))
    out = [chunk, body]
    pos = file_offset + len(chunk) + len(body)
    offsets: dict[int, int] = {}
    for cid in sorted(entries):
        offsets[cid] = pos
        rows = b"".join(struct.pack("<QQ", t, o) for t, o in entries[cid])
        rec = record(OP_MESSAGE_INDEX, struct.pack("<HI", cid, len(rows)) + rows)
        out.append(rec)
        pos += len(rec)
    index = ChunkIndex(start_ns, end_ns, file_offset, len(chunk) + len(body), offsets,
                       pos - file_offset - len(chunk) - len(body), len(body))
    return b"".join(out), index


def chunk_index_record(ci: ChunkIndex) -> bytes:
    """The summary's ChunkIndex record for one chunk."""
    offsets = b"".join(struct.pack("<HQ", cid, off) for cid, off in sorted(ci.index_offsets.items()))
    return record(OP_CHUNK_INDEX, struct.pack("<QQQQ", ci.start_ns, ci.end_ns, ci.chunk_offset, ci.chunk_length)
                  + struct.pack("<I", len(offsets)) + offsets + struct.pack("<Q", ci.index_length) + _string("")
                  + struct.pack("<QQ", ci.uncompressed_size, ci.uncompressed_size))


def statistics_record(counts: dict[int, int], schema_count: int, chunk_count: int, metadata_count: int,
                      start_ns: int, end_ns: int) -> bytes:
    """The summary's Statistics record."""
    per_channel = b"".join(struct.pack("<HQ", cid, n) for cid, n in sorted(counts.items()))
    return record(OP_STATISTICS, struct.pack("<QHIIIIQQ", sum(counts.values()), schema_count, len(counts), 0,
                                             metadata_count, chunk_count, start_ns, end_ns)
                  + struct.pack("<I", len(per_channel)) + per_channel)


def summary_offset_record(group_op: int, start: int, length: int) -> bytes:
    """A SummaryOffset record pointing at one group of summary records."""
    return record(OP_SUMMARY_OFFSET, struct.pack("<BQQ", group_op, start, length))


def metadata_index_record(offset: int, length: int, name: str) -> bytes:
    """A MetadataIndex record."""
    return record(OP_METADATA_INDEX, struct.pack("<QQ", offset, length) + _string(name))


# ---- decoding ----------------------------------------------------------------------------------

class _Body:
    """A bounded cursor over one record body; every read past the end raises McapFormatError."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise McapFormatError("record body ends early")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def string(self) -> str:
        (n,) = self.unpack("<I")
        try:
            return bytes(self.take(n)).decode()
        except UnicodeDecodeError as exc:
            raise McapFormatError("string is not UTF-8") from exc

    def str_map(self) -> dict[str, str]:
        (n,) = self.unpack("<I")
        sub = _Body(self.take(n))
        out = {}
        while sub.pos < n:
            key = sub.string()
            out[key] = sub.string()
        return out


@dataclass(frozen=True)
class SchemaRec:
    """A decoded Schema record."""

    id: int
    name: str
    encoding: str
    data: bytes


@dataclass(frozen=True)
class ChannelRec:
    """A decoded Channel record."""

    id: int
    schema_id: int
    topic: str
    encoding: str
    metadata: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class MessageRec:
    """A decoded Message record (``data`` is a view into its chunk or record)."""

    channel_id: int
    sequence: int
    log_time_ns: int
    publish_time_ns: int
    data: memoryview


def parse_schema(body: bytes | memoryview) -> SchemaRec:
    """Decode a Schema body."""
    b = _Body(body)
    (sid,) = b.unpack("<H")
    name, enc = b.string(), b.string()
    (n,) = b.unpack("<I")
    return SchemaRec(sid, name, enc, bytes(b.take(n)))


def parse_channel(body: bytes | memoryview) -> ChannelRec:
    """Decode a Channel body."""
    b = _Body(body)
    cid, sid = b.unpack("<HH")
    return ChannelRec(cid, sid, b.string(), b.string(), b.str_map())


def parse_message(body: bytes | memoryview) -> MessageRec:
    """Decode a Message body."""
    b = _Body(body)
    cid, seq, log_t, pub_t = b.unpack("<HIQQ")
    return MessageRec(cid, seq, log_t, pub_t, b.data[b.pos:])


def _decompress(data: memoryview, compression: str, size: int) -> bytes:
    if compression == "":
        return bytes(data)
    if compression == "zstd":
        try:
            from compression import zstd  # Python >= 3.14
        except ImportError:
            from backports import zstd
        return zstd.decompress(bytes(data))
    if compression == "lz4":
        import lz4.frame

        return lz4.frame.decompress(bytes(data))
    raise McapFormatError(f"unsupported chunk compression {compression!r}")


def parse_chunk(body: bytes | memoryview, max_bytes: int) -> tuple[list[tuple[int, memoryview]], bool]:
    """Decode a Chunk body into its inner (opcode, body) records, checking size and CRC.

    Returns:
        The records, and whether a CRC vouched for them (a writer may leave the CRC out).

    Raises:
        McapFormatError: a chunk that is torn, corrupt, too large or uses unknown compression.
    """
    b = _Body(body)
    _start, _end, size, crc = b.unpack("<QQQI")
    compression = b.string()
    (n,) = b.unpack("<Q")
    if size > max_bytes:
        raise McapFormatError(f"chunk claims {size} bytes, over the {max_bytes}-byte limit")
    try:
        raw = _decompress(b.take(n), compression, size)
    except McapFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decompressor failure means a corrupt chunk
        raise McapFormatError(f"chunk does not decompress: {type(exc).__name__}") from exc
    if len(raw) != size:
        raise McapFormatError("chunk size does not match its header")
    if crc and zlib.crc32(raw) != crc:
        raise McapFormatError("chunk CRC mismatch")
    out, view, pos = [], memoryview(raw), 0
    while pos < size:
        if pos + 9 > size:
            raise McapFormatError("chunk ends inside a record header")
        op, length = struct.unpack_from("<BQ", view, pos)
        if pos + 9 + length > size:
            raise McapFormatError("chunk ends inside a record")
        out.append((op, view[pos + 9:pos + 9 + length]))
        pos += 9 + length
    return out, bool(crc)


@dataclass
class ScanEnd:
    """How a linear scan of the data section ended."""

    complete: bool  # reached DataEnd (or a Footer) after well-formed records
    reason: str
    good_bytes: int  # offset just after the last well-formed record


def scan_records(f: BinaryIO, size: int, max_record_bytes: int) -> Iterator[tuple[int, int, memoryview] | ScanEnd]:
    """Walk the data section of an MCAP file record by record, never reading past ``size``.

    Yields ``(opcode, file offset, body)`` for each complete record, chunks still compressed, and
    finally one ``ScanEnd``. A torn, oversized or malformed record ends the scan (it is not an error:
    that is what a killed writer leaves).

    Raises:
        McapFormatError: when the file does not start with the MCAP magic and a Header record.
    """
    f.seek(0)
    if size < len(MAGIC) + 9 or f.read(len(MAGIC)) != MAGIC:
        raise McapFormatError("not an MCAP file (bad magic)")
    pos = len(MAGIC)
    first = True
    while True:
        if size - pos < 9:
            yield ScanEnd(False, "file ends inside a record header" if size > pos else "file ends without DataEnd", pos)
            return
        op, length = struct.unpack("<BQ", f.read(9))
        if first and op != OP_HEADER:
            raise McapFormatError("not an MCAP file (no Header record)")
        if length > max_record_bytes:
            yield ScanEnd(False, f"record at byte {pos} claims {length} bytes (limit {max_record_bytes})", pos)
            return
        if pos + 9 + length > size:
            yield ScanEnd(False, f"file ends inside the record at byte {pos}", pos)
            return
        if op in (OP_DATA_END, OP_FOOTER):
            yield ScanEnd(True, "complete", pos)
            return
        body = memoryview(f.read(length))
        if len(body) != length:
            yield ScanEnd(False, f"short read at byte {pos}", pos)
            return
        first = False
        yield op, pos, body
        pos += 9 + length

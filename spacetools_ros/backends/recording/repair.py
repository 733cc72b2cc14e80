"""Inspecting and repairing rosbag2 MCAP bags, including ones whose recorder was killed.

A scan reads the data section record by record and keeps every chunk that is whole (length within
the file, decompresses, CRC and inner records intact) and every well-formed message outside chunks.
It skips a record that fails its checks (after one, only CRC-checked chunks are trusted) and stops
where the records no longer fit the file: the torn tail a killed writer leaves.

``repair_bag`` writes what the scan kept into a new, fully indexed MCAP with a matching
metadata.yaml and never deletes the original: in place, the old files stay beside the new ones as
``*.orig``; with ``output`` the original directory is not touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...core.errors import SpacetoolsError
from . import mcap_format as fmt
from .bag import STATE_KEY, BagOptions, TopicMeta, dump_info, metadata_info, write_metadata
from .cdr import MALFORMED, TRIMMED, CdrNormalizer

MAX_FILE_BYTES = 64 << 30
MAX_RECORD_BYTES = 1 << 30
MAX_METADATA_BYTES = 4 << 20


class BagError(SpacetoolsError):
    """A path that is not a bag that can be inspected or repaired (missing, garbage, too large)."""


@dataclass
class TopicCount:
    """One channel found in the file."""

    topic: str
    msgtype: str
    count: int = 0


@dataclass
class BagScan:
    """What a scan of one MCAP file found."""

    mcap: Path
    file_bytes: int
    complete: bool = False  # the data section ends with DataEnd
    indexed: bool = False  # ... and a summary (chunk indexes, statistics) follows
    end_reason: str = ""
    good_bytes: int = 0
    chunks: int = 0
    messages: int = 0
    start_ns: int = 0
    end_ns: int = 0
    corrupt_records: int = 0  # whole records that failed their checks (skipped)
    first_corruption: str = ""
    trimmed: int = 0  # messages with bytes after their last field (strict readers reject them)
    malformed: int = 0
    orphans: int = 0  # messages of a channel the file never defines
    topics: dict[int, TopicCount] = field(default_factory=dict)
    metadata: dict | None = None  # rosbag2_bagfile_information of metadata.yaml, when readable

    @property
    def needs_repair(self) -> bool:
        """Whether readers may reject or miss part of the bag as it is on disk."""
        if not (self.complete and self.indexed) or self.trimmed or self.corrupt_records:
            return True
        if self.metadata is None:
            return True
        listed = {t.get("topic_metadata", {}).get("name"): t.get("message_count")
                  for t in self.metadata.get("topics_with_message_count") or [] if isinstance(t, dict)}
        return listed != {t.topic: t.count for t in self.topics.values()}


def _read_metadata(bag_dir: Path) -> dict | None:
    from ...core.safe_yaml import YamlReadError, read_yaml

    path = bag_dir / "metadata.yaml"
    if not path.is_file():
        return None
    try:
        doc = read_yaml(path, MAX_METADATA_BYTES, "bag metadata")
    except YamlReadError:
        return None
    info = doc.get("rosbag2_bagfile_information") if isinstance(doc, dict) else None
    return info if isinstance(info, dict) else None


def find_mcap(path: str | Path) -> tuple[Path, Path]:
    """(bag directory, MCAP file) for a bag directory or an .mcap file.

    Raises:
        BagError: no such path, no MCAP file, or several without a metadata.yaml naming one.
    """
    p = Path(path)
    if p.is_file():
        return p.parent, p
    if not p.is_dir():
        raise BagError(f"{p}: no such bag directory or .mcap file")
    meta = _read_metadata(p)
    names = meta.get("relative_file_paths") if meta else None
    if isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
        cand = p / Path(names[0]).name
        if cand.is_file():
            return p, cand
    found = sorted(x for x in p.glob("*.mcap") if x.is_file())
    if not found:
        raise BagError(f"{p}: no .mcap file in the bag directory")
    if len(found) > 1:
        raise BagError(f"{p}: several .mcap files ({', '.join(x.name for x in found[:5])}); name the one to use")
    return p, found[0]


def _has_summary(f, size: int) -> bool:
    if size < len(fmt.MAGIC) * 2 + fmt.FOOTER_BYTES:
        return False
    f.seek(size - len(fmt.MAGIC) - fmt.FOOTER_BYTES)
    tail = f.read(fmt.FOOTER_BYTES + len(fmt.MAGIC))
    if tail[-len(fmt.MAGIC):] != fmt.MAGIC or tail[:9] != bytes([fmt.OP_FOOTER]) + (20).to_bytes(8, "little"):
        return False
    summary_start = int.from_bytes(tail[9:17], "little")
    return 0 < summary_start < size


def iter_records(mcap: Path, scan: BagScan, max_file_bytes: int = MAX_FILE_BYTES,
                 max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[fmt.SchemaRec | fmt.ChannelRec | fmt.MessageRec]:
    """Schemas, channels and messages of every whole chunk, in file order; fills ``scan`` as it goes.

    Raises:
        BagError: not an MCAP file, or larger than ``max_file_bytes``.
    """
    size = scan.file_bytes
    if size > max_file_bytes:
        raise BagError(f"{mcap}: {size} bytes is over the {max_file_bytes}-byte limit for inspection and repair")
    with open(mcap, "rb") as f:
        scan.indexed = _has_summary(f, size)
        try:
            records = fmt.scan_records(f, size, max_record_bytes)
            for item in records:
                if isinstance(item, fmt.ScanEnd):
                    scan.complete, scan.end_reason, scan.good_bytes = item.complete, item.reason, item.good_bytes
                    break
                op, offset, body = item
                try:
                    if op == fmt.OP_CHUNK:
                        inner, vouched = fmt.parse_chunk(body, max_record_bytes)
                    else:
                        inner, vouched = [(op, body)], False
                    decoded = [_decode(o, b) for o, b in inner]
                except (fmt.McapFormatError, ValueError) as exc:
                    scan.corrupt_records += 1
                    scan.first_corruption = scan.first_corruption or f"record at byte {offset}: {exc}"
                    continue
                if scan.corrupt_records and not vouched:
                    continue  # past damage, only CRC-checked chunks are trusted
                scan.chunks += op == fmt.OP_CHUNK
                yield from (d for d in decoded if d is not None)
        except fmt.McapFormatError as exc:
            raise BagError(f"{mcap}: {exc}") from None
    if not scan.complete:
        scan.indexed = False


def _decode(op: int, body: memoryview):
    if op == fmt.OP_SCHEMA:
        return fmt.parse_schema(body)
    if op == fmt.OP_CHANNEL:
        return fmt.parse_channel(body)
    if op == fmt.OP_MESSAGE:
        if len(body) < 22:
            raise fmt.McapFormatError("message record is too short")
        return fmt.parse_message(body)
    return None


class _Catalog:
    """Schemas and channels seen so far, and the per-message bookkeeping of a scan."""

    def __init__(self, scan: BagScan, norm: CdrNormalizer) -> None:
        self.scan, self.norm = scan, norm
        self.schemas: dict[int, fmt.SchemaRec] = {}
        self.channels: dict[int, fmt.ChannelRec] = {}

    def add(self, rec) -> tuple[fmt.ChannelRec, bytes | memoryview] | None:
        """Record a schema/channel; for a message, its channel and its (exact) CDR bytes."""
        s = self.scan
        if isinstance(rec, fmt.SchemaRec):
            self.schemas.setdefault(rec.id, rec)
            return None
        if isinstance(rec, fmt.ChannelRec):
            if rec.id not in self.channels:
                self.channels[rec.id] = rec
                schema = self.schemas.get(rec.schema_id)
                s.topics[rec.id] = TopicCount(rec.topic, schema.name if schema else "")
            return None
        ch = self.channels.get(rec.channel_id)
        if ch is None:
            s.orphans += 1
            return None
        data, outcome = rec.data, ""
        if ch.encoding == "cdr":
            data, outcome = self.norm.exact(s.topics[ch.id].msgtype, rec.data)
        s.trimmed += outcome == TRIMMED
        s.malformed += outcome == MALFORMED
        s.start_ns = rec.log_time_ns if not s.messages else min(s.start_ns, rec.log_time_ns)
        s.end_ns = max(s.end_ns, rec.log_time_ns)
        s.messages += 1
        s.topics[ch.id].count += 1
        return ch, data


def scan_bag(path: str | Path, max_file_bytes: int = MAX_FILE_BYTES) -> BagScan:
    """Read a whole bag (read-only) and report what a repair would keep.

    Raises:
        BagError: see ``find_mcap`` and ``iter_records``.
    """
    bag_dir, mcap = find_mcap(path)
    scan = BagScan(mcap, mcap.stat().st_size, metadata=_read_metadata(bag_dir))
    cat = _Catalog(scan, CdrNormalizer())
    for rec in iter_records(mcap, scan, max_file_bytes):
        cat.add(rec)
    return scan


@dataclass
class RepairResult:
    """What ``repair_bag`` did."""

    scan: BagScan
    bag_dir: Path
    written: bool
    backups: list[Path] = field(default_factory=list)


def _keep(p: Path) -> Path | None:
    """Hard-link (else copy) ``p`` to a free ``p.orig[.N]`` name; the original content stays there."""
    import shutil

    if not p.exists():
        return None
    cand, n = p.with_name(p.name + ".orig"), 1
    while cand.exists():
        cand, n = p.with_name(f"{p.name}.orig.{n}"), n + 1
    try:
        os.link(p, cand)
    except OSError:
        shutil.copy2(p, cand)
    return cand


def repair_bag(path: str | Path, output: str | Path | None = None, force: bool = False,
               max_file_bytes: int = MAX_FILE_BYTES, options: BagOptions | None = None) -> RepairResult:
    """Rebuild a readable, indexed bag from a (possibly truncated) one.

    Args:
        path: bag directory or .mcap file.
        output: a new bag directory to write; default: replace in place, keeping ``*.orig`` copies of
            the old MCAP file and metadata.yaml.
        force: rebuild even when the bag needs no repair.
        max_file_bytes: refuse larger files.
        options: chunking of the rebuilt file.

    Returns:
        The scan and where the bag now is; ``written`` is False when nothing needed doing.

    Raises:
        BagError: not a bag, garbage, too large, or ``output`` exists.
    """
    from importlib.metadata import version

    from .mcap_writer import McapWriter

    bag_dir, mcap = find_mcap(path)
    if output is not None and Path(output).exists():
        raise BagError(f"{output} already exists; choose a new output directory")
    if output is None and not force:
        first = scan_bag(path, max_file_bytes)
        if not first.needs_repair:
            return RepairResult(first, bag_dir, False)
    options = options or BagOptions()
    out_dir = Path(output) if output is not None else bag_dir
    out_name = f"{out_dir.name}.mcap" if output is not None else mcap.name
    if output is not None:
        out_dir.mkdir(parents=True)
    tmp = out_dir / (out_name + ".repairing")
    tmp.unlink(missing_ok=True)
    scan = BagScan(mcap, mcap.stat().st_size, metadata=_read_metadata(bag_dir))
    norm = CdrNormalizer()
    cat = _Catalog(scan, norm)
    writer = McapWriter(tmp, options.chunk_bytes, 1e9, False, f"spacetools_ros repair (rosbags-{version('rosbags')})")
    new_schema: dict[int, int] = {}
    new_channel: dict[int, int] = {}
    try:
        for rec in iter_records(mcap, scan, max_file_bytes):
            got = cat.add(rec)
            if isinstance(rec, fmt.ChannelRec) and rec.id not in new_channel:
                schema = cat.schemas.get(rec.schema_id)
                if schema is not None and schema.id not in new_schema:
                    new_schema[schema.id] = writer.add_schema(schema.name, schema.encoding, schema.data)
                sid = new_schema[schema.id] if schema is not None else 0
                new_channel[rec.id] = writer.add_channel(rec.topic, sid, rec.encoding, rec.metadata)
            if got is not None:
                ch, data = got
                writer.write(new_channel[ch.id], rec.log_time_ns, rec.publish_time_ns, data)
        hashes = {}
        for t in (scan.metadata or {}).get("topics_with_message_count") or []:
            meta = t.get("topic_metadata") if isinstance(t, dict) else None
            if isinstance(meta, dict) and isinstance(meta.get("type_description_hash"), str):
                hashes[meta.get("name")] = meta["type_description_hash"]
        topics = [TopicMeta(t.topic, t.msgtype, hashes.get(t.topic) or _type_hash(norm, t.msgtype), t.count)
                  for t in scan.topics.values()]
        extra = {"spacetools.repaired_from": mcap.name, "spacetools.repair_end": scan.end_reason[:200],
                 "spacetools.skipped_corrupt_records": str(scan.corrupt_records),
                 "spacetools.dropped_tail_bytes": str(max(0, scan.file_bytes - scan.good_bytes))}
        info = metadata_info(out_name, topics, scan.start_ns, scan.end_ns, "repaired", extra)
        writer.close({"rosbag2": {"serialized_metadata": dump_info(info)}})
    except BaseException:
        writer.abort()
        tmp.unlink(missing_ok=True)
        if output is not None:
            import shutil

            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    backups = []
    if output is None:  # the old files stay under *.orig names before the new ones take their place
        backups = [b for b in (_keep(bag_dir / "metadata.yaml"), _keep(mcap)) if b is not None]
    tmp.replace(out_dir / out_name)
    write_metadata(out_dir, info, fsync=True)
    return RepairResult(scan, out_dir, True, backups)


def _type_hash(norm: CdrNormalizer, msgtype: str) -> str:
    try:
        return norm.typestore.hash_rihs01(msgtype) if norm.knows(msgtype) else ""
    except Exception:  # noqa: BLE001 - a missing hash only weakens type checks of readers
        return ""


def bag_state(scan: BagScan) -> str:
    """The recording state written in metadata.yaml (``recording`` means it was never closed)."""
    custom = (scan.metadata or {}).get("custom_data") or {}
    return str(custom.get(STATE_KEY, "unknown")) if isinstance(custom, dict) else "unknown"

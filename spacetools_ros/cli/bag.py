"""``spacetools bag info|repair``: inspect a recorded bag, rebuild one whose recorder was killed."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_NEEDS_REPAIR, EXIT_BAD_INPUT = 0, 1, 2


def add_bag_arguments(p: argparse.ArgumentParser) -> None:
    """The ``bag`` subcommand's own subcommands and options."""
    sub = p.add_subparsers(dest="bag_command", required=True)
    info = sub.add_parser("info", help="topics, types, counts, duration; exit 1 when the bag needs repair")
    info.add_argument("bag", help="bag directory (or its .mcap file)")
    info.add_argument("--json", dest="info_json", action="store_true", help="print the report as JSON")
    rep = sub.add_parser("repair", help="rebuild a readable, indexed bag from a killed or damaged recording")
    rep.add_argument("bag", help="bag directory (or its .mcap file)")
    rep.add_argument("--output", help="write the repaired bag into this new directory (default: in place, "
                                      "keeping the old files as *.orig)")
    rep.add_argument("--force", action="store_true", help="rebuild even when the bag needs no repair")
    for q in (info, rep):
        q.add_argument("--max-gib", type=float, default=64.0, help="refuse MCAP files larger than this (GiB)")


def _report(scan) -> dict:
    from ..backends.recording.repair import bag_state

    return {
        "mcap": str(scan.mcap), "file_bytes": scan.file_bytes, "state": bag_state(scan),
        "complete": scan.complete, "indexed": scan.indexed, "end": scan.end_reason,
        "unreadable_tail_bytes": max(0, scan.file_bytes - scan.good_bytes) if not scan.complete else 0,
        "chunks": scan.chunks, "messages": scan.messages,
        "start_ns": scan.start_ns, "end_ns": scan.end_ns,
        "duration_s": round((scan.end_ns - scan.start_ns) * 1e-9, 6) if scan.messages else 0.0,
        "messages_with_trailing_bytes": scan.trimmed, "malformed_messages": scan.malformed,
        "messages_without_channel": scan.orphans, "corrupt_records": scan.corrupt_records,
        "first_corruption": scan.first_corruption, "needs_repair": scan.needs_repair,
        "topics": [{"topic": t.topic, "type": t.msgtype, "count": t.count} for t in scan.topics.values()],
    }


def _print_report(doc: dict, bag: str) -> None:
    if doc["complete"] and doc["indexed"]:
        file_state = "complete, indexed"
    elif doc["complete"]:
        file_state = "complete up to its last chunk, not indexed"
    else:
        file_state = f"torn ({doc['end']}); {doc['unreadable_tail_bytes']} bytes after the last whole record"
    state = "recording (never closed: its writer was stopped)" if doc["state"] == "recording" else doc["state"]
    lines = [f"bag:       {bag}", f"file:      {doc['mcap']} ({doc['file_bytes']} bytes)",
             f"state:     {state}; {file_state}",
             f"messages:  {doc['messages']} in {doc['chunks']} chunks, {doc['duration_s']:.3f} s"]
    if doc["corrupt_records"]:
        lines.append(f"damage:    {doc['corrupt_records']} corrupt records skipped (first: {doc['first_corruption']})")
    if doc["messages_with_trailing_bytes"]:
        lines.append(f"cdr:       {doc['messages_with_trailing_bytes']} messages carry bytes after their last field "
                     "(strict readers reject them)")
    width = max([len(t["topic"]) for t in doc["topics"]] + [5])
    lines.append("topics:")
    lines += [f"  {t['topic']:<{width}}  {t['type']:<40}  {t['count']}" for t in doc["topics"]]
    if doc["needs_repair"]:
        lines.append(f"needs repair: run `spacetools bag repair {bag}`")
    print("\n".join(lines))


def cmd_bag(args: argparse.Namespace) -> int:
    """Run ``bag info`` / ``bag repair``; exit 2 for a path that is not a readable bag."""
    from ..backends.recording.repair import BagError, repair_bag, scan_bag

    limit = int(args.max_gib * (1 << 30))
    try:
        if args.bag_command == "info":
            doc = _report(scan_bag(args.bag, limit))
            print(json.dumps(doc, indent=2)) if args.info_json else _print_report(doc, args.bag)
            return EXIT_NEEDS_REPAIR if doc["needs_repair"] else EXIT_OK
        res = repair_bag(args.bag, args.output, args.force, limit)
    except BagError as exc:
        print(f"spacetools bag {args.bag_command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    s = res.scan
    if not res.written:
        print(f"[bag] {args.bag}: complete and indexed, {s.messages} messages; nothing to repair", file=sys.stderr)
        return EXIT_OK
    lost = max(0, s.file_bytes - s.good_bytes) if not s.complete else 0
    print(f"[bag] repaired into {res.bag_dir}: {s.messages} messages on {len(s.topics)} topics from {s.chunks} "
          f"chunks; {s.trimmed} messages cut to their exact CDR length; {s.corrupt_records} corrupt records "
          f"and {lost} unreadable tail bytes left out"
          + (f"; originals kept as {', '.join(p.name for p in res.backups)}" if res.backups else ""),
          file=sys.stderr)
    return EXIT_OK

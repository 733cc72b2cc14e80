"""Approximate-time pairing of messages from several streams (colour, depth, camera info), ROS-free.

One stream is the pivot (the colour image): each pivot message is paired with the message of every
other stream whose stamp is closest to its own, when that lies within a tolerance. A pairing is
given out only once no later message can be closer: stamps within one stream only grow (a stream
whose stamps go back, as after a simulator reset, starts over), so a candidate at or after the
pivot's stamp, a newer message behind the candidate, or a gap to the stream's next message (from
the smallest spacing seen so far) that is wider than the candidate's distance, settles it. Queues
are bounded per stream; messages that can no longer be paired are dropped.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Sequence

MAX_TOLERANCE_NS = 1_000_000_000
MAX_QUEUE = 1000
GAPS_KEPT = 8


@dataclass(frozen=True)
class Paired:
    """One pivot message with its partners.

    Attributes:
        stamp_ns: the pivot message's stamp (ns): the pair's stamp.
        parts: stream name -> payload, every stream present.
        stamps_ns: stream name -> that payload's stamp (ns).
    """

    stamp_ns: int
    parts: dict[str, Any]
    stamps_ns: dict[str, int]

    @property
    def spread_ns(self) -> int:
        """Largest distance of a partner's stamp from the pivot's stamp, ns."""
        return max(abs(s - self.stamp_ns) for s in self.stamps_ns.values())


class _Stream:
    """The pending messages of one stream, sorted by stamp, and the spacing of its stamps."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.stamps: list[int] = []
        self.payloads: list[Any] = []
        self.newest: int | None = None  # newest stamp seen since the stream (re)started
        self.gaps: deque[int] = deque(maxlen=GAPS_KEPT)

    def clear(self) -> None:
        self.stamps.clear()
        self.payloads.clear()
        self.newest = None
        self.gaps.clear()

    def add(self, stamp: int, payload: Any) -> int:
        """Queue a message stamped at or after the newest one; returns how many old ones it pushed out."""
        i = bisect.bisect_left(self.stamps, stamp)
        if i < len(self.stamps) and self.stamps[i] == stamp:
            self.payloads[i] = payload  # the same stamp again: the newer message replaces it
            return 0
        if stamp == self.newest:
            return 0  # the same stamp again, after its message was paired or dropped
        if self.newest is not None:
            self.gaps.append(stamp - self.newest)
        self.newest = stamp
        self.stamps.insert(i, stamp)
        self.payloads.insert(i, payload)
        evicted = max(0, len(self.stamps) - self.size)
        del self.stamps[:evicted], self.payloads[:evicted]
        return evicted

    def drop_through(self, stamp: int) -> None:
        """Drop every message stamped at or before ``stamp``."""
        i = bisect.bisect_right(self.stamps, stamp)
        del self.stamps[:i], self.payloads[:i]

    def drop_before(self, stamp: int) -> None:
        """Drop every message stamped before ``stamp``."""
        i = bisect.bisect_left(self.stamps, stamp)
        del self.stamps[:i], self.payloads[:i]

    def drop_after(self, stamp: int) -> None:
        """Drop every message stamped after ``stamp`` (the newest stamp becomes the last one kept)."""
        i = bisect.bisect_right(self.stamps, stamp)
        del self.stamps[i:], self.payloads[i:]
        self.newest = self.stamps[-1] if self.stamps else None
        self.gaps.clear()

    def closest(self, stamp: int) -> int | None:
        """Index of the message closest to ``stamp`` (the earlier one on a tie), None when empty."""
        if not self.stamps:
            return None
        i = bisect.bisect_left(self.stamps, stamp)
        if i == len(self.stamps):
            return i - 1
        if i > 0 and stamp - self.stamps[i - 1] <= self.stamps[i] - stamp:
            return i - 1
        return i

    def min_gap(self) -> int | None:
        return min(self.gaps) if self.gaps else None


class ApproximatePairer:
    """Pairs the pivot stream's messages with the closest message of each other stream.

    Thread-safe: ``add`` may be called from several threads.

    Args:
        streams: names of the streams, the pivot among them.
        pivot: the stream whose messages (and stamps) the pairs are built around.
        tolerance_ns: largest distance of a partner's stamp from the pivot's (0: equal stamps only).
        queue_size: pending messages kept per stream (the oldest go first).

    Raises:
        ValueError: an unknown pivot, fewer than two distinct streams, a tolerance outside
            0..1 s or a queue size outside 1..1000.
    """

    def __init__(self, streams: Sequence[str], pivot: str, tolerance_ns: int, queue_size: int = 10) -> None:
        names = list(dict.fromkeys(streams))
        if pivot not in names or len(names) < 2:
            raise ValueError(f"pivot {pivot!r} must be one of at least two streams, got {names}")
        if not 0 <= int(tolerance_ns) <= MAX_TOLERANCE_NS:
            raise ValueError(f"tolerance must be within 0..{MAX_TOLERANCE_NS} ns, got {tolerance_ns}")
        if not 1 <= int(queue_size) <= MAX_QUEUE:
            raise ValueError(f"queue size must be within 1..{MAX_QUEUE}, got {queue_size}")
        self.pivot = pivot
        self.others = [n for n in names if n != pivot]
        self.tolerance_ns = int(tolerance_ns)
        self.queue_size = int(queue_size)
        self._streams = {n: _Stream(self.queue_size) for n in names}
        self._lock = threading.Lock()
        self.dropped = 0  # pivot messages given up (no partner within the tolerance, or pushed out)

    def pending(self) -> dict[str, int]:
        """Messages waiting per stream."""
        with self._lock:
            return {n: len(s.stamps) for n, s in self._streams.items()}

    def reset(self) -> None:
        """Forget everything pending."""
        with self._lock:
            for s in self._streams.values():
                s.clear()

    def add(self, stream: str, stamp_ns: int, payload: Any) -> list[Paired]:
        """Take one message; returns the pairs it completed, oldest first.

        Raises:
            KeyError: an unknown stream.
        """
        s = self._streams[stream]
        stamp = int(stamp_ns)
        with self._lock:
            if s.newest is not None and stamp < s.newest:
                # time went back (a simulator reset, a replayed bag): what came before is another timeline
                s.clear()
                for other in self._streams.values():
                    if other is not s and other.newest is not None and other.newest > stamp + self.tolerance_ns:
                        other.drop_after(stamp + self.tolerance_ns)
            evicted = s.add(stamp, payload)
            if stream == self.pivot:
                self.dropped += evicted  # a full pivot queue pushed its oldest out
            out = self._match()
            self._prune()
            return out

    # ------------------------------------------------------------------ under the lock
    def _settled(self, other: _Stream, idx: int, pivot_stamp: int) -> bool:
        """Whether no later message of ``other`` can come closer to ``pivot_stamp`` than message ``idx``."""
        cand = other.stamps[idx]
        if cand >= pivot_stamp or idx < len(other.stamps) - 1 or (other.newest is not None and other.newest > cand):
            return True
        gap = other.min_gap()
        # the next message comes at least one (smallest seen) spacing after the candidate
        return gap is not None and cand + gap - pivot_stamp > pivot_stamp - cand

    def _match(self) -> list[Paired]:
        out: list[Paired] = []
        pivot = self._streams[self.pivot]
        tol = self.tolerance_ns
        while pivot.stamps:
            c = pivot.stamps[0]
            picks: dict[str, int] = {}
            state = "ready"
            for name in self.others:
                other = self._streams[name]
                idx = other.closest(c)
                if idx is not None and abs(other.stamps[idx] - c) <= tol:
                    if not self._settled(other, idx, c):
                        state = "wait"
                    picks[name] = idx
                elif other.newest is not None and other.newest > c + tol:
                    state = "hopeless"  # every later message lies beyond the tolerance
                    break
                else:
                    state = "wait"
            if state == "hopeless":
                pivot.drop_through(c)
                self.dropped += 1
                continue
            if state == "wait":
                break
            parts = {self.pivot: pivot.payloads[0]}
            stamps = {self.pivot: c}
            for name, idx in picks.items():
                other = self._streams[name]
                parts[name], stamps[name] = other.payloads[idx], other.stamps[idx]
            out.append(Paired(c, parts, stamps))
            pivot.drop_through(c)
            for name in picks:
                self._streams[name].drop_through(stamps[name])
        return out

    def _prune(self) -> None:
        """Drop partner messages that no pending or later pivot message can pair with any more."""
        pivot = self._streams[self.pivot]
        oldest = pivot.stamps[0] if pivot.stamps else pivot.newest
        if oldest is None:
            return
        for name in self.others:
            self._streams[name].drop_before(oldest - self.tolerance_ns)

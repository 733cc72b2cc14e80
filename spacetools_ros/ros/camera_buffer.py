"""RGB-D frames assembled from the camera topics (colour + depth + camera info with equal stamps).

Messages are kept serialised and decoded only when a frame is asked for, so an idle subscriber
costs little. Used by the tool server (frames named by stamp or "latest") and by the ROS arm
(a fresh frame after a motion).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, Image

from ..core.camera import CameraFrame
from . import conversions as conv
from . import topics

PARTS = frozenset({"rgb", "depth", "info"})


def header_stamp_ns(cdr: bytes) -> int | None:
    """Header stamp of a serialised message whose first field is a std_msgs/Header."""
    if len(cdr) < 12:
        return None
    order = "little" if cdr[1] & 1 else "big"
    sec = int.from_bytes(cdr[4:8], order, signed=True)
    nsec = int.from_bytes(cdr[8:12], order)
    return sec * 1_000_000_000 + nsec


class CameraFrameBuffer:
    """The last ``size`` stamps of the camera topics, paired by header stamp.

    Args:
        node: node to subscribe on.
        extrinsics: 4x4 camera (optical) pose in the base frame (no tf here: from the cell file).
        size: stamps kept.
        callback_group: optional callback group of the subscriptions.
    """

    def __init__(self, node: Node, extrinsics: np.ndarray, size: int = 10, callback_group=None,
                 color_topic: str = topics.COLOR_IMAGE, depth_topic: str = topics.DEPTH_IMAGE,
                 info_topic: str = topics.COLOR_INFO) -> None:
        self.extrinsics = np.asarray(extrinsics, dtype=float)
        self.size = max(1, int(size))
        self._frames: OrderedDict[int, dict] = OrderedDict()
        self._cond = threading.Condition()
        for part, typ, topic in (("rgb", Image, color_topic), ("depth", Image, depth_topic),
                                 ("info", CameraInfo, info_topic)):
            node.create_subscription(typ, topic, lambda m, p=part: self._on_part(p, m), 5, raw=True,
                                     callback_group=callback_group)

    def _on_part(self, part: str, data: bytes) -> None:
        stamp = header_stamp_ns(data)
        if stamp is None:
            return
        with self._cond:
            entry = self._frames.setdefault(stamp, {})
            entry[part] = data
            while len(self._frames) > self.size:
                self._frames.popitem(last=False)
            if PARTS <= set(entry):
                self._cond.notify_all()

    def _complete(self) -> list[tuple[int, dict]]:
        return [(s, e) for s, e in self._frames.items() if PARTS <= set(e)]

    def _decode(self, stamp: int, e: dict) -> CameraFrame:
        if "frame" not in e:
            rgb = deserialize_message(e["rgb"], Image)
            depth = deserialize_message(e["depth"], Image)
            info = deserialize_message(e["info"], CameraInfo)
            k = np.array(info.k, dtype=float).reshape(3, 3)
            e["frame"] = CameraFrame(rgb.header.frame_id, conv.image_to_numpy(rgb), conv.image_to_numpy(depth), k,
                                     self.extrinsics, stamp * 1e-9)
        return e["frame"]

    def has_frame(self) -> bool:
        """Whether a complete frame has arrived."""
        with self._cond:
            return bool(self._complete())

    def frame(self, ref: str | int = "latest") -> CameraFrame:
        """The newest complete frame, or the one with header stamp ``ref`` (ns).

        Raises:
            RuntimeError: nothing received yet, or no buffered frame with that stamp.
        """
        with self._cond:
            complete = self._complete()
            if not complete:
                raise RuntimeError("no camera frame received yet (colour, depth and camera info with equal stamps)")
            if ref == "latest":
                stamp, e = complete[-1]
            else:
                match = [(s, e) for s, e in complete if s == int(ref)]
                if not match:
                    raise RuntimeError(f"no buffered frame with stamp {ref} (have {len(complete)} recent frames)")
                stamp, e = match[0]
            return self._decode(stamp, e)

    def wait_for_frame(self, after_s: float, timeout_s: float) -> CameraFrame | None:
        """The first complete frame stamped at or after ``after_s`` (waits up to ``timeout_s`` wall
        seconds); None if none came."""
        after_ns = int(after_s * 1e9)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                newer = [(s, e) for s, e in self._complete() if s >= after_ns]
                if newer:
                    return self._decode(*newer[0])
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(timeout=min(left, 0.2))

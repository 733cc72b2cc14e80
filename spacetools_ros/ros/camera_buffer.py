"""RGB-D frames assembled from the camera topics: a colour image, the depth image and the camera
info whose stamps lie closest to it, within ``sync_tolerance_s`` (pairing.py).

The topics are subscribed with sensor-data QoS (best effort, volatile, depth 5), which connects to
reliable and best-effort camera drivers alike. With ``camera_qos`` auto (the default) a topic whose
publishers all offer reliable delivery is switched to a reliable subscription, and back when a
best-effort one appears: a best-effort reader of image-sized samples gets no repair of lost
fragments, and over DDS on a busy host most frames of a reliable 640x480 camera are then lost.
Messages are kept serialised and decoded only when a frame is asked for, so an idle subscriber
costs little. Used by the tool server (frames
named by stamp or "latest"), the agent and the ROS arm (a fresh frame after a motion). A frame's
camera pose is the cell file's, or (camera_pose_source tf) TF's at the image's stamp (camera_pose.py).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, Image

from ..core.camera import CameraFrame
from . import conversions as conv
from . import topics
from .camera_pose import TfCameraPose, check_pose_source
from .pairing import ApproximatePairer

PARTS = ("rgb", "depth", "info")
CAMERA_QOS = ("auto", "sensor_data", "reliable")
QOS_CHECK_S = 1.0  # auto: how often the camera publishers' reliability is looked at (wall clock)
SYNC_QUEUE = 10  # pending messages per camera topic
MAX_SYNC_TOLERANCE_S = 1.0
STAMP_SLACK_NS = 1000  # a frame named by a stamp that went through float seconds may be off by this much


def header_stamp_ns(cdr: bytes) -> int | None:
    """Header stamp of a serialised message whose first field is a std_msgs/Header."""
    if len(cdr) < 12:
        return None
    order = "little" if cdr[1] & 1 else "big"
    sec = int.from_bytes(cdr[4:8], order, signed=True)
    nsec = int.from_bytes(cdr[8:12], order)
    return sec * 1_000_000_000 + nsec


@dataclass(frozen=True)
class CameraConfig:
    """Where the RGB-D camera publishes and how its topics are paired.

    Attributes:
        color_topic: colour image (sensor_msgs/Image), relative to the node's namespace.
        depth_topic: depth image (32FC1, metres), registered to the colour image.
        info_topic: the colour camera's sensor_msgs/CameraInfo.
        qos: auto (sensor data; reliable while every publisher of a topic is) | sensor_data (best
            effort: any driver connects) | reliable (only reliable drivers connect).
        sync_tolerance_s: depth and info stamps may lie this far from the colour stamp (0: equal only).
        pose_source: where the camera's pose in the base frame comes from: ``cell`` (the cell
            file) | ``tf`` (TF at each image's stamp, for the image's frame_id; needs tf2_ros).

    Raises:
        ValueError: an invalid topic name, QoS name, tolerance or pose source.
    """

    color_topic: str = topics.COLOR_IMAGE
    depth_topic: str = topics.DEPTH_IMAGE
    info_topic: str = topics.COLOR_INFO
    qos: str = "auto"
    sync_tolerance_s: float = 0.02
    pose_source: str = "cell"

    def __post_init__(self) -> None:
        for name in ("color_topic", "depth_topic", "info_topic"):
            topics.check_name(getattr(self, name), name.replace("_", " "))
        if self.qos not in CAMERA_QOS:
            raise ValueError(f"camera_qos must be one of {', '.join(CAMERA_QOS)}, got {str(self.qos)[:40]!r}")
        tol = self.sync_tolerance_s
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) \
                or not 0.0 <= tol <= MAX_SYNC_TOLERANCE_S:
            raise ValueError(f"sync_tolerance_s must be within 0..{MAX_SYNC_TOLERANCE_S} s, got {tol!r}")
        check_pose_source(self.pose_source)

    @staticmethod
    def declare(node: Node) -> "CameraConfig":
        """Declare the camera parameters on ``node`` and read them (raises ValueError when invalid)."""
        d, dflt = node.declare_parameter, CameraConfig
        return CameraConfig(
            color_topic=d("color_image_topic", dflt.color_topic).value,
            depth_topic=d("depth_image_topic", dflt.depth_topic).value,
            info_topic=d("camera_info_topic", dflt.info_topic).value,
            qos=d("camera_qos", dflt.qos).value,
            sync_tolerance_s=float(d("sync_tolerance_s", dflt.sync_tolerance_s).value),
            pose_source=d("camera_pose_source", dflt.pose_source).value)

    def qos_profile(self, reliable: bool | None = None) -> QoSProfile:
        """The subscriptions' QoS (``reliable`` chooses for auto; default: sensor data)."""
        if self.qos == "reliable" or (self.qos == "auto" and reliable):
            return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        return qos_profile_sensor_data


class CameraFrameBuffer:
    """The last ``size`` paired frames of the camera topics, by the colour image's header stamp.

    Args:
        node: node to subscribe on.
        extrinsics: 4x4 camera (optical) pose in the base frame, from the cell file (used unless
            ``config.pose_source`` is ``tf``).
        size: frames kept.
        callback_group: optional callback group of the subscriptions.
        config: topics, QoS, pairing tolerance and pose source (default: CameraConfig()).

    Raises:
        ConfigError: ``tf`` as the pose source without tf2_ros.
    """

    def __init__(self, node: Node, extrinsics: np.ndarray, size: int = 10, callback_group=None,
                 config: CameraConfig | None = None) -> None:
        self.extrinsics = np.asarray(extrinsics, dtype=float)
        self.size = max(1, int(size))
        self.config = cfg = config or CameraConfig()
        self._pose = TfCameraPose(node) if cfg.pose_source == "tf" else None  # before subscribing to anything
        self._pairer = ApproximatePairer(PARTS, "rgb", round(cfg.sync_tolerance_s * 1e9), SYNC_QUEUE)
        self._frames: OrderedDict[int, dict] = OrderedDict()  # colour stamp -> parts, oldest first
        self._cond = threading.Condition()
        self._node = node
        self._group = callback_group
        self._topics = {"rgb": (Image, cfg.color_topic), "depth": (Image, cfg.depth_topic),
                        "info": (CameraInfo, cfg.info_topic)}
        self.reliable = {part: cfg.qos == "reliable" for part in PARTS}  # each subscription's reliability
        self._subs = {part: self._subscribe(part) for part in PARTS}
        if cfg.qos == "auto":  # wall clock: under use_sim_time a silent /clock must not stop the checks
            node.create_timer(QOS_CHECK_S, self._check_qos, callback_group=callback_group,
                              clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _subscribe(self, part: str):
        typ, topic = self._topics[part]
        return self._node.create_subscription(typ, topic, lambda m, p=part: self._on_part(p, m),
                                              self.config.qos_profile(self.reliable[part]), raw=True,
                                              callback_group=self._group)

    def _check_qos(self) -> None:
        """auto: reliable subscriptions for topics whose publishers are all reliable, else sensor data."""
        for part in PARTS:
            try:
                pubs = self._node.get_publishers_info_by_topic(self._subs[part].topic_name)
            except Exception:  # noqa: BLE001 - the graph query failed (shutting down): try again later
                return
            if not pubs:
                continue  # keep what there is until a publisher shows up
            reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in pubs)
            if reliable != self.reliable[part]:
                self._node.destroy_subscription(self._subs[part])
                self.reliable[part] = reliable
                self._subs[part] = self._subscribe(part)

    @property
    def dropped(self) -> int:
        """Colour images that found no depth image or camera info within the tolerance."""
        return self._pairer.dropped

    def _on_part(self, part: str, data: bytes) -> None:
        stamp = header_stamp_ns(data)
        if stamp is None:
            return
        with self._cond:
            pairs = self._pairer.add(part, stamp, data)
            if not pairs:
                return
            for p in pairs:
                self._frames[p.stamp_ns] = dict(p.parts)
                self._frames.move_to_end(p.stamp_ns)
            while len(self._frames) > self.size:
                self._frames.popitem(last=False)
            self._cond.notify_all()

    def _decode(self, stamp: int, e: dict) -> CameraFrame:
        if "frame" not in e:
            rgb = deserialize_message(e["rgb"], Image)
            depth = deserialize_message(e["depth"], Image)
            info = deserialize_message(e["info"], CameraInfo)
            k = np.array(info.k, dtype=float).reshape(3, 3)
            pose = self.extrinsics if self._pose is None else self._pose(rgb.header.frame_id, stamp)
            e["frame"] = CameraFrame(rgb.header.frame_id, conv.image_to_numpy(rgb), conv.image_to_numpy(depth), k,
                                     pose, stamp * 1e-9)
        return e["frame"]

    def has_frame(self) -> bool:
        """Whether a complete frame has arrived."""
        with self._cond:
            return bool(self._frames)

    def frame(self, ref: str | int = "latest") -> CameraFrame:
        """The newest complete frame, or the one whose colour header stamp is ``ref`` (ns).

        Raises:
            RuntimeError: nothing received yet, no buffered frame with that stamp, or (pose source
                ``tf``) no transform to the image's frame.
        """
        with self._cond:
            if not self._frames:
                raise RuntimeError("no camera frame received yet (colour, depth and camera info within "
                                   f"{self.config.sync_tolerance_s} s of each other)")
            if ref == "latest":
                stamp = next(reversed(self._frames))
            else:
                want = int(ref)
                stamp = min(self._frames, key=lambda s: abs(s - want))
                if abs(stamp - want) > STAMP_SLACK_NS:
                    raise RuntimeError(f"no buffered frame with stamp {ref} (have {len(self._frames)} recent frames)")
            entry = self._frames[stamp]
        return self._decode(stamp, entry)  # outside the lock: a TF lookup may wait for the listener

    def wait_for_frame(self, after_s: float, timeout_s: float) -> CameraFrame | None:
        """The first complete frame stamped at or after ``after_s`` (waits up to ``timeout_s`` wall
        seconds); None if none came.

        Raises:
            RuntimeError: (pose source ``tf``) no transform to the image's frame.
        """
        after_ns = int(after_s * 1e9)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                newer = next(((s, e) for s, e in self._frames.items() if s >= after_ns), None)
                if newer is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(timeout=min(left, 0.2))
        return self._decode(*newer)

"""Where the camera is: from the cell file (``cell``, the default) or looked up on TF (``tf``).

The TF lookup needs tf2_ros, which only a ROS 2 install provides; it is imported when ``tf`` is
chosen, so a node asked for it without tf2_ros stops at start-up with a ConfigError that says so.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ConfigError
from ..core.transforms import pose_matrix
from . import topics

CAMERA_POSE_SOURCES = ("cell", "tf")
LOOKUP_TIMEOUT_S = 0.2


def check_pose_source(source: str) -> str:
    """``source`` when it is one of ``CAMERA_POSE_SOURCES``.

    Raises:
        ValueError: anything else.
    """
    if source not in CAMERA_POSE_SOURCES:
        raise ValueError(f"camera_pose_source must be one of {', '.join(CAMERA_POSE_SOURCES)}, "
                         f"got {str(source)[:40]!r}")
    return source


def require_tf2() -> None:
    """Raises ConfigError unless tf2_ros can be imported."""
    try:
        import tf2_ros  # noqa: F401
    except ImportError as exc:
        raise ConfigError("camera_pose_source 'tf' needs tf2_ros, which is not installed here (it comes with a "
                          "ROS 2 install, not with the PyPI ros-* wheels); use camera_pose_source 'cell' "
                          f"(the camera pose in the cell file) ({exc})") from None


class TfCameraPose:
    """The camera's optical frame in the base frame, looked up on TF at each image's stamp.

    Args:
        node: node whose executor feeds the TF listener.
        base_frame: the frame camera poses are expressed in.
        timeout_s: how long one lookup may wait for the transform.

    Raises:
        ConfigError: tf2_ros is not installed.
    """

    def __init__(self, node, base_frame: str = topics.BASE_FRAME, timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        require_tf2()
        import tf2_ros

        self.base_frame = base_frame
        self.timeout_s = timeout_s
        self.buffer = tf2_ros.Buffer()
        # spun by the node's executor (its subscriptions have a reentrant group of their own, so TF
        # keeps arriving while a lookup waits in another thread)
        self.listener = tf2_ros.TransformListener(self.buffer, node, spin_thread=False)

    def __call__(self, frame_id: str, stamp_ns: int) -> np.ndarray:
        """4x4 pose of ``frame_id`` in the base frame at the image's stamp (the newest one when TF
        has nothing for that instant, as for a camera fixed in the cell).

        Raises:
            RuntimeError: no frame id, or no transform between the two frames.
        """
        from rclpy.duration import Duration
        from rclpy.time import Time

        if not frame_id:
            raise RuntimeError("the camera image has no frame_id: its pose cannot be looked up on TF")
        errors = []
        for when in (Time(nanoseconds=int(stamp_ns)), Time()):
            try:
                t = self.buffer.lookup_transform(self.base_frame, frame_id, when, timeout=Duration(seconds=self.timeout_s))
            except Exception as exc:  # noqa: BLE001 - tf2's lookup, connectivity and extrapolation errors
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            tr, q = t.transform.translation, t.transform.rotation
            return pose_matrix((tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w))
        raise RuntimeError(f"no transform from {self.base_frame} to {frame_id} on TF ({errors[-1][:200]})")

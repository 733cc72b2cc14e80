"""Fixed frames on /tf_static, as tf2's static broadcaster sends them (one latched TFMessage).

tf2_msgs comes with a ROS 2 install, not with the PyPI ros-* wheels: without it nothing is
published and the node says so once.
"""

from __future__ import annotations

from collections.abc import Sequence

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from ..core.transforms import FrameTransform
from . import conversions as conv
from . import topics

# what tf2_ros.StaticTransformBroadcaster offers: late listeners still get the transforms
STATIC_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)


def transform_msg(tf: FrameTransform, stamp_s: float):
    """geometry_msgs/TransformStamped of a core transform."""
    from geometry_msgs.msg import TransformStamped

    msg = TransformStamped()
    msg.header = conv.header(stamp_s, tf.parent)
    msg.child_frame_id = tf.child
    t, q = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = tf.translation_m
    q.x, q.y, q.z, q.w = tf.rotation_xyzw
    return msg


class StaticFrames:
    """Publishes ``transforms`` once on /tf_static (transient local, so it stays available).

    Args:
        node: the publishing node.
        transforms: every fixed frame this node provides (one message holds them all: a later
            message from the same publisher replaces the earlier one for new listeners).
        stamp_s: the transforms' stamp (any: tf2 treats static transforms as valid at all times).
    """

    def __init__(self, node: Node, transforms: Sequence[FrameTransform], stamp_s: float = 0.0) -> None:
        from tf2_msgs.msg import TFMessage

        self.transforms = list(transforms)
        self.publisher = node.create_publisher(TFMessage, topics.TF_STATIC, STATIC_QOS)
        self.publisher.publish(TFMessage(transforms=[transform_msg(t, stamp_s) for t in self.transforms]))

    @staticmethod
    def create(node: Node, transforms: Sequence[FrameTransform], stamp_s: float = 0.0) -> "StaticFrames | None":
        """The publisher, or None (logged once at info level) when tf2_msgs is not installed."""
        try:
            import tf2_msgs.msg  # noqa: F401
        except ImportError:
            node.get_logger().info(
                "TF is not published: tf2_msgs is not installed (it comes with a ROS 2 install, not with the "
                f"PyPI ros-* wheels); the frames {[t.child for t in transforms]} are in the scene file only")
            return None
        return StaticFrames(node, transforms, stamp_s)

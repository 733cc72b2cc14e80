"""Marker descriptions (core/markers.py) as visualization_msgs/MarkerArray on spacetools/markers,
in the base frame; a new command first deletes the previous command's markers (DELETEALL)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rclpy.node import Node
from visualization_msgs.msg import Marker, MarkerArray

from ..core.markers import MarkerSpec, is_finite_spec
from . import conversions as conv
from . import topics

MARKER_TYPES = {"sphere": Marker.SPHERE, "cube": Marker.CUBE, "arrow": Marker.ARROW,
                "line_list": Marker.LINE_LIST, "text": Marker.TEXT_VIEW_FACING}


def marker_msg(spec: MarkerSpec, frame_id: str, stamp, lifetime_s: float) -> Marker:
    """One ADD marker of a description (``stamp``: builtin_interfaces/Time)."""
    from geometry_msgs.msg import Point

    m = Marker(ns=spec.ns, id=int(spec.id), type=MARKER_TYPES[spec.shape], action=Marker.ADD, text=spec.text)
    m.header.frame_id = frame_id
    m.header.stamp = stamp
    m.pose.position.x, m.pose.position.y, m.pose.position.z = spec.position_m
    o = m.pose.orientation
    o.x, o.y, o.z, o.w = spec.orientation_xyzw
    m.scale.x, m.scale.y, m.scale.z = spec.scale
    m.color.r, m.color.g, m.color.b, m.color.a = spec.rgba
    m.points = [Point(x=p[0], y=p[1], z=p[2]) for p in spec.points_m]
    m.lifetime = conv.to_duration(lifetime_s)
    return m


class MarkerPublisher:
    """Publishes marker descriptions on ``topic``.

    Args:
        node: the publishing node.
        topic: relative (moves with the node's namespace).
        frame_id: the frame the descriptions are in.
        lifetime_s: how long a marker stays without being renewed (0 = until deleted).

    Raises:
        ValueError: a negative or non-finite lifetime.
    """

    def __init__(self, node: Node, topic: str = topics.MARKERS, frame_id: str = topics.BASE_FRAME,
                 lifetime_s: float = 0.0) -> None:
        if not (math.isfinite(lifetime_s) and lifetime_s >= 0):
            raise ValueError(f"marker_lifetime_s must be >= 0 (0 = until the next command), got {lifetime_s}")
        self._node = node
        self.frame_id = frame_id
        self.lifetime_s = float(lifetime_s)
        self.publisher = node.create_publisher(MarkerArray, topic, 10)

    def clear(self) -> None:
        """Delete every marker of this topic (a new command starts)."""
        m = Marker(action=Marker.DELETEALL)
        m.header.frame_id = self.frame_id
        m.header.stamp = self._node.get_clock().now().to_msg()
        self.publisher.publish(MarkerArray(markers=[m]))

    def publish(self, specs: Sequence[MarkerSpec]) -> int:
        """Add (or replace, same ns and id) the markers; returns how many were sent (non-finite ones are not)."""
        stamp = self._node.get_clock().now().to_msg()
        msgs = [marker_msg(s, self.frame_id, stamp, self.lifetime_s) for s in specs if is_finite_spec(s)]
        if msgs:
            self.publisher.publish(MarkerArray(markers=msgs))
        return len(msgs)

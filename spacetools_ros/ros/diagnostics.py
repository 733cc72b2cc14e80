"""A node's health on /diagnostics (diagnostic_msgs/DiagnosticArray), from a timer.

The report itself is computed by core/diagnostics.py; this only turns it into a message. The timer
runs on the steady clock, so under use_sim_time a stopped /clock does not stop the reports.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from ..core.diagnostics import ERROR, HealthReport
from . import topics


class DiagnosticsPublisher:
    """Every ``period_s`` (wall clock), ``report()`` as one DiagnosticStatus named
    ``<node>: <component>``.

    Args:
        node: the reporting node.
        component: what is reported on (e.g. ``simulation``, ``agent``).
        report: returns the current state; an exception is reported as ERROR.
        hardware_id: the DiagnosticStatus hardware_id.
        period_s: seconds between reports.
        callback_group: the timer's callback group.
    """

    def __init__(self, node: Node, component: str, report: Callable[[], HealthReport], hardware_id: str = "",
                 period_s: float = 1.0, callback_group=None) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        self._types = DiagnosticArray, DiagnosticStatus, KeyValue
        self._node = node
        self._report = report
        self.name = f"{node.get_fully_qualified_name().lstrip('/')}: {component}"
        self.hardware_id = hardware_id
        self.publisher = node.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self.timer = node.create_timer(period_s, self.publish, callback_group=callback_group,
                                       clock=Clock(clock_type=ClockType.STEADY_TIME))

    @staticmethod
    def create(node: Node, component: str, report: Callable[[], HealthReport], hardware_id: str = "",
               period_s: float = 1.0, callback_group=None) -> "DiagnosticsPublisher | None":
        """The publisher, or None (logged once at info level) when diagnostic_msgs is not installed
        or ``period_s`` is 0 (off).

        Raises:
            ValueError: a negative or non-finite period.
        """
        if not 0.0 <= period_s < float("inf"):
            raise ValueError(f"diagnostics_period_s must be >= 0 (0 = off), got {period_s}")
        if period_s == 0:
            return None
        try:
            import diagnostic_msgs.msg  # noqa: F401
        except ImportError:
            node.get_logger().info("diagnostics are not published: diagnostic_msgs is not installed "
                                   "(pip install ros-diagnostic-msgs, or a ROS 2 install)")
            return None
        return DiagnosticsPublisher(node, component, report, hardware_id, period_s, callback_group)

    def status(self) -> object:
        """The current DiagnosticStatus message."""
        _, status_t, kv_t = self._types
        try:
            r = self._report()
        except Exception as exc:  # noqa: BLE001 - a failing report is itself the news
            r = HealthReport(ERROR, f"the health report failed: {type(exc).__name__}")
        return status_t(level=bytes([r.level]), name=self.name, message=r.message, hardware_id=self.hardware_id,
                        values=[kv_t(key=k, value=v) for k, v in r.values])

    def publish(self) -> None:
        """Publish the current state now."""
        array_t = self._types[0]
        msg = array_t(status=[self.status()])
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self.publisher.publish(msg)

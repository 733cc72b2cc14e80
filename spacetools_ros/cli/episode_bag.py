"""Records an embedded episode into a rosbag2 (MCAP) bag with the same topics and message types
the sim node publishes, so bags from the CLI and from a ROS graph read the same.

Messages go through a writer thread that flushes chunks by size and age (config/recorder.yaml), so
a killed episode keeps what was flushed, and the sim never waits on the disk unless the queue is full.
``serialize_message`` may return bytes past the message's end; the writer cuts them (see
``backends/recording/cdr.py``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..backends.recording.bag import ThreadedBagWriter, load_bag_options
from ..backends.sim.mujoco_sim import MujocoSim
from ..ros import topics


class EpisodeBag:
    """Observer/listener that writes camera, joint states, clock, commands and results."""

    def __init__(self, path: str | Path, sim: MujocoSim) -> None:
        from rclpy.serialization import serialize_message

        from ..ros import conversions as conv

        self._ser = serialize_message
        self._conv = conv
        self.sim = sim
        self.writer = ThreadedBagWriter(path, load_bag_options(), block=True)
        self._wall0_ns = time.time_ns()
        self._cam = sim.scene.camera
        self._frame = topics.optical_frame(self._cam.name)

    @classmethod
    def attach(cls, path: str | Path, session) -> "EpisodeBag":
        """A bag recording an embedded session's arm: states at 50 Hz, camera at 5 Hz, commands."""
        bag = cls(path, session.sim)
        session.arm.add_observer(bag.on_state, 0.02)
        session.arm.add_observer(bag.on_camera, 0.2)
        session.arm.command_listeners.append(bag.on_command)
        return bag

    def _write(self, topic: str, msgtype: str, msg, stamp_s: float) -> None:
        # a bag holds fully qualified names: what the nodes use without a namespace
        self.writer.write(topics.qualify(topic), msgtype, self._wall0_ns + int(stamp_s * 1e9), self._ser(msg))

    def on_state(self, sim: MujocoSim) -> None:
        """Joint states and clock (call at ~50 Hz of sim time)."""
        from rosgraph_msgs.msg import Clock

        st = sim.arm_state()
        names = list(sim.robot.arm_joints) + list(sim.robot.finger_joints)
        pos = list(st.position) + list(st.finger_positions)
        vel = list(st.velocity) + [0.0, 0.0]
        eff = list(st.effort) + [0.0, 0.0]
        self._write(topics.JOINT_STATES, "sensor_msgs/msg/JointState",
                    self._conv.joint_state_msg(names, pos, vel, eff, st.stamp_s), st.stamp_s)
        self._write(topics.CLOCK, "rosgraph_msgs/msg/Clock", Clock(clock=self._conv.to_time(st.stamp_s)), st.stamp_s)

    def on_camera(self, sim: MujocoSim) -> None:
        """Colour, depth and camera info (call at the camera rate)."""
        f = sim.render()
        c = self._conv
        t = f.stamp_s
        self._write(topics.COLOR_IMAGE, "sensor_msgs/msg/Image", c.rgb_image_msg(f.rgb, t, self._frame), t)
        self._write(topics.DEPTH_IMAGE, "sensor_msgs/msg/Image", c.depth_image_msg(f.depth_m, t, self._frame), t)
        info = c.camera_info_msg(f.intrinsics, f.width, f.height, t, self._frame)
        self._write(topics.COLOR_INFO, "sensor_msgs/msg/CameraInfo", info, t)
        self._write(topics.DEPTH_INFO, "sensor_msgs/msg/CameraInfo", info, t)

    def on_command(self, kind: str, payload) -> None:
        """Arm trajectories and gripper commands as they are sent."""
        from std_msgs.msg import Float64MultiArray

        t = self.sim.time_s
        if kind == "trajectory":
            self._write(topics.ARM_TRAJECTORY, "trajectory_msgs/msg/JointTrajectory",
                        self._conv.trajectory_msg(payload, t), t)
        elif kind == "gripper":
            self._write(topics.GRIPPER_COMMAND, "std_msgs/msg/Float64MultiArray",
                        Float64MultiArray(data=[float(payload)]), t)

    def write_json(self, topic: str, payload: dict) -> None:
        """A JSON document on a std_msgs/String topic (action and episode results)."""
        from std_msgs.msg import String

        self._write(topic, "std_msgs/msg/String", String(data=json.dumps(payload)), self.sim.time_s)

    def close(self) -> None:
        """Finish the bag (last chunk, index, metadata.yaml).

        Raises:
            Exception: what stopped the writer (e.g. a full disk); flushed chunks stay readable.
        """
        self.writer.close()

"""Conversions between core data and standard ROS 2 messages."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration, Time
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2, PointField
from std_msgs.msg import Header
from trajectory_msgs.msg import JointTrajectory as JointTrajectoryMsg
from trajectory_msgs.msg import JointTrajectoryPoint

from ..core.trajectory import JointTrajectory


def _sec_nsec(t_s: float) -> tuple[int, int]:
    # round the total first: 9.9999999997 s is (10, 0), not (9, 0)
    ns = int(round(t_s * 1e9))
    return ns // 1_000_000_000, ns % 1_000_000_000


def to_time(t_s: float) -> Time:
    """builtin_interfaces/Time from seconds."""
    sec, nsec = _sec_nsec(t_s)
    return Time(sec=sec, nanosec=nsec)


def from_time(t: Time) -> float:
    """Seconds from builtin_interfaces/Time."""
    return t.sec + t.nanosec * 1e-9


def to_duration(t_s: float) -> Duration:
    """builtin_interfaces/Duration from seconds."""
    sec, nsec = _sec_nsec(t_s)
    return Duration(sec=sec, nanosec=nsec)


def header(stamp_s: float, frame_id: str) -> Header:
    """std_msgs/Header."""
    return Header(stamp=to_time(stamp_s), frame_id=frame_id)


def rgb_image_msg(rgb: np.ndarray, stamp_s: float, frame_id: str) -> Image:
    """sensor_msgs/Image, rgb8."""
    h, w = rgb.shape[:2]
    return Image(header=header(stamp_s, frame_id), height=h, width=w, encoding="rgb8", is_bigendian=0,
                 step=w * 3, data=np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())


def depth_image_msg(depth_m: np.ndarray, stamp_s: float, frame_id: str) -> Image:
    """sensor_msgs/Image, 32FC1 metres."""
    h, w = depth_m.shape
    return Image(header=header(stamp_s, frame_id), height=h, width=w, encoding="32FC1", is_bigendian=0,
                 step=w * 4, data=np.ascontiguousarray(depth_m, dtype="<f4").tobytes())


def image_to_numpy(msg: Image) -> np.ndarray:
    """Image message to an array (rgb8 -> HxWx3 uint8, 32FC1 -> HxW float32, mono8 -> HxW).

    Raises:
        ValueError: for unsupported encodings or inconsistent sizes.
    """
    enc = {"rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "mono8": (np.uint8, 1), "32FC1": (np.float32, 1)}
    if msg.encoding not in enc:
        raise ValueError(f"unsupported image encoding {msg.encoding!r}")
    dtype, ch = enc[msg.encoding]
    itemsize = np.dtype(dtype).itemsize
    if msg.step < msg.width * ch * itemsize or len(msg.data) < msg.step * msg.height:
        raise ValueError("image data is smaller than its header says")
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)[:, : msg.width * ch * itemsize]
    arr = np.ascontiguousarray(rows).view(np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<"))
    arr = arr.reshape(msg.height, msg.width, ch) if ch > 1 else arr.reshape(msg.height, msg.width)
    if msg.encoding == "bgr8":
        arr = arr[..., ::-1]
    return arr.astype(dtype, copy=False)


def camera_info_msg(k: np.ndarray, width: int, height: int, stamp_s: float, frame_id: str) -> CameraInfo:
    """sensor_msgs/CameraInfo for an undistorted pinhole camera."""
    p = np.zeros((3, 4))
    p[:3, :3] = k
    return CameraInfo(header=header(stamp_s, frame_id), height=height, width=width, distortion_model="plumb_bob",
                      d=[0.0] * 5, k=[float(v) for v in k.ravel()], r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
                      p=[float(v) for v in p.ravel()])


def joint_state_msg(names, position, velocity, effort, stamp_s: float) -> JointState:
    """sensor_msgs/JointState."""
    return JointState(header=header(stamp_s, ""), name=list(names), position=[float(v) for v in position],
                      velocity=[float(v) for v in velocity], effort=[float(v) for v in effort])


def trajectory_msg(traj: JointTrajectory, stamp_s: float = 0.0) -> JointTrajectoryMsg:
    """trajectory_msgs/JointTrajectory (stamp 0 = start now, as joint_trajectory_controller reads it)."""
    msg = JointTrajectoryMsg(header=header(stamp_s, ""), joint_names=list(traj.joint_names))
    for i, t in enumerate(traj.times_s):
        pt = JointTrajectoryPoint(positions=[float(v) for v in traj.positions[i]], time_from_start=to_duration(float(t)))
        if traj.velocities is not None:
            pt.velocities = [float(v) for v in traj.velocities[i]]
        if traj.accelerations is not None:
            pt.accelerations = [float(v) for v in traj.accelerations[i]]
        msg.points.append(pt)
    return msg


def trajectory_from_msg(msg: JointTrajectoryMsg) -> tuple[JointTrajectory, float]:
    """Core trajectory and its start stamp (seconds, 0 = now) from a message.

    Raises:
        ValueError: empty, inconsistent, non-finite or non-increasing trajectories.
    """
    if not msg.points:
        raise ValueError("trajectory has no points")
    names = tuple(msg.joint_names)
    if len(set(names)) != len(names) or not names:
        raise ValueError("trajectory joint names are empty or repeated")
    n = len(names)
    times, pos, vel = [], [], []
    has_vel = all(len(p.velocities) == n for p in msg.points)
    for i, p in enumerate(msg.points):
        if len(p.positions) != n:
            raise ValueError(f"point {i} has {len(p.positions)} positions for {n} joints")
        if p.velocities and len(p.velocities) != n:
            raise ValueError(f"point {i} has {len(p.velocities)} velocities for {n} joints")
        times.append(p.time_from_start.sec + p.time_from_start.nanosec * 1e-9)
        pos.append(list(p.positions))
        if has_vel:
            vel.append(list(p.velocities))
    traj = JointTrajectory(names, np.array(times), np.array(pos), np.array(vel) if has_vel else None)
    return traj, from_time(msg.header.stamp)


def pointcloud_msg(points: np.ndarray, rgb: np.ndarray | None, stamp_s: float, frame_id: str) -> PointCloud2:
    """sensor_msgs/PointCloud2 with x, y, z (float32) and packed rgb (float32-encoded uint32)."""
    pts = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 3)
    fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, n in enumerate("xyz")]
    if rgb is not None:
        c = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
        packed = ((c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]).view(np.float32)
        data = np.concatenate([pts, packed[:, None]], axis=1)
        fields.append(PointField(name="rgb", offset=12, datatype=PointField.FLOAT32, count=1))
    else:
        data = pts
    step = data.shape[1] * 4
    return PointCloud2(header=header(stamp_s, frame_id), height=1, width=len(pts), fields=fields, is_bigendian=False,
                       point_step=step, row_step=step * len(pts), data=data.astype("<f4").tobytes(), is_dense=True)

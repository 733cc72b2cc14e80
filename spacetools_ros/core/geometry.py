"""Rigid transforms and rotations (numpy only; quaternions are w, x, y, z)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def mat_to_quat(r: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z, with w >= 0) of a rotation matrix."""
    r = np.asarray(r, dtype=float)
    tr = np.trace(r)
    if tr > 0:
        s = np.sqrt(tr + 1.0) * 2
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] > r[2, 2]:
        s = np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def rot_z(angle_rad: float) -> np.ndarray:
    """Rotation matrix about z."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_x(angle_rad: float) -> np.ndarray:
    """Rotation matrix about x."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_angle(r: np.ndarray) -> float:
    """Angle (rad) of a rotation matrix."""
    return float(np.arccos(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)))


def rotation_log(r: np.ndarray) -> np.ndarray:
    """Axis-angle vector (rad) of a rotation matrix."""
    angle = rotation_angle(r)
    if angle < 1e-9:
        return np.zeros(3)
    if np.pi - angle < 1e-6:
        # axis from the symmetric part
        axis = np.sqrt(np.maximum((np.diag(r) + 1.0) / 2.0, 0.0))
        i = int(np.argmax(axis))
        for j in range(3):
            if j != i and r[i, j] + r[j, i] < 0:
                axis[j] = -axis[j]
        return axis / np.linalg.norm(axis) * angle
    v = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return v / (2.0 * np.sin(angle)) * angle


@dataclass(frozen=True)
class Pose:
    """A rigid pose: position (m) and rotation matrix, expressed in a named parent frame.

    Attributes:
        position: (3,) metres.
        rotation: (3, 3) rotation matrix.
        frame: name of the frame the pose is expressed in (``base`` = robot base frame).
    """

    position: np.ndarray
    rotation: np.ndarray
    frame: str = "base"

    @staticmethod
    def from_matrix(t: np.ndarray, frame: str = "base") -> "Pose":
        """Pose from a 4x4 homogeneous matrix."""
        t = np.asarray(t, dtype=float)
        if t.shape != (4, 4) or not np.all(np.isfinite(t)):
            raise ValueError("pose must be a finite 4x4 matrix")
        r = t[:3, :3]
        if abs(np.linalg.det(r) - 1.0) > 1e-3 or np.abs(r.T @ r - np.eye(3)).max() > 1e-3:
            raise ValueError("pose rotation is not orthonormal")
        return Pose(t[:3, 3].copy(), r.copy(), frame)

    @staticmethod
    def from_pos_quat(position, quat_wxyz, frame: str = "base") -> "Pose":
        """Pose from a position and a (w, x, y, z) quaternion."""
        return Pose(np.asarray(position, dtype=float), quat_to_mat(quat_wxyz), frame)

    def matrix(self) -> np.ndarray:
        """4x4 homogeneous matrix."""
        t = np.eye(4)
        t[:3, :3] = self.rotation
        t[:3, 3] = self.position
        return t

    def quat(self) -> np.ndarray:
        """Quaternion (w, x, y, z)."""
        return mat_to_quat(self.rotation)

    def compose(self, other: "Pose") -> "Pose":
        """``self * other`` (other expressed in self's child frame)."""
        return Pose(self.position + self.rotation @ other.position, self.rotation @ other.rotation, self.frame)

    def inverse(self) -> "Pose":
        """Inverse transform."""
        rt = self.rotation.T
        return Pose(-rt @ self.position, rt, self.frame)

    def translated(self, offset_m) -> "Pose":
        """Same rotation, position shifted by a base-frame offset."""
        return Pose(self.position + np.asarray(offset_m, dtype=float), self.rotation, self.frame)


def look_at_rotation(position, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Rotation of an OpenCV optical frame (x right, y down, z forward) looking at target.

    Raises:
        ValueError: if the camera is at the target or looks straight along ``up``.
    """
    z = np.asarray(target, dtype=float) - np.asarray(position, dtype=float)
    n = np.linalg.norm(z)
    if n < 1e-9:
        raise ValueError("camera position equals look_at")
    z /= n
    x = np.cross(z, np.asarray(up, dtype=float))
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(z, np.array([1.0, 0.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)

"""Rigid transforms as TF carries them: a parent frame, a child frame, a translation and a unit
quaternion in ROS order (x, y, z, w).

Camera convention (REP 103/105): a camera's *optical* frame has x to the right of the image, y down
and z forward along the optical axis; ``CameraSpec.extrinsics()`` is the 4x4 pose of that frame in
the robot's base frame, i.e. ``p_base = T @ p_optical``. A TF transform parent -> child is the pose of
the child in the parent, so base -> optical frame carries exactly that pose: translation = the camera
centre in the base frame, rotation = the optical axes expressed in the base frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import mat_to_quat, quat_to_mat

RIGID_TOL = 1e-6  # how far a rotation block may be from orthonormal (float noise of composed poses)


@dataclass(frozen=True)
class FrameTransform:
    """The pose of ``child`` in ``parent`` (what one geometry_msgs/TransformStamped holds).

    Attributes:
        parent: frame id of the parent (TF ``header.frame_id``).
        child: frame id of the child (TF ``child_frame_id``).
        translation_m: (x, y, z) of the child's origin in the parent, metres.
        rotation_xyzw: unit quaternion (x, y, z, w) of the child's axes in the parent, w >= 0.
    """

    parent: str
    child: str
    translation_m: tuple[float, float, float]
    rotation_xyzw: tuple[float, float, float, float]

    def matrix(self) -> np.ndarray:
        """The 4x4 homogeneous transform (maps child coordinates to parent coordinates)."""
        return pose_matrix(self.translation_m, self.rotation_xyzw)


def check_rigid(t: np.ndarray, what: str = "transform") -> np.ndarray:
    """``t`` as a float 4x4 array when it is a finite rigid transform.

    Raises:
        ValueError: wrong shape, non-finite values, a last row other than (0, 0, 0, 1), or a rotation
            block that is not orthonormal with determinant +1 (a reflection or a scaled matrix).
    """
    m = np.asarray(t, dtype=float)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise ValueError(f"{what} must be a finite 4x4 matrix, got shape {m.shape}")
    if not np.allclose(m[3], (0.0, 0.0, 0.0, 1.0), atol=RIGID_TOL):
        raise ValueError(f"{what}: the last row must be (0, 0, 0, 1)")
    r = m[:3, :3]
    if not np.allclose(r.T @ r, np.eye(3), atol=RIGID_TOL) or np.linalg.det(r) <= 0:
        raise ValueError(f"{what}: the rotation block is not a proper rotation")
    return m


def transform_from_matrix(t: np.ndarray, parent: str, child: str) -> FrameTransform:
    """The TF transform parent -> child of the 4x4 pose of ``child`` in ``parent``.

    For a camera: ``transform_from_matrix(camera.extrinsics(), BASE_FRAME, optical_frame(name))``.

    Raises:
        ValueError: ``t`` is not a finite rigid transform, or a frame id is empty or equal to the other.
    """
    if not parent or not child or parent == child:
        raise ValueError(f"a transform needs two different, non-empty frame ids (got {parent!r}, {child!r})")
    m = check_rigid(t, f"pose of {child} in {parent}")
    w, x, y, z = mat_to_quat(m[:3, :3])
    return FrameTransform(parent, child, tuple(float(v) for v in m[:3, 3]), (float(x), float(y), float(z), float(w)))


def pose_matrix(translation_m, rotation_xyzw) -> np.ndarray:
    """The 4x4 transform of a translation and an (x, y, z, w) quaternion (normalised here).

    Raises:
        ValueError: non-finite values or a zero quaternion.
    """
    p = np.asarray(translation_m, dtype=float).reshape(3)
    q = np.asarray(rotation_xyzw, dtype=float).reshape(4)
    norm = float(np.linalg.norm(q))
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))) or norm < 1e-9:
        raise ValueError("a transform needs a finite translation and a non-zero finite quaternion")
    m = np.eye(4)
    m[:3, :3] = quat_to_mat(np.array([q[3], q[0], q[1], q[2]]) / norm)
    m[:3, 3] = p
    return m

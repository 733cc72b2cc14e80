"""GraspBackend for NVIDIA GraspGen, where the ``grasp_gen`` package and a gripper checkpoint are
installed (a GPU machine). Not installable here: this module only checks for it and explains."""

from __future__ import annotations


import numpy as np

from ...core.errors import ConfigError
from .base import weights_path


class GraspGenBackend:
    """GraspGen sampler + discriminator, with SpaceTools' filtering (top-down and collision).

    Args:
        gripper_config: the gripper's GraspGen config file (its checkpoints are named there).
        num_grasps: grasps sampled per call.
        topk: best grasps kept by the discriminator.

    Raises:
        ConfigError: no gripper config, a path that is not a file, or the grasp_gen package missing.
    """

    name = "graspgen"

    def __init__(self, gripper_config: str | None = None, num_grasps: int = 200, topk: int = 100) -> None:
        gripper_config = weights_path(gripper_config, backend="grasp backend 'graspgen'", what="a gripper config",
                                      setting="graspgen_gripper_config",
                                      hint="the Franka Panda GraspGen config file, which names its checkpoints")
        try:
            from grasp_gen.grasp_server import GraspGenSampler, load_grasp_cfg  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ConfigError("grasp backend 'graspgen' needs NVIDIA's GraspGen (grasp_gen package) and a "
                              "gripper checkpoint; use 'geometric' otherwise") from exc
        self.sampler = GraspGenSampler(load_grasp_cfg(gripper_config))
        self.num_grasps, self.topk = num_grasps, topk

    def grasps(self, cloud_cam: np.ndarray, object_idx: np.ndarray):
        """Sampled grasps kept when their approach points down (z . (0, 0.7, 0.3) >= 0.5)."""
        from grasp_gen.grasp_server import GraspGenSampler  # type: ignore[import-not-found]

        if len(object_idx) == 0:
            raise RuntimeError("Mask removed all points; cannot generate grasp.")
        poses, conf = GraspGenSampler.run_inference(cloud_cam[object_idx], self.sampler,
                                                    num_grasps=self.num_grasps, topk_num_grasps=self.topk)
        poses, conf = np.asarray(poses), np.asarray(conf)
        if len(poses) == 0:
            raise RuntimeError("Grasp generation produced zero grasps")
        g = np.array([0.0, 0.7, 0.3]) / np.linalg.norm([0.0, 0.7, 0.3])
        keep = poses[:, :3, 2] @ g >= 0.5
        if not keep.any():
            raise RuntimeError("Top-down filtering removed all grasps. No grasps have z-axis aligned with gravity "
                               "vector (threshold=0.5).")
        order = np.argsort(-conf[keep])
        return [(poses[keep][i], float(conf[keep][i])) for i in order], len(poses)

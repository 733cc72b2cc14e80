"""DepthBackend with a monocular depth model through transformers (Depth Anything, DPT, ...).

``model_path`` is a local folder (no downloads) and is required. A model that predicts relative
depth is scaled to metres with the sensor depth when the frame has it, else to ``fallback_median_m``.
A small random-weight Depth Anything is built only with the explicit test option
``allow_random_weights=True`` (its depth is meaningless).
"""

from __future__ import annotations


import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import ConfigError
from .base import weights_path


class TransformersDepth:
    """AutoModelForDepthEstimation on CPU or GPU.

    Args:
        model_path: a local model folder (config and weights).
        device: torch device.
        fallback_median_m: the median depth a relative prediction is scaled to when the frame has no
            sensor depth, m.
        input_size: side of the square model input, px.
        allow_random_weights: tests only: build a tiny random-weight model without ``model_path``.

    Raises:
        ConfigError: no model folder (and random weights not allowed), a folder that does not load,
            or torch/transformers missing.
    """

    name = "transformers"

    def __init__(self, model_path: str | None = None, device: str = "cpu", fallback_median_m: float = 1.0,
                 input_size: int = 196, allow_random_weights: bool = False) -> None:
        model_path = weights_path(model_path, backend="depth backend 'transformers'", what="a model",
                                  setting="depth_model_path", hint="a local Depth Anything / DPT folder", folder=True,
                                  allow_random_weights=allow_random_weights)
        try:
            import torch
            from transformers import AutoModelForDepthEstimation
        except ImportError as exc:
            raise ConfigError("depth backend 'transformers' needs torch and transformers") from exc

        self.torch = torch
        self.device = device
        self.fallback_median_m = fallback_median_m
        self.input_size = input_size
        if model_path:
            try:
                self.model = AutoModelForDepthEstimation.from_pretrained(model_path, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"depth backend 'transformers' could not load {str(model_path)[:200]!r}: "
                                  f"{str(exc)[:300]}") from exc
            self.random_weights = False
        else:
            from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

            backbone = Dinov2Config(hidden_size=48, num_hidden_layers=4, num_attention_heads=2, intermediate_size=96,
                                    patch_size=14, image_size=input_size, out_indices=[1, 2, 3, 4],
                                    reshape_hidden_states=False)
            cfg = DepthAnythingConfig(backbone_config=backbone, fusion_hidden_size=32, neck_hidden_sizes=[16, 32, 48, 48],
                                      reassemble_hidden_size=48, head_hidden_size=16, patch_size=14)
            self.model = DepthAnythingForDepthEstimation(cfg)
            self.random_weights = True
        self.model.to(device).eval()

    def depth(self, frame: CameraFrame) -> tuple[np.ndarray, float]:
        """(depth in metres, focal length px) for the frame."""
        import cv2

        torch = self.torch
        s = self.input_size
        img = cv2.resize(frame.rgb, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
        x = torch.from_numpy(((img - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)).to(self.device)
        with torch.no_grad():
            pred = self.model(pixel_values=x).predicted_depth[0].float().cpu().numpy()
        pred = cv2.resize(pred, (frame.width, frame.height), interpolation=cv2.INTER_LINEAR)
        # relative depth (or disparity-like output) -> metres: match the median to a reference
        pred = np.abs(pred) + 1e-6
        valid = frame.depth_m[np.isfinite(frame.depth_m) & (frame.depth_m > 0)] if frame.depth_m is not None else ()
        ref = float(np.median(valid)) if len(valid) else self.fallback_median_m  # holes (0) are no depth
        depth = (pred / float(np.median(pred)) * ref).astype(np.float32)
        return depth, float(frame.intrinsics[0, 0])

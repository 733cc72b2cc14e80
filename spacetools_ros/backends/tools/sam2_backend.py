"""SegmentationBackend with Meta's SAM2 (the official ``sam2`` package; GPU recommended).

As in SpaceTools' tool: multimask prediction, the mask with the highest predicted IoU kept,
then eroded with a 7x7 kernel. A checkpoint is required: random weights only with the explicit
test option ``allow_random_weights=True`` (their masks are meaningless).
"""

from __future__ import annotations


import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import ConfigError
from .base import weights_path


class Sam2Segmentation:
    """SAM2 image predictor.

    Args:
        model_cfg: the sam2 package's model config name (matching the checkpoint).
        checkpoint: the weights (a .pt file).
        device: torch device.
        erode_px: side of the square erosion kernel applied to the mask (<= 1: none).
        allow_random_weights: tests only: build without a checkpoint.

    Raises:
        ConfigError: no checkpoint (and random weights not allowed), a checkpoint that is not a
            file, or the sam2 package missing.
    """

    name = "sam2"

    def __init__(self, model_cfg: str = "configs/sam2.1/sam2.1_hiera_s.yaml", checkpoint: str | None = None,
                 device: str = "cpu", erode_px: int = 7, allow_random_weights: bool = False) -> None:
        checkpoint = weights_path(checkpoint, backend="segmentation backend 'sam2'", what="a checkpoint",
                                  setting="sam2_checkpoint", hint="a .pt file", allow_random_weights=allow_random_weights)
        try:
            from sam2.build_sam import build_sam2
            from sam2.sam2_image_predictor import SAM2ImagePredictor
        except ImportError as exc:
            raise ConfigError("segmentation backend 'sam2' needs the sam2 package (and torch, torchvision)") from exc
        self.predictor = SAM2ImagePredictor(build_sam2(model_cfg, checkpoint, device=device))
        self.random_weights = checkpoint is None
        self.erode_px = erode_px
        self._frame: CameraFrame | None = None  # the frame whose embedding the predictor holds

    def segment(self, frame: CameraFrame, points_px: list[tuple[int, int]]) -> tuple[np.ndarray, float]:
        """Best multimask prediction for the positive prompt points."""
        import cv2

        if self._frame is not frame:  # a reference, not an id(): a new frame may reuse a freed id
            self.predictor.set_image(frame.rgb)
            self._frame = frame
        coords = np.array(points_px, dtype=np.float32)
        masks, scores, _ = self.predictor.predict(point_coords=coords, point_labels=np.ones(len(coords), np.int32),
                                                  multimask_output=True)
        best = int(np.argmax(scores))
        mask = masks[best].astype(np.uint8)
        if self.erode_px > 1:
            mask = cv2.erode(mask, np.ones((self.erode_px, self.erode_px), np.uint8))
        return mask.astype(bool), float(scores[best])

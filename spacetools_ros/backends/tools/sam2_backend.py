"""SegmentationBackend with Meta's SAM2 (the official ``sam2`` package; GPU recommended).

As in SpaceTools' tool: multimask prediction, the mask with the highest predicted IoU kept,
then eroded with a 7x7 kernel. Without a checkpoint the model has random weights (tests only).
"""

from __future__ import annotations

import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import ConfigError


class Sam2Segmentation:
    """SAM2 image predictor."""

    def __init__(self, model_cfg: str = "configs/sam2.1/sam2.1_hiera_s.yaml", checkpoint: str | None = None,
                 device: str = "cpu", erode_px: int = 7) -> None:
        try:
            from sam2.build_sam import build_sam2
            from sam2.sam2_image_predictor import SAM2ImagePredictor
        except ImportError as exc:
            raise ConfigError("segmentation backend 'sam2' needs the sam2 package (and torch, torchvision)") from exc
        self.predictor = SAM2ImagePredictor(build_sam2(model_cfg, checkpoint, device=device))
        self.erode_px = erode_px
        self._frame_id: int | None = None

    def segment(self, frame: CameraFrame, points_px: list[tuple[int, int]]) -> tuple[np.ndarray, float]:
        """Best multimask prediction for the positive prompt points."""
        import cv2

        if self._frame_id != id(frame):
            self.predictor.set_image(frame.rgb)
            self._frame_id = id(frame)
        coords = np.array(points_px, dtype=np.float32)
        masks, scores, _ = self.predictor.predict(point_coords=coords, point_labels=np.ones(len(coords), np.int32),
                                                  multimask_output=True)
        best = int(np.argmax(scores))
        mask = masks[best].astype(np.uint8)
        if self.erode_px > 1:
            mask = cv2.erode(mask, np.ones((self.erode_px, self.erode_px), np.uint8))
        return mask.astype(bool), float(scores[best])

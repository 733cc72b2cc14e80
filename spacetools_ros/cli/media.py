"""Episode videos and image strips from the scene camera, with the current phase drawn in."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import ConfigError

VIDEO_EXT = (".mp4", ".avi", ".mkv")
STRIP_EXT = (".png", ".jpg", ".jpeg")


def check_output_path(path: str | Path) -> Path:
    """Validate a --video path before anything runs.

    Raises:
        ConfigError: unknown extension or missing parent directory.
    """
    p = Path(path)
    if p.suffix.lower() not in VIDEO_EXT + STRIP_EXT:
        raise ConfigError(f"--video must end in one of {', '.join(VIDEO_EXT + STRIP_EXT)}, got '{p.name}'")
    if not p.parent.exists():
        raise ConfigError(f"--video directory {p.parent} does not exist")
    return p


class EpisodeVideo:
    """Collects annotated frames; writes an MP4/AVI video or a PNG/JPG strip of key frames."""

    def __init__(self, path: str | Path, fps: float = 10.0, width: int = 480, height: int = 360) -> None:
        self.path = check_output_path(path)
        self.fps = fps
        self.size = (width, height)
        self.frames: list[np.ndarray] = []
        self.label = ""

    def add(self, rgb: np.ndarray, stamp_s: float) -> None:
        """Add one frame (RGB) with the current label and time drawn on it."""
        import cv2

        img = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        bgr = np.ascontiguousarray(img[..., ::-1])
        text = f"t={stamp_s:5.2f}s  {self.label}"
        cv2.rectangle(bgr, (0, 0), (self.size[0], 22), (0, 0, 0), -1)
        cv2.putText(bgr, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        self.frames.append(bgr)

    def write(self) -> Path:
        """Write the file; returns its path (an image strip when there are no frames is a black tile)."""
        import cv2

        frames = self.frames or [np.zeros((self.size[1], self.size[0], 3), np.uint8)]
        if self.path.suffix.lower() in VIDEO_EXT:
            fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.path.suffix.lower() == ".mp4" else "MJPG"))
            vw = cv2.VideoWriter(str(self.path), fourcc, self.fps, self.size)
            if not vw.isOpened():
                raise ConfigError(f"cannot open video writer for {self.path}")
            for f in frames:
                vw.write(f)
            vw.release()
        else:
            n = min(8, len(frames))
            idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
            tiles = [frames[i] for i in idx]
            while len(tiles) % 4 and len(tiles) > 4:
                tiles.append(np.zeros_like(tiles[0]))
            rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
            cv2.imwrite(str(self.path), np.vstack(rows) if len(rows) > 1 else rows[0])
        return self.path

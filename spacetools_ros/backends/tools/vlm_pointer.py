"""PointingBackend over an OpenAI-compatible endpoint serving a pointing VLM (RoboRefer, Molmo).

The image goes as a base64 PNG data URL; the answer may be RoboRefer-style tuples
("[(0.52, 0.31)]", normalized, or pixels when a value exceeds 1) or Molmo-style tags
(<point x="61.5" y="40.2"> / <points x1=".." y1=".." ...>, percent). The model's text is parsed,
never executed. The API key comes from the environment and is never logged.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import ConfigError
from ...core.paths import config_dir

_TUPLE = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)|\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]")
_MOLMO_ONE = re.compile(r'<point\s+x="([\d.]+)"\s+y="([\d.]+)"')
_MOLMO_MANY = re.compile(r'x(\d+)="([\d.]+)"\s+y\1="([\d.]+)"')


def parse_points(text: str, width: int, height: int) -> list[tuple[float, float]]:
    """Normalized (x, y) points from a pointing model's answer; points outside the image are dropped."""
    pts: list[tuple[float, float]] = []
    for m in _MOLMO_ONE.finditer(text):
        pts.append((float(m.group(1)) / 100.0, float(m.group(2)) / 100.0))
    if "<points" in text:
        for m in _MOLMO_MANY.finditer(text):
            pts.append((float(m.group(2)) / 100.0, float(m.group(3)) / 100.0))
    if not pts:
        for m in _TUPLE.finditer(text):
            x = float(m.group(1) or m.group(3))
            y = float(m.group(2) or m.group(4))
            if x > 1.0 or y > 1.0:  # pixel coordinates
                x, y = x / width, y / height
            pts.append((x, y))
    return [(x, y) for x, y in pts if 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0]


class OpenAIPointer:
    """PointingBackend calling a chat-completions endpoint.

    Args:
        base_url: the server's OpenAI base URL (``http(s)://host:port/v1``).
        model: the served pointing model's name.
        api_key_env: environment variable holding the API key.
        timeout_s: per-request timeout, s.
        max_tokens: most tokens of one answer.
        prompt_file: the prompt template (default: config/prompts/pointing.txt).

    Raises:
        ConfigError: no endpoint or model name, a URL that is not http(s), or the openai package missing.
    """

    name = "openai"

    def __init__(self, base_url: str | None = None, model: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 30.0, max_tokens: int = 128,
                 prompt_file: str | None = None) -> None:
        if not base_url:
            raise ConfigError("pointing backend 'openai' needs an endpoint: set pointing_url (an OpenAI-compatible "
                              "base URL, e.g. http://host:8000/v1)")
        url = urlsplit(str(base_url))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"pointing backend 'openai': pointing_url must be an http(s) URL, got "
                              f"{str(base_url)[:100]!r}")
        if not model:
            raise ConfigError("pointing backend 'openai' needs a model: set pointing_model (the served model's name)")
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise ConfigError("pointing backend 'openai' needs the openai package") from exc

        self.client = OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env, "EMPTY"), timeout=timeout_s,
                             max_retries=1)
        self.model = model
        self.max_tokens = max_tokens
        self.prompt = (config_dir() / "prompts" / "pointing.txt").read_text() if prompt_file is None else \
            Path(prompt_file).read_text()

    def point(self, frame: CameraFrame, description: str, all_matches: bool) -> list[tuple[float, float]]:
        """Ask the model; parse its points (first only unless ``all_matches``)."""
        import cv2

        ok, png = cv2.imencode(".png", np.ascontiguousarray(frame.rgb[..., ::-1]))
        if not ok:
            raise RuntimeError("could not encode the image")
        url = "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()
        resp = self.client.chat.completions.create(
            model=self.model, temperature=0.0, max_tokens=self.max_tokens,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                    {"type": "text", "text": self.prompt.format(object=description)}]}])
        text = resp.choices[0].message.content or ""
        pts = parse_points(text, frame.width, frame.height)
        return pts if all_matches else pts[:1]

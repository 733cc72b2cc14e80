"""PolicyBackend over an OpenAI-compatible chat endpoint (vLLM serving the SpaceTools checkpoint,
transformers serve, ...). The conversation goes as chat messages with the system prompt and the
tools block; images travel as base64 PNG data URLs. The reply's text is returned for parsing; a
server that returns structured tool calls gets them written back as <tool_call> tags. The API key
comes from the environment and is never logged."""

from __future__ import annotations

import base64
import json
import os

import numpy as np

from ...core.conversation import Message
from ...core.errors import SpacetoolsError


class PolicyError(SpacetoolsError):
    """The policy server could not produce a turn (unreachable, timeout, budget spent)."""


class OpenAIPolicy:
    """Chat-completions client with timeouts, retries, a token budget and greedy decoding."""

    name = "openai"

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str = "spacetools",
                 api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 60.0, max_retries: int = 2,
                 max_tokens: int = 1024, token_budget: int = 4096, temperature: float = 0.0,
                 send_images: bool = True) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env) or "EMPTY", timeout=timeout_s,
                             max_retries=max_retries)
        self.model = model
        self.max_tokens = max_tokens
        self.token_budget = token_budget
        self.temperature = temperature
        self.send_images = send_images
        self.tokens_used = 0

    def start(self, command: str) -> None:
        """A new episode: the token budget starts again."""
        self.tokens_used = 0

    def _content(self, m: Message, images: list[np.ndarray]):
        if not (self.send_images and m.images):
            return m.content
        import cv2

        parts = []
        for i in m.images:
            if 0 <= i < len(images):
                ok, png = cv2.imencode(".png", np.ascontiguousarray(images[i][..., ::-1]))
                if ok:
                    parts.append({"type": "image_url",
                                  "image_url": {"url": "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()}})
        parts.append({"type": "text", "text": m.content})
        return parts

    def next_turn(self, messages: list[Message], images: list[np.ndarray]) -> str:
        """The model's next assistant message as text.

        Raises:
            PolicyError: the server failed after retries, or the token budget is spent.
        """
        left = self.token_budget - self.tokens_used
        if left <= 0:
            raise PolicyError(f"token budget of {self.token_budget} spent")
        chat = [{"role": m.role, "content": self._content(m, images)} for m in messages]
        try:
            resp = self.client.chat.completions.create(model=self.model, messages=chat, temperature=self.temperature,
                                                       max_tokens=min(self.max_tokens, left))
        except Exception as exc:  # noqa: BLE001 - any client/server failure ends the episode cleanly
            raise PolicyError(f"policy server error: {type(exc).__name__}") from exc
        if resp.usage is not None:
            self.tokens_used += int(resp.usage.completion_tokens or 0)
        msg = resp.choices[0].message
        text = msg.content or ""
        for tc in getattr(msg, "tool_calls", None) or []:  # servers that parse <tool_call> themselves
            fn = tc.function
            try:
                args = json.loads(fn.arguments) if isinstance(fn.arguments, str) else fn.arguments
            except json.JSONDecodeError:
                args = fn.arguments
            text += "\n<tool_call>\n" + json.dumps({"name": fn.name, "arguments": args}) + "\n</tool_call>"
        return text

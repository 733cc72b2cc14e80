"""A tiny random-weight Qwen2.5-VL for tests (the package's builder with a very small tokenizer)."""

from __future__ import annotations

from pathlib import Path

from spacetools_ros.learning.tiny_model import SPECIALS, build as build_model  # noqa: F401 - SPECIALS for tests

CORPUS = ['<think>find the red block</think> <tool_call>{"name": "robot.capture_image"}</tool_call>'] * 20


def build(out_dir: str | Path) -> Path:
    """Write a loadable tiny Qwen2.5-VL into ``out_dir`` (vocabulary of 300 tokens)."""
    return build_model(out_dir, corpus=CORPUS, vocab_size=300)

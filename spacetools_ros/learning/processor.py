"""A Qwen2.5-VL processor (tokenizer + image processor + this package's chat template) for a local
checkpoint folder, offline, with or without torchvision.

transformers' Qwen2.5-VL processor also wants a video processor, whose only implementation imports
torchvision (not installable next to the CPU torch build); this package never sends video, so where
torchvision is missing the processor is ``ImagesOnlyQwen2_5_VLProcessor`` with an
``ImagesOnlyVideoProcessor`` that refuses any video. Checkpoints written by the trainers name it in
``processor_config.json`` (``auto_map``) with a one-line ``processing_images_only.py`` next to the
weights, so a server started with ``--trust-remote-code`` where this package is installed loads it;
elsewhere (torchvision present, no remote code) the stock processor loads the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoTokenizer, Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil
from transformers.video_processing_utils import BaseVideoProcessor

from ..core.chat_markup import CHAT_TEMPLATE

REMOTE_MODULE = "processing_images_only"


class ImagesOnlyVideoProcessor(BaseVideoProcessor):
    """Stands where a video processor must be; this package never sends video."""

    def __call__(self, *args, **kwargs):
        raise ValueError("this processor takes images only (no torchvision for video)")

    preprocess = __call__


class ImagesOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
    """Qwen2.5-VL's processor whose video slot may hold ``ImagesOnlyVideoProcessor`` (transformers
    checks that slot against a class it can only name with torchvision installed)."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor" and isinstance(argument, ImagesOnlyVideoProcessor):
            return type(argument)
        return super().check_argument_for_proper_class(argument_name, argument)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """The processor of a checkpoint folder (tokenizer and image processor settings from it)."""
        path = str(pretrained_model_name_or_path)
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        images = Qwen2VLImageProcessorPil.from_pretrained(path, local_files_only=True)
        return cls(image_processor=images, tokenizer=tok, video_processor=ImagesOnlyVideoProcessor(),
                   chat_template=tok.chat_template or CHAT_TEMPLATE)


def load_processor(model_dir: str | Path, min_pixels: int = 56 * 56, max_pixels: int = 448 * 448):
    """The processor of a local checkpoint folder, its chat template set to ``CHAT_TEMPLATE``.

    Raises:
        OSError: the folder has no tokenizer.
    """
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    tok.chat_template = CHAT_TEMPLATE
    try:
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        video, cls = Qwen2VLVideoProcessor(), Qwen2_5_VLProcessor
    except ImportError:
        video, cls = ImagesOnlyVideoProcessor(), ImagesOnlyQwen2_5_VLProcessor
    images = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    return cls(image_processor=images, tokenizer=tok, video_processor=video, chat_template=CHAT_TEMPLATE)


def write_remote_processor(out: Path) -> None:
    """Name ``ImagesOnlyQwen2_5_VLProcessor`` in ``out/processor_config.json`` for servers started with
    ``--trust-remote-code`` (the module imports it from this package)."""
    (out / f"{REMOTE_MODULE}.py").write_text(
        '"""This checkpoint\'s processor where torchvision is missing (needs spacetools_ros installed)."""\n\n'
        "from spacetools_ros.learning.processor import ImagesOnlyQwen2_5_VLProcessor  # noqa: F401\n")
    (out / "processor_config.json").write_text(json.dumps(
        {"auto_map": {"AutoProcessor": f"{REMOTE_MODULE}.ImagesOnlyQwen2_5_VLProcessor"}}, indent=2) + "\n")

"""A Qwen2.5-VL processor (tokenizer + image processor + this package's chat template) for a local
checkpoint folder, offline, with or without torchvision.

transformers' Qwen2.5-VL processor also wants a video processor, whose only implementation imports
torchvision (not installable next to the CPU torch build); this package never sends video, so where
torchvision is missing the processor gets ``ImagesOnlyVideoProcessor``, which refuses any video.
"""

from __future__ import annotations

from pathlib import Path

from ..core.chat_markup import CHAT_TEMPLATE


def _images_only_video_processor():
    from transformers.video_processing_utils import BaseVideoProcessor

    class ImagesOnlyVideoProcessor(BaseVideoProcessor):
        """Stands where a video processor must be; this package never sends video."""

        def __call__(self, *args, **kwargs):
            raise ValueError("this processor takes images only (no torchvision for video)")

        preprocess = __call__

    return ImagesOnlyVideoProcessor()


def _images_only_processor_class():
    from transformers import Qwen2_5_VLProcessor

    class ImagesOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
        """Qwen2.5-VL's processor whose video slot may hold ``ImagesOnlyVideoProcessor`` (transformers
        checks that slot against a class it can only name with torchvision installed)."""

        def check_argument_for_proper_class(self, argument_name, argument):
            if argument_name == "video_processor" and type(argument).__name__ == "ImagesOnlyVideoProcessor":
                return type(argument)
            return super().check_argument_for_proper_class(argument_name, argument)

    return ImagesOnlyQwen2_5_VLProcessor


def load_processor(model_dir: str | Path, min_pixels: int = 56 * 56, max_pixels: int = 448 * 448):
    """The processor of a local checkpoint folder, its chat template set to ``CHAT_TEMPLATE``.

    Raises:
        OSError: the folder has no tokenizer.
    """
    from transformers import AutoTokenizer, Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil

    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    tok.chat_template = CHAT_TEMPLATE
    try:
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        video, cls = Qwen2VLVideoProcessor(), Qwen2_5_VLProcessor
    except ImportError:
        video, cls = _images_only_video_processor(), _images_only_processor_class()
    images = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    return cls(image_processor=images, tokenizer=tok, video_processor=video,
                               chat_template=CHAT_TEMPLATE)

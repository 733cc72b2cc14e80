"""PolicyBackend running a Qwen2.5-VL-family model in-process with transformers (CPU or GPU).

The conversation is rendered in Qwen2.5 chat markup; every image becomes
<|vision_start|><|image_pad|>*n<|vision_end|> with n from the image processor's grid, and greedy
decoding stops at <|im_end|>. Meant for a local checkpoint folder (no downloads)."""

from __future__ import annotations

import numpy as np

from ...core.conversation import Message


class LocalVLMPolicy:
    """Local transformers Qwen2.5-VL policy."""

    name = "local"

    def __init__(self, model_dir: str, device: str = "cpu", max_new_tokens: int = 512, min_pixels: int = 56 * 56,
                 max_pixels: int = 448 * 448) -> None:
        import torch
        from transformers import AutoModelForImageTextToText, AutoTokenizer, Qwen2VLImageProcessorPil

        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.images_proc = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
        self.model = AutoModelForImageTextToText.from_pretrained(model_dir, local_files_only=True).to(device).eval()
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.merge = int(getattr(self.model.config.vision_config, "spatial_merge_size", 2)) ** 2
        self.im_end = self.tok.convert_tokens_to_ids("<|im_end|>")

    def start(self, command: str) -> None:
        """Nothing to reset."""

    def next_turn(self, messages: list[Message], images: list[np.ndarray]) -> str:
        """Greedy continuation of the conversation as the assistant."""
        from PIL import Image

        pics = []
        text = ""
        for m in messages:
            pads = ""
            for i in m.images:
                if 0 <= i < len(images):
                    pics.append(Image.fromarray(np.ascontiguousarray(images[i])))
                    pads += "\x00IMG\x00"
            text += f"<|im_start|>{m.role}\n{pads}{m.content}<|im_end|>\n"
        text += "<|im_start|>assistant\n"
        kwargs = {}
        if pics:
            pv = self.images_proc(images=pics, return_tensors="pt")
            for grid in pv["image_grid_thw"]:
                n = int(grid.prod()) // self.merge
                text = text.replace("\x00IMG\x00", "<|vision_start|>" + "<|image_pad|>" * n + "<|vision_end|>", 1)
            kwargs = {"pixel_values": pv["pixel_values"].to(self.device), "image_grid_thw": pv["image_grid_thw"].to(self.device)}
        enc = self.tok(text, return_tensors="pt").to(self.device)
        with self.torch.no_grad():
            out = self.model.generate(**enc, **kwargs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                      eos_token_id=self.im_end)
        new = out[0, enc["input_ids"].shape[1]:]
        return self.tok.decode(new, skip_special_tokens=True)

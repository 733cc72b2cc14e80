"""PolicyBackend running a Qwen2.5-VL-family model in-process with transformers (CPU or GPU).

The conversation is laid out in Qwen2.5 chat markup as token ids: the markup's own markers
(<|im_start|>, <|im_end|>, <|vision_start|>, <|image_pad|>*n, <|vision_end|>, n from the image
processor's grid) are the only control tokens; every role and message text is tokenized with special
tokens split as plain text, so a command or tool output that spells "<|im_end|>" cannot end a message
or forge a turn. Greedy decoding stops at <|im_end|>; generation length and the returned text are
bounded. Meant for a local checkpoint folder (no downloads)."""

from __future__ import annotations

import numpy as np

from ...core.chat_markup import CONTROL_TOKENS as _CONTROL
from ...core.chat_markup import MARKERS
from ...core.conversation import Message
from ...core.errors import ConfigError
from .openai_policy import MAX_TEXT_CHARS, PolicyError

MAX_NEW_TOKENS = 4096


def image_inputs(image_processor, rgbs: list[np.ndarray], merge: int) -> tuple[dict, list[int]]:
    """Model inputs of RGB images (``pixel_values``, ``image_grid_thw``; none without images) and the
    number of <|image_pad|> tokens of each (its grid's patches over ``merge``)."""
    from PIL import Image

    if not rgbs:
        return {}, []
    pv = image_processor(images=[Image.fromarray(np.ascontiguousarray(x)) for x in rgbs], return_tensors="pt")
    return ({"pixel_values": pv["pixel_values"], "image_grid_thw": pv["image_grid_thw"]},
            [int(g.prod()) // merge for g in pv["image_grid_thw"]])


class ChatTokens:
    """The chat markup as token ids for one tokenizer (control tokens only from the layout itself).

    Raises:
        ConfigError: the tokenizer lacks a marker token.
    """

    def __init__(self, tok, where: str = "the tokenizer") -> None:
        self.tok = tok
        vocab = tok.get_vocab()
        missing = [m for m in MARKERS if m not in vocab]
        if missing:
            raise ConfigError(f"{where} has no {', '.join(missing)} token")
        self.ids = {m: vocab[m] for m in _CONTROL if m in vocab}
        self.im_end = self.ids["<|im_end|>"]
        # the model writes text and ends its turn: it never opens a message or an image block
        self.suppress_ids = [i for t, i in self.ids.items() if t != "<|im_end|>"]

    def text_ids(self, text: str) -> list[int]:
        """Token ids of plain text: anything that spells a special token is split into ordinary tokens.

        Raises:
            PolicyError: the tokenizer still produced a control token (it ignores ``split_special_tokens``).
        """
        ids = list(self.tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])
        if set(ids) & set(self.ids.values()):
            raise PolicyError("the tokenizer turned message text into chat control tokens")
        return ids

    def message_ids(self, role: str, content: str, pads: list[int]) -> list[int]:
        """One message: ``<|im_start|>role\n`` + an image block per entry of ``pads`` (that many
        <|image_pad|>) + the text + ``<|im_end|>\n``."""
        t = self.ids
        ids = [t["<|im_start|>"]]
        if not pads:
            ids += self.text_ids(f"{role}\n{content}")
        else:
            ids += self.text_ids(f"{role}\n")
            for n in pads:
                ids += [t["<|vision_start|>"]] + [t["<|image_pad|>"]] * n + [t["<|vision_end|>"]]
            ids += self.text_ids(content)
        return ids + [t["<|im_end|>"]] + self.text_ids("\n")

    def assistant_header(self) -> list[int]:
        """``<|im_start|>assistant\n``: where the model's turn begins."""
        return [self.ids["<|im_start|>"]] + self.text_ids("assistant\n")

    def prompt_ids(self, messages: list[Message], image_tokens: list[int]) -> list[int]:
        """The conversation in Qwen2.5 chat markup, ending with the assistant's header.

        Args:
            messages: the conversation.
            image_tokens: the number of <|image_pad|> tokens of each image block, in prompt order: one
                per entry of the messages' ``images`` (entries beyond this list get no block).
        """
        ids: list[int] = []
        pos = 0
        for m in messages:
            pads = image_tokens[pos:pos + len(m.images)]
            pos += len(m.images)
            ids += self.message_ids(m.role, m.content, pads)
        return ids + self.assistant_header()


class LocalVLMPolicy:
    """Local transformers Qwen2.5-VL policy.

    Args:
        model_dir: a local checkpoint folder (model, tokenizer).
        device: torch device.
        max_new_tokens: most tokens generated per turn (1..4096).
        min_pixels / max_pixels: the image processor's resize bounds.
        max_text_chars: the returned turn is cut to this many characters.
    """

    name = "local"

    def __init__(self, model_dir: str, device: str = "cpu", max_new_tokens: int = 512, min_pixels: int = 56 * 56,
                 max_pixels: int = 448 * 448, max_text_chars: int = MAX_TEXT_CHARS) -> None:
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
            raise ConfigError(f"max_new_tokens must be an integer in [1, {MAX_NEW_TOKENS}], got {max_new_tokens!r:.40}")
        if isinstance(max_text_chars, bool) or not isinstance(max_text_chars, int) or max_text_chars < 1:
            raise ConfigError("max_text_chars must be a positive integer")
        import torch
        from transformers import AutoModelForImageTextToText, AutoTokenizer, Qwen2VLImageProcessorPil

        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.images_proc = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
        self.model = AutoModelForImageTextToText.from_pretrained(model_dir, local_files_only=True).to(device).eval()
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.max_text_chars = max_text_chars
        self.merge = int(getattr(self.model.config.vision_config, "spatial_merge_size", 2)) ** 2
        self.layout = ChatTokens(self.tok, f"the tokenizer in {model_dir!r:.80}")
        self.ids = self.layout.ids
        self.im_end = self.layout.im_end

    def start(self, command: str) -> None:
        """Nothing to reset."""

    def text_ids(self, text: str) -> list[int]:
        """Token ids of plain text (``ChatTokens.text_ids``)."""
        return self.layout.text_ids(text)

    def prompt_ids(self, messages: list[Message], image_tokens: list[int]) -> list[int]:
        """The conversation as prompt token ids (``ChatTokens.prompt_ids``)."""
        return self.layout.prompt_ids(messages, image_tokens)

    def next_turn(self, messages: list[Message], images: list[np.ndarray]) -> str:
        """Greedy continuation of the conversation as the assistant (at most ``max_text_chars`` characters)."""
        shown = [[i for i in m.images if 0 <= i < len(images)] for m in messages]
        order = [i for idx in shown for i in idx]  # one picture per image block, in prompt order
        pixels, counts = image_inputs(self.images_proc, [images[i] for i in order], self.merge)
        kwargs = {k: v.to(self.device) for k, v in pixels.items()}
        ids = self.prompt_ids([Message(m.role, m.content, idx) for m, idx in zip(messages, shown)], counts)
        input_ids = self.torch.tensor([ids], dtype=self.torch.long, device=self.device)
        with self.torch.no_grad():
            out = self.model.generate(input_ids=input_ids, attention_mask=self.torch.ones_like(input_ids), **kwargs,
                                      max_new_tokens=self.max_new_tokens, do_sample=False, eos_token_id=self.im_end,
                                      suppress_tokens=self.layout.suppress_ids)
        new = out[0, input_ids.shape[1]:]
        return self.tok.decode(new, skip_special_tokens=True)[: self.max_text_chars]

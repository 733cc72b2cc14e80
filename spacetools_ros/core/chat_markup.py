"""The Qwen2.5 chat markup of a conversation, one layout for inference, training data and training.

A message is ``<|im_start|>ROLE\\n`` + one ``<|vision_start|><|image_pad|><|vision_end|>`` block per
image + the text + ``<|im_end|>\\n``; the prompt for a new turn ends with ``<|im_start|>assistant\\n``.
The tools block is part of the system text and tool results are user messages of
``<tool_response>`` blocks (``core.conversation``), so the template needs no tool handling of its
own and rendering a conversation's first k messages gives a prefix of rendering all of them.
``CHAT_TEMPLATE`` is that layout as a Jinja chat template (for a tokenizer or processor, with
``{% generation %}`` around what the assistant says, for assistant-only losses); ``render`` is the
same in Python and ``parse`` reads it back. The local policy lays out token ids the same way
(``backends.policy.local_vlm``).
"""

from __future__ import annotations

from .conversation import Message

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
IMAGE_BLOCK = "<|vision_start|><|image_pad|><|vision_end|>"
MARKERS = (IM_START, IM_END, "<|vision_start|>", "<|vision_end|>", "<|image_pad|>")
CONTROL_TOKENS = MARKERS + ("<|video_pad|>", "<|endoftext|>")
ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 256
MAX_RENDERED_CHARS = 4_000_000
MAX_IMAGES_PER_MESSAGE = 16

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{%- set parts = [{'type': 'text', 'text': message['content']}] -%}"
    "{%- else -%}{%- set parts = message['content'] -%}{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{%- generation -%}"
    "{%- for part in parts -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}"
    "{{- '<|im_end|>' -}}{%- endgeneration -%}{{- '\\n' -}}"
    "{%- else -%}"
    "{%- for part in parts -%}{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- endif -%}{%- endfor -%}"
    "{%- for part in parts -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


class MarkupError(ValueError):
    """A conversation that cannot be laid out (or read back) unambiguously."""


def check_plain(text: str, what: str = "message text") -> str:
    """``text`` unchanged when it spells no control token (a text that does would end a message or
    forge a turn once tokenized as markup).

    Raises:
        MarkupError: naming the token.
    """
    if not isinstance(text, str):
        raise MarkupError(f"{what} is {type(text).__name__}, not text")
    for tok in CONTROL_TOKENS:
        if tok in text:
            raise MarkupError(f"{what} contains the control token {tok}")
    return text


def render(messages: list[Message], add_generation_prompt: bool = False) -> str:
    """The conversation in the markup (see the module text); images are placed before the text.

    Raises:
        MarkupError: an unknown role, an assistant message with images, or text spelling a control token.
    """
    if len(messages) > MAX_MESSAGES:
        raise MarkupError(f"{len(messages)} messages (at most {MAX_MESSAGES})")
    out = []
    for m in messages:
        if m.role not in ROLES:
            raise MarkupError(f"unknown role {m.role!r:.40}")
        if m.role == "assistant" and m.images:
            raise MarkupError("an assistant message cannot carry images")
        check_plain(m.content, f"the {m.role} message")
        out.append(f"{IM_START}{m.role}\n{IMAGE_BLOCK * len(m.images)}{m.content}{IM_END}\n")
    if add_generation_prompt:
        out.append(f"{IM_START}assistant\n")
    return "".join(out)


def parse(text: str) -> list[Message]:
    """Read a rendered conversation back (image indices numbered in order of appearance).

    Raises:
        MarkupError: anything that is not exactly the markup ``render`` writes (bounded sizes).
    """
    if not isinstance(text, str) or len(text) > MAX_RENDERED_CHARS:
        raise MarkupError("not a rendered conversation (not text, or too long)")
    if not text.startswith(IM_START):
        raise MarkupError("a rendered conversation starts with <|im_start|>")
    chunks = text.split(IM_START)[1:]
    if len(chunks) > MAX_MESSAGES:
        raise MarkupError(f"more than {MAX_MESSAGES} messages")
    messages: list[Message] = []
    n_images = 0
    for chunk in chunks:
        role, sep, rest = chunk.partition("\n")
        if not sep or role not in ROLES:
            raise MarkupError(f"a message header names no known role ({role[:40]!r})")
        if not rest.endswith(f"{IM_END}\n"):
            raise MarkupError(f"the {role} message does not end with <|im_end|> and a newline")
        body = rest[: -len(IM_END) - 1]
        k = 0
        while body.startswith(IMAGE_BLOCK):
            body, k = body[len(IMAGE_BLOCK):], k + 1
            if k > MAX_IMAGES_PER_MESSAGE:
                raise MarkupError(f"more than {MAX_IMAGES_PER_MESSAGE} images in one message")
        check_plain(body, f"the {role} message")
        if role == "assistant" and k:
            raise MarkupError("an assistant message cannot carry images")
        messages.append(Message(role, body, list(range(n_images, n_images + k))))
        n_images += k
    return messages


def to_structured(messages: list[Message]) -> list[dict]:
    """Messages as chat-template input: content = one ``{"type": "image"}`` part per image, then the text
    (``text`` is None on image parts, as the datasets' ``messages`` column stores them)."""
    return [{"role": m.role, "content": [*({"type": "image", "text": None} for _ in m.images),
                                         {"type": "text", "text": m.content}]} for m in messages]


def from_structured(rows: list[dict]) -> list[Message]:
    """The inverse of ``to_structured`` (image indices numbered in order of appearance).

    Raises:
        MarkupError: a part of an unknown type, an image after the text, or a message with no text part.
    """
    if not isinstance(rows, list) or len(rows) > MAX_MESSAGES:
        raise MarkupError(f"messages must be a list of at most {MAX_MESSAGES} entries")
    out: list[Message] = []
    n = 0
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("content"), list):
            raise MarkupError("a message is a mapping with a content list")
        parts = row["content"]
        kinds = [p.get("type") if isinstance(p, dict) else None for p in parts]
        k = kinds.count("image")
        if kinds != ["image"] * k + ["text"] or k > MAX_IMAGES_PER_MESSAGE:
            raise MarkupError("a message's content is its images, then one text part")
        out.append(Message(str(row.get("role")), check_plain(parts[-1]["text"]), list(range(n, n + k))))
        n += k
    return out

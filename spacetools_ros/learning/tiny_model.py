"""A tiny Qwen2.5-VL-architecture checkpoint built offline: a byte-level BPE tokenizer trained locally
on this package's own texts (system prompt, tools block, answer forms), random weights from a config.
For exercising training and serving end to end on a CPU; it knows nothing until trained.

The folder holds what ``--policy local``, ``transformers serve`` and the trainers load: config,
weights, tokenizer (with the package's chat template), image processor settings.
"""

from __future__ import annotations

from pathlib import Path

from ..core.chat_markup import CHAT_TEMPLATE

SPECIALS = ["<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
            "<|video_pad|>"]
TOOL_WORDS = ["<think>", "</think>", "<answer>", "</answer>", "<tool_call>", "</tool_call>", "<tool_response>",
              "</tool_response>"]


def package_corpus() -> list[str]:
    """Texts the policy reads and writes: the system prompt with every tool's schema, answer forms."""
    from ..backends.tools.factory import build_toolshed
    from ..core.conversation import system_prompt

    shed = build_toolshed(None)
    texts = [system_prompt(shed.schemas)]
    texts += [f"<think>I need to locate the {c} {s}.</think>\n<tool_call>\n{{\"name\": \"roborefer.detect_one\", "
              f"\"arguments\": {{\"obj_name\": \"{c} {s}\", \"image_index\": 0}}}}\n</tool_call>"
              for c in ("red", "green", "blue", "yellow", "orange", "purple", "black", "white")
              for s in ("block", "ball", "bowl", "plate", "can")]
    texts += [f"<answer>[({x / 100:.2f}, {y / 100:.2f})]</answer>" for x in range(0, 100, 7) for y in range(0, 100, 11)]
    texts += ["<answer>Yes</answer>", "<answer>No</answer>", "<answer>A</answer>", "<answer>B</answer>"]
    return texts


def build(out_dir: str | Path, corpus: list[str] | None = None, vocab_size: int = 2000, hidden_size: int = 128,
          layers: int = 2, seed: int = 0) -> Path:
    """Write a loadable tiny Qwen2.5-VL into ``out_dir`` (tokenizer trained on ``corpus``, default
    ``package_corpus()``)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (PreTrainedTokenizerFast, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration,
                              Qwen2VLImageProcessorPil)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = package_corpus() if corpus is None else corpus
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts * 4, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=448 * 448).save_pretrained(out)
    from .processor import write_remote_processor

    write_remote_processor(out)
    ids = {t: fast.convert_tokens_to_ids(t) for t in SPECIALS}
    if hidden_size % 32:
        raise ValueError(f"hidden_size must be a multiple of 32, got {hidden_size}")
    heads = max(hidden_size // 64, 1)
    head_dim = hidden_size // heads
    section = [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16]  # sums to head_dim / 2
    cfg = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(fast), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=1,
                         max_position_embeddings=32768,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section},
                         tie_word_embeddings=False, bos_token_id=None, eos_token_id=ids["<|im_end|>"]),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden_size,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, fullatt_block_indexes=[0],
                           window_size=56),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    torch.manual_seed(seed)
    Qwen2_5_VLForConditionalGeneration(cfg).save_pretrained(out)
    return out

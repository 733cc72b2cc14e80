"""Held-out phrasings of pick-and-place commands: written once, before the parser, and only measured.

Roles are compared by meaning (what ``parse_reference`` makes of them), not by spelling.
"""

from __future__ import annotations

import pytest

from spacetools_ros.backends.pointing.referring import parse_reference
from spacetools_ros.core.commands import CommandError, parse_command

HELDOUT = [
    ("Could you please drop the yellow ball into the blue bowl?", "yellow ball", "in", "blue bowl", None),
    ("would you be so kind as to place the green can beside the plate", "green can", "near", "plate", None),
    ("I need the red cube on the plate", "red cube", "on", "plate", None),
    ("the green cylinder belongs next to the bowl", "green cylinder", "near", "bowl", None),
    ("blue ball onto the white plate please", "blue ball", "on", "white plate", None),
    ("slide the block over to the left of the can", "block", "left", "can", None),
    ("go ahead and stick the tin inside the bowl", "tin", "in", "bowl", None),
    ("carry the sphere to the dish", "sphere", "on", "dish", None),
    ("toss the ball to the bowl", "ball", "in", "bowl", None),
    ("grab the leftmost block and set it on the plate", "leftmost block", "on", "plate", None),
    ("take the smallest ball and drop it in the bowl", "smallest ball", "in", "bowl", None),
    ("move the third cube from the right next to the bowl", "third cube from the right", "near", "bowl", None),
    ("place the cube which is closest to the bowl on the plate", "cube closest to the bowl", "on", "plate", None),
    ("put the can that's to the right of the plate in the bowl", "can right of the plate", "in", "bowl", None),
    ("stack the blue cube on top of the red one", "blue cube", "on", "red cube", None),
    ("put the small red block on the big green block", "small red block", "on", "big green block", None),
    ("shift the bottle so that it ends up behind the bowl", "bottle", "behind", "bowl", None),
    ("I'd like you to transfer the orange ball into the purple bowl, thanks", "orange ball", "in", "purple bowl", None),
    ("place the teal block in the navy bowl", "teal block", "in", "navy bowl", None),
    ("put the ball farthest from the robot on the plate", "ball farthest from the robot", "on", "plate", None),
    ("move the rightmost can in front of the bowl", "rightmost can", "front", "bowl", None),
    ("put the larger ball between the bowl and the plate", "larger ball", "between", "bowl", "plate"),
    ("please bring the cube nearest to you onto the plate", "cube closest to the robot", "on", "plate", None),
    ("the second ball from the left goes in the bowl", "second ball from the left", "in", "bowl", None),
    ("kindly put the block on the right side of the bowl", "block", "right", "bowl", None),
    ("pop the magenta ball in the bowl", "magenta ball", "in", "bowl", None),
    ("put the block down next to the can", "block", "near", "can", None),
    ("lift the red cube and put it down on the plate", "red cube", "on", "plate", None),
    ("set the ball down behind the plate", "ball", "behind", "plate", None),
]

REFUSED = [
    ("put the purple giraffe in the bowl", "giraffe"),
    ("put the stapler on the plate", "stapler"),
    ("put the red block in the bowl and the ball on the plate", None),
    ("move the cube 5 cm to the right of the bowl", None),
    ("put the bowl in the bowl", None),
    ("put the red block in the blue bowl then put the ball on the plate", None),
]


# A second batch, written after the parser existed and measured once as it stood.
HELDOUT_2 = [
    ("could you grab that blue cube and plonk it on the plate", "blue cube", "on", "plate", None),
    ("robot, the yellow can goes to the right of the plate", "yellow can", "right", "plate", None),
    ("place the smaller of the two balls on the plate", "smaller ball", "on", "plate", None),
    ("move the ball that's furthest from you to the left of the bowl", "ball farthest from the robot", "left",
     "bowl", None),
    ("take the crimson block and place it next to the bowl", "crimson block", "near", "bowl", None),
    ("put the block on the left into the bowl on the right", "leftmost block", "in", "rightmost bowl", None),
    ("the cube needs to go on top of the plate", "cube", "on", "plate", None),
    ("please position the can just behind the bowl", "can", "behind", "bowl", None),
    ("drop the sphere onto the dish, cheers", "sphere", "on", "dish", None),
    ("Move the tall can beside the bowl", "tallest can", "near", "bowl", None),
    ("would you put the ball in the bowl for me", "ball", "in", "bowl", None),
    ("put the leftmost of the cubes in the bowl", "leftmost cube", "in", "bowl", None),
    ("nudge the red ball to the right side of the green can", "red ball", "right", "green can", None),
    ("can you move the block so it's in front of the can", "block", "front", "can", None),
    ("place the first block from the right onto the plate", "first block from the right", "on", "plate", None),
    ("put the orange object in the bowl", "orange object", "in", "bowl", None),
    ("the blue thing goes in the bowl", "blue thing", "in", "bowl", None),
    ("I need you to lay the plate next to the bowl", "plate", "near", "bowl", None),
    ("stack the yellow cube onto the blue cube", "yellow cube", "on", "blue cube", None),
    ("put the ball that is closest to the plate in the bowl", "ball closest to the plate", "in", "bowl", None),
]
REFUSED_2 = [
    ("put the red block in the blue bowl and also the ball on the plate", None),
    ("put the spaceship in the bowl", "spaceship"),
    ("throw the bowl at the wall", None),
    ("put the block 3 inches left of the bowl", None),
]


def meaning(text: str) -> tuple:
    """What a reference says, without its spelling."""
    r = parse_reference(text)
    return (r.colors, r.tints, r.shape, r.superlative, r.size, r.relation, r.ordinal, r.order, r.plural,
            meaning(r.anchor.text) if r.anchor is not None else None)


@pytest.mark.parametrize("text, pick, rel, anchor, anchor2", HELDOUT)
def test_heldout_phrasings(text, pick, rel, anchor, anchor2):
    c = parse_command(text)
    assert c.relation == rel
    assert meaning(c.pick) == meaning(pick)
    assert meaning(c.anchor) == meaning(anchor)
    assert (c.anchor2 is None) == (anchor2 is None)
    if anchor2:
        assert meaning(c.anchor2) == meaning(anchor2)


@pytest.mark.parametrize("text, pick, rel, anchor, anchor2", HELDOUT_2)
def test_heldout_phrasings_second_batch(text, pick, rel, anchor, anchor2):
    test_heldout_phrasings(text, pick, rel, anchor, anchor2)


@pytest.mark.parametrize("text, word", REFUSED + REFUSED_2)
def test_heldout_refusals(text, word):
    with pytest.raises(CommandError) as exc:
        parse_command(text)
    if word:
        assert word in str(exc.value)

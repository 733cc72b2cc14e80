"""The words of the open-world evaluation: command templates, object nouns, off-palette colours and
camera poses, each split into a development part (used while building the agent) and a held-out
part (only ever measured). Nothing here is read by the agent."""

from __future__ import annotations

from dataclasses import dataclass

SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class Vocabulary:
    """One split's words.

    Attributes:
        templates: command templates with ``{pick}``, ``{rel}`` and ``{anchor}``.
        nouns: scene shape -> nouns a person would use for it.
        relation_words: relation -> phrases for it (``{anchor}`` follows).
        colours: off-palette colour word -> its [r, g, b] in 0..1.
        cameras: (azimuth_deg, elevation_deg, distance_m) of the robot's camera around the
            workspace centre; azimuth 0 looks at the robot from the far side of the table.
    """

    templates: tuple[str, ...]
    nouns: dict[str, tuple[str, ...]]
    relation_words: dict[str, tuple[str, ...]]
    colours: dict[str, tuple[float, float, float]]
    cameras: tuple[tuple[float, float, float], ...]
    unknown_nouns: tuple[str, ...]


DEV = Vocabulary(
    templates=(
        "put the {pick} {rel} the {anchor}",
        "please place the {pick} {rel} the {anchor}",
        "could you move the {pick} {rel} the {anchor}?",
        "pick up the {pick} and put it {rel} the {anchor}",
        "I'd like the {pick} {rel} the {anchor}",
        "{pick} {rel} the {anchor}, please",
    ),
    nouns={"box": ("block", "cube", "box"), "cylinder": ("can", "cylinder"), "sphere": ("ball", "sphere"),
           "bowl": ("bowl",), "plate": ("plate",)},
    relation_words={"in": ("in", "into"), "on": ("on", "onto"), "left": ("to the left of", "left of"),
                    "right": ("to the right of", "right of"), "front": ("in front of",), "behind": ("behind",),
                    "near": ("next to", "beside")},
    colours={"teal": (0.0, 0.50, 0.50), "olive": (0.50, 0.50, 0.0), "navy": (0.0, 0.0, 0.50),
             "maroon": (0.50, 0.0, 0.0), "salmon": (0.98, 0.50, 0.45)},
    cameras=((0.0, 35.0, 1.05), (35.0, 40.0, 1.0), (-40.0, 30.0, 1.1), (90.0, 40.0, 0.95), (0.0, 65.0, 0.95)),
    unknown_nouns=("elephant", "banana", "laptop"),
)

HELDOUT = Vocabulary(
    templates=(
        "would you mind setting the {pick} down {rel} the {anchor}",
        "can you grab the {pick} and drop it {rel} the {anchor}",
        "the {pick} should go {rel} the {anchor}",
        "take the {pick} and stick it {rel} the {anchor} please",
        "I want the {pick} {rel} the {anchor}",
        "kindly shift the {pick} {rel} the {anchor}",
        "hey robot, pop the {pick} {rel} the {anchor}",
        "let's get the {pick} {rel} the {anchor}",
    ),
    nouns={"box": ("brick", "cube", "block"), "cylinder": ("tin", "bottle", "can"), "sphere": ("ball", "orb"),
           "bowl": ("bowl", "basin"), "plate": ("dish", "plate")},
    relation_words={"in": ("inside", "in"), "on": ("on top of", "on"), "left": ("on the left side of", "to the left of"),
                    "right": ("on the right side of", "to the right of"), "front": ("in front of",),
                    "behind": ("behind",), "near": ("close to", "next to")},
    colours={"lavender": (0.70, 0.60, 0.90), "khaki": (0.76, 0.69, 0.45), "indigo": (0.29, 0.0, 0.51),
             "coral": (1.0, 0.50, 0.31), "mint": (0.60, 1.0, 0.70), "beige": (0.90, 0.85, 0.70)},
    cameras=((-90.0, 40.0, 0.95), (60.0, 55.0, 0.95), (-25.0, 50.0, 1.15), (150.0, 55.0, 1.1), (0.0, 80.0, 1.0),
             (-130.0, 50.0, 1.05)),
    unknown_nouns=("giraffe", "toaster", "pineapple"),
)


def vocabulary(split: str) -> Vocabulary:
    """The words of ``split`` (``dev`` or ``heldout``)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return DEV if split == "dev" else HELDOUT

